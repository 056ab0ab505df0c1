"""The case network: the entities of the evidence claims, linked by the claims they share.

Nodes are patients, doctors, institutions, cards, terminals and operators named by the
evidence claims (``kind:id``, ids masked as the exporting role requires); an edge's
``weight`` is the number of evidence claims that link its two ends.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

from ._common import printable
from ._tables import Masker, name_of

#: Which kinds one claim links (a claim paid without a separate card links patient–terminal).
_LINKS = (("patient", "institution"), ("patient", "doctor"), ("doctor", "institution"),
          ("patient", "card"), ("card", "terminal"), ("terminal", "institution"),
          ("operator", "terminal"))


def case_network(case: dict, df: pd.DataFrame, ev, masker: Masker) -> nx.Graph:
    """Build the case network from the evidence claims (typed, see ``claim_frame``).

    Examples
    --------
    >>> import pandas as pd
    >>> from graphdetect.export._tables import Masker
    >>> df = pd.DataFrame({"patient_id": ["P1", "P2"], "institution_id": ["H1", "H1"],
    ...                    "doctor_id": ["D1", "D1"], "card_id": ["P1", "P2"],
    ...                    "terminal_id": [None, None], "operator_id": [None, None],
    ...                    "total_amount": [10.0, 20.0]})
    >>> case = {"members": [{"kind": "institution", "id": "H1", "role": "host"}]}
    >>> G = case_network(case, df, None, Masker("admin", []))
    >>> G["doctor:D1"]["institution:H1"]["weight"], G.nodes["institution:H1"]["role"]
    (2, 'host')
    """
    roles = {(m["kind"], str(m["id"])): m.get("role", "") for m in case["members"]}
    weights: Counter = Counter()
    claims: Counter = Counter()
    amounts: Counter = Counter()
    cols = {k: df[f"{k}_id"].tolist() if f"{k}_id" in df else [None] * len(df)
            for k in ("patient", "doctor", "institution", "card", "terminal", "operator")}
    for i, amount in enumerate(df["total_amount"].tolist()):
        ends = {k: v[i] for k, v in cols.items() if v[i] is not None}
        if ends.get("card") == ends.get("patient"):
            ends.pop("card", None)
        for k, v in ends.items():
            claims[(k, v)] += 1
            amounts[(k, v)] += float(amount)
        for a, b in _LINKS:
            if a == "card" and "card" not in ends:
                a = "patient"
            if a in ends and b in ends:
                weights[((a, ends[a]), (b, ends[b]))] += 1
    for key in roles:
        claims.setdefault(key, 0)
    G = nx.Graph(case_id=str(case.get("case_id", "")), run_id=str(case.get("run_id", "")))
    keys = {}
    for kind, ident in sorted(claims):
        key = keys[(kind, ident)] = f"{kind}:{masker.id(kind, ident)}"
        G.add_node(key, kind=kind, id=masker.id(kind, ident),
                   name=name_of(ev, kind, ident) if ev is not None else "",
                   role=roles.get((kind, ident), ""), member=(kind, ident) in roles,
                   claims=claims[(kind, ident)],
                   amount=round(amounts[(kind, ident)], 2))
    for (a, b), w in sorted(weights.items()):
        G.add_edge(keys[a], keys[b], weight=w)
    return G


def to_json(G: nx.Graph) -> str:
    """The network as JSON: ``{"graph", "nodes": [...], "edges": [...]}``, sorted."""
    nodes = [{"key": n, **G.nodes[n]} for n in sorted(G.nodes)]
    edges = sorted(({"source": min(a, b), "target": max(a, b), "weight": d["weight"]}
                    for a, b, d in G.edges(data=True)), key=lambda e: (e["source"], e["target"]))
    doc = {"graph": dict(sorted(G.graph.items())), "directed": False, "nodes": nodes,
           "edges": edges}
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


def write_graphml(G: nx.Graph, path: Path) -> None:
    """GraphML with every text made XML-safe (ids may hold anything)."""
    H = nx.Graph(**{k: printable(v) for k, v in G.graph.items()})
    for n in sorted(G.nodes):
        H.add_node(printable(n), **{k: printable(v) if isinstance(v, str) else v
                                    for k, v in G.nodes[n].items()})
    for a, b, d in sorted(G.edges(data=True), key=lambda e: (min(e[:2]), max(e[:2]))):
        H.add_edge(printable(a), printable(b), weight=d["weight"])
    nx.write_graphml(H, path, encoding="utf-8", prettyprint=True)


def layout(G: nx.Graph, *, seed: int = 0, iterations: int = 80) -> dict[str, np.ndarray]:
    """Deterministic force-directed positions (Fruchterman–Reingold, dense numpy).

    Starts from rings by kind (institutions inside, patients outside) jittered by a
    seeded generator, so the same network always gets the same picture.
    """
    nodes = sorted(G.nodes)
    n = len(nodes)
    if n == 0:
        return {}
    if n == 1:
        return {nodes[0]: np.zeros(2)}
    ring = {"institution": 0.2, "terminal": 0.4, "operator": 0.5, "doctor": 0.5,
            "card": 0.8, "patient": 1.0}
    rng = np.random.default_rng(seed)
    angle = np.linspace(0, 2 * np.pi, n, endpoint=False)
    radius = np.array([ring.get(G.nodes[v].get("kind"), 1.0) for v in nodes])
    pos = np.column_stack([np.cos(angle), np.sin(angle)]) * radius[:, None]
    pos += rng.normal(scale=0.02, size=pos.shape)
    if n > 2500:  # too many for a dense force layout; rings by kind still read well
        return dict(zip(nodes, pos, strict=True))
    index = {v: i for i, v in enumerate(nodes)}
    A = np.zeros((n, n))
    for a, b, d in G.edges(data=True):
        w = 1.0 + np.log(d.get("weight", 1))
        A[index[a], index[b]] = A[index[b], index[a]] = w
    k = 1.0 / np.sqrt(n)
    t = 0.1
    for _ in range(iterations):
        delta = pos[:, None, :] - pos[None, :, :]
        dist = np.maximum(np.sqrt((delta ** 2).sum(-1)), 0.01)
        force = (k * k / dist ** 2 - A * dist / k)[:, :, None] * delta
        disp = force.sum(axis=1)
        length = np.maximum(np.sqrt((disp ** 2).sum(-1)), 0.01)
        pos += disp * (np.minimum(length, t) / length)[:, None]
        t -= 0.1 / (iterations + 1)
    pos -= pos.mean(axis=0)
    scale = np.abs(pos).max() or 1.0
    return dict(zip(nodes, pos / scale, strict=True))
