"""The networkx graphs a person looks at, made from a :class:`~graphdetect.graph.ClaimsGraph`.

Only the review UI, the evidence package and the Neo4j loader draw graphs, so networkx is
imported here, when the first one is made, and never by a detection run.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from .graph import KINDS, ClaimsGraph, node_key


def ego_network(graph: ClaimsGraph, kind: str, id: str, radius: int,
                max_neighbors: int) -> nx.Graph:
    """:meth:`ClaimsGraph.ego_network` (its arguments checked there)."""
    G = nx.Graph(hidden=0)
    frontier = [(kind, graph.code_of(kind, id))]
    _add_node(graph, G, kind, frontier[0][1])
    for _ in range(radius):
        nxt = []
        for k, code in frontier:
            nxt.extend(_expand(graph, G, k, code, max_neighbors))
        frontier = nxt
    return G


def subgraph(graph: ClaimsGraph, rows: np.ndarray, roles: dict[tuple[str, str], str]
             ) -> nx.Graph:
    """:meth:`ClaimsGraph.subgraph`."""
    G = nx.Graph(hidden=0)
    for (kind, id), role in roles.items():
        G.add_node(node_key(kind, id), kind=kind, id=id, role=role, claims=0, hidden=0)
    codes = {k: graph.codes(k)[rows] for k in KINDS}
    keys = {}
    for kind in KINDS:
        index = graph.index(kind)
        present = codes[kind][codes[kind] >= 0]
        for code, n in zip(*np.unique(present, return_counts=True), strict=True):
            key = node_key(kind, str(index[code]))
            keys[(kind, int(code))] = key
            if key not in G:
                G.add_node(key, kind=kind, id=str(index[code]), role="linked", claims=0,
                           hidden=0)
            G.nodes[key]["claims"] = int(n)
    for a, b in graph._edges:
        ok = (codes[a] >= 0) & (codes[b] >= 0)
        pair = codes[a][ok].astype(np.int64) << 32 | codes[b][ok]
        for p, n in zip(*np.unique(pair, return_counts=True), strict=True):
            ka, kb = keys[(a, int(p >> 32))], keys[(b, int(p & 0xFFFFFFFF))]
            if ka != kb:
                G.add_edge(ka, kb, weight=int(n))
    return G


def _add_node(graph: ClaimsGraph, G: nx.Graph, kind: str, code: int) -> str:
    key = node_key(kind, graph.index(kind)[code])
    if key not in G:
        m = graph.members(kind)
        G.add_node(key, kind=kind, id=str(graph.index(kind)[code]),
                   claims=int(m.indptr[code + 1] - m.indptr[code]), hidden=0)
    return key


def _expand(graph: ClaimsGraph, G: nx.Graph, kind: str, code: int,
            cap: int) -> list[tuple[str, int]]:
    m = graph.members(kind)
    rows = m.indices[m.indptr[code]:m.indptr[code + 1]]
    here = _add_node(graph, G, kind, code)
    found = []
    for other in graph._neighbours[kind]:
        oc = graph.codes(other)[rows]
        counts = np.bincount(oc[oc >= 0])
        found.extend((int(counts[j]), other, int(j)) for j in np.flatnonzero(counts))
    found.sort(key=lambda t: (-t[0], t[1], t[2]))
    kept, left = found[:cap], len(found) - min(cap, len(found))
    G.nodes[here]["hidden"] = left
    G.graph["hidden"] += left
    out = []
    for weight, other, j in kept:
        there = _add_node(graph, G, other, j)
        if there != here:
            G.add_edge(here, there, weight=weight)
            out.append((other, j))
    return out
