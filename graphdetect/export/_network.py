"""The case network: the entities of the evidence claims, linked by the claims they share.

Nodes are patients, doctors, institutions, cards, terminals and operators named by the
evidence claims (``kind:id``, ids masked when the package masks them); an edge's
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
    >>> G = case_network(case, df, None, Masker(False))
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
    return json.dumps(doc, ensure_ascii=False, indent=1, allow_nan=False) + "\n"


def write_graphml(G: nx.Graph, path: Path) -> None:
    """GraphML with every text made XML-safe (ids may hold anything)."""
    H = nx.Graph(**{k: printable(v) for k, v in G.graph.items()})
    for n in sorted(G.nodes):
        H.add_node(printable(n), **{k: printable(v) if isinstance(v, str) else v
                                    for k, v in G.nodes[n].items()})
    for a, b, d in sorted(G.edges(data=True), key=lambda e: (min(e[:2]), max(e[:2]))):
        H.add_edge(printable(a), printable(b), weight=d["weight"])
    nx.write_graphml(H, path, encoding="utf-8", prettyprint=True)


def layout(G: nx.Graph) -> dict[str, np.ndarray]:
    """Deterministic radial positions: institutions in the middle, people outside.

    Institutions sit at the centre (on a small circle when several), doctors, terminals
    and operators on an inner ring, cards and patients on outer rings. Each ring is
    ordered by the mean angle of the nodes already placed that it shares claims with,
    so each doctor's or terminal's patients gather in front of it.

    Examples
    --------
    >>> G = nx.Graph()
    >>> G.add_node("institution:H1", kind="institution", claims=3)
    >>> G.add_node("patient:P1", kind="patient", claims=1)
    >>> G.add_edge("institution:H1", "patient:P1", weight=1)
    >>> {k: v.round(2).tolist() for k, v in layout(G).items()}
    {'institution:H1': [0.0, 0.0], 'patient:P1': [0.0, 1.0]}
    """
    angle: dict[str, float] = {}
    pos: dict[str, np.ndarray] = {}
    if 2 < len(G) <= _SMALL:  # a few nodes: the busiest in the middle, the rest around it
        centre = max(sorted(G), key=lambda n: G.degree(n, weight="weight"))
        pos[centre] = np.zeros(2)
        order = {k: i for i, k in enumerate(_KIND_ORDER)}
        _ring(G, sorted((n for n in G if n != centre),
                        key=lambda n: (order.get(G.nodes[n]["kind"], 9), n)), 1.0, angle, pos,
              keep_order=True)
        return pos
    for kinds, r in _RINGS:
        ring = [n for n in G if G.nodes[n]["kind"] in kinds]
        if kinds == ("institution",) and len(ring) > 1:
            r = min(0.3, 0.06 * len(ring))
        _ring(G, ring, r, angle, pos)
    _ring(G, sorted(n for n in G if n not in pos), 1.15, angle, pos)
    return pos


_SMALL = 12
_KIND_ORDER = ("patient", "card", "institution", "doctor", "terminal", "operator")
_RINGS = ((("institution",), 0.0), (("doctor", "terminal", "operator"), 0.5),
          (("card",), 0.75), (("patient",), 1.0))


def _ring(G: nx.Graph, ring: list[str], r: float, angle: dict, pos: dict, *,
          keep_order: bool = False) -> None:
    """Place ``ring`` evenly on a circle, ordered by the mean angle of placed neighbours."""
    def mean_angle(n: str) -> float:
        vec = np.zeros(2)
        for m in G[n]:
            if m in angle:
                vec += G[n][m].get("weight", 1) * np.array([np.cos(angle[m]), np.sin(angle[m])])
        return float(np.arctan2(vec[1], vec[0])) if vec.any() else 4.0

    keyed = ring if keep_order else sorted(
        ring, key=lambda n: (round((np.pi / 2 - mean_angle(n)) % (2 * np.pi), 6), n))
    for i, n in enumerate(keyed):
        a = np.pi / 2 - 2 * np.pi * i / max(len(keyed), 1)
        pos[n] = r * np.array([np.cos(a), np.sin(a)])
        if r > 0:  # a node in the middle gives no direction
            angle[n] = a
