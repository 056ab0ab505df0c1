"""Triage ranking: a score, a rank and the reasons for every institution and doctor.

Investigators cannot read every case; they start from a list of places and doctors worth
a look. Each institution and doctor in the claims gets a score in [0, 1] from three kinds
of evidence, combined like independent evidence, ``1 - (1 - c)(1 - 0.6 a)(1 - 0.6 r)``:

``c`` — cases
    For each pattern, the strongest case naming the entity, weighted by the pattern's
    ``role_weights`` for its role; patterns combine as ``1 - prod(1 - w * score)``. Only the
    strongest case per pattern counts, so a big hospital that hosts ten split stays is not
    ten times as suspect as a small one hosting one: how often relative to its size is
    measured by ``r`` and ``a``.
``r`` — share of the entity's amount that lies in case claims (``in_case_amount``).
``a`` — how unusual it is against its peers. Peers: institutions of one ``kind``,
    ``level`` and ``ownership`` (institutions table; the finest of kind/level/ownership,
    kind/level, kind that holds at least two places); without that table, places that
    bill alike (mostly pharmacy sales, with a ward, outpatient only) in one band of claim
    count (deciles, fewer for a small group); doctors share the peers of their
    institution. Every feature is a
    rate or a mean per claim, per stay, per patient or per doctor-day, never a count:
    ``amount`` (log amount per claim against the city's median for the visit type),
    ``claims_per_patient``, ``stays_per_patient``, ``los`` (log length of stay),
    ``inpatient``, ``per_doctor_day`` (claims per doctor-day, log), ``elderly`` (share of
    claims by people 65+), ``far`` (patients from another township), ``after_hours``
    (claims in the hours the peers are all but shut: under 5% of their busiest hour),
    ``fund`` (fund share of the amount), ``readmit30`` (readmission to the same place
    within 30 days, per stay), ``split_stays`` and ``concurrent_stays`` (per stay, the
    rules of those patterns applied below case level). Each is shrunk toward the peers'
    median by a pseudo-count of the peers' median volume (empirical Bayes, so a place with
    three claims is not an outlier by chance), then scored as a robust z against the
    peers, ``(x - median) / max(1.4826 MAD, floor)``, the floor being the spread the
    feature would have by chance at the peers' median volume. Only the risky (upper)
    side counts; ``a = logistic(1.5 (m - 2.5))``, rescaled so that ``m = 0`` gives 0, with
    ``m`` the mean of the three largest z's (each capped at 6).

Patients, cards, terminals and operators are scored from their cases alone (``c``), as
before, and appear only when a case names them. ``rank`` is 1-based within a kind, best
first, ties broken by id; ``reasons`` lists the three strongest contributions as
``key=value`` (``cases=2;in_case_amount=0.41;peer_z_los=2.7``).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from itertools import chain
from typing import NamedTuple

import numpy as np
import pandas as pd

from ._ranking_features import FEATURES, PerClaim, robust_z
from .detectors import PATTERNS
from .detectors._arrays import cached, claim_counts, unique_counts
from .graph import INPATIENT, PHARMACY

__all__ = ["case_evidence", "rank_entities", "FEATURES"]

_RANKED = ("institution", "doctor")
_MIN_PEERS = 2


def case_evidence(cases: list[dict]) -> dict[tuple[str, str], dict]:
    """Per entity named in a case: its case score ``c``, its cases and their patterns.

    >>> ev = case_evidence([{"pattern": "split_stay", "score": 0.8,
    ...     "members": [{"kind": "institution", "id": "H1", "role": "host"}]}])
    >>> ev[("institution", "H1")]["score"], ev[("institution", "H1")]["cases"]
    (0.4, 1)
    """
    # Per pattern, per entity its strongest weighted case score (at least 0), and per
    # entity its cases.
    best: dict[str, dict[tuple[str, str], float]] = defaultdict(dict)
    count: Counter[tuple[str, str]] = Counter()
    for case in cases:
        pattern, score = case["pattern"], case["score"]
        p = PATTERNS.get(pattern)
        value = {r: max(0.0, w * score) for r, w in p.role_weights.items()} if p else {}
        other = max(0.0, score)       # a role without a weight: 1.0 * score
        mine = best[pattern]
        keys = [(m["kind"], m["id"]) for m in case["members"]]
        count.update(keys)
        for key, m in zip(keys, case["members"], strict=True):
            v = value.get(m["role"], other)
            if v > mine.get(key, -1.0):
                mine[key] = v
    # Patterns in name order: the order they multiply in and are listed in.
    per: dict[tuple[str, str], list[tuple[str, float]]] = {}
    for pattern in sorted(best):
        for key, v in best[pattern].items():
            if key in per:
                per[key].append((pattern, v))
            else:
                per[key] = [(pattern, v)]
    rounded: dict[float, float] = {}      # case scores are few: round each once
    out = {}
    for key, parts in per.items():
        if len(parts) == 1:       # most entities: one pattern, and prod([x]) is x
            (patterns, v), = parts
            if v not in rounded:
                rounded[v] = round(float(1.0 - (1.0 - v)), 4)
            score = rounded[v]
        else:
            keep = math.prod([1.0 - v for _, v in parts])
            score, patterns = round(float(1.0 - keep), 4), ";".join(name for name, _ in parts)
        out[key] = {"score": score, "cases": count[key], "patterns": patterns}
    return out


def rank_entities(cases: list[dict], graph=None) -> list[tuple[str, str, float, str, int, str]]:
    """Score and rank every institution and doctor of ``graph`` and every case member.

    Returns rows ``(kind, id, score, patterns, rank, reasons)`` sorted by kind then id
    (see the module docstring for how the score is made). Without a graph, only the
    entities named in cases, from their cases.

    Examples
    --------
    >>> import pandas as pd
    >>> from graphdetect.graph import ClaimsGraph
    >>> claims = pd.DataFrame({"claim_id": ["C1", "C2", "C3"],
    ...     "patient_id": pd.Categorical(["P1", "P2", "P1"]),
    ...     "institution_id": pd.Categorical(["H1", "H1", "H2"]),
    ...     "start_time": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-03"]),
    ...     "visit_type": "outpatient", "total_amount": [10.0, 20.0, 30.0]})
    >>> [r[:2] + r[4:5] for r in rank_entities([], ClaimsGraph(claims))]
    [('institution', 'H1', 2), ('institution', 'H2', 1)]
    """
    evidence = case_evidence(cases)
    rows: dict[tuple[str, str], tuple[float, str, str]] = {}
    for key, ev in evidence.items():      # _reasons of the one part, written out
        rows[key] = (ev["score"], ev["patterns"],
                     f"cases={ev['cases']}" if ev["score"] > 0 else "")
    if graph is not None and len(graph):
        in_case = _in_case_rows(graph, cases)
        for kind, free in peer_features(graph).items():
            rows.update(_score_kind(graph, kind, free, evidence, in_case))
    if not rows:
        return []
    # Rows in (kind, id) order, the ids sorted as strings within each kind (faster than
    # comparing tuples); the rank, best first within a kind and ties by id, from one
    # numpy sort rather than a Python key per row.
    per_kind: dict[str, list[str]] = defaultdict(list)
    for k, i in rows:
        per_kind[k].append(i)
    kinds = sorted(per_kind)
    kind = [k for k in kinds for _ in per_kind[k]]
    id = [i for k in kinds for i in sorted(per_kind[k])]
    values = list(map(rows.__getitem__, zip(kind, id, strict=True)))
    score = [v[0] for v in values]
    size = np.array([len(per_kind[k]) for k in kinds])
    start = np.cumsum(size) - size
    group = np.repeat(np.arange(len(kinds)), size)
    order = np.lexsort((np.arange(len(kind)), -np.array(score, dtype=float), group))
    rank = np.empty(len(kind), np.int64)
    rank[order] = np.arange(len(kind)) - start[group[order]] + 1
    return [(k, i, v[0], v[1], r, v[2])
            for k, i, v, r in zip(kind, id, values, rank.tolist(), strict=True)]


def _reasons(parts: list[tuple[str, float, float]]) -> str:
    """The three strongest ``(key, value, strength)`` parts as ``key=value;...``."""
    parts = sorted((p for p in parts if p[2] > 0), key=lambda p: (-p[2], p[0]))[:3]
    return ";".join(f"{k}={_fmt(v)}" for k, v, _ in parts)


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.2f}".rstrip("0").rstrip(".")


def _in_case_rows(graph, cases: list[dict]) -> np.ndarray:
    """The rows of the claims in cases, sorted."""
    return graph.rows_of(list(chain.from_iterable(c["claim_ids"] for c in cases)))


class CaseFree(NamedTuple):
    """A ranked kind's half of the score that needs no cases, per entity: its ``id``, its
    ``amount``, its peer anomaly ``a`` and the features it stands out on (``hot``: entity
    position to ``(reason key, shown value, strength)``, in feature order)."""

    ids: list[str]
    amount: np.ndarray
    anomaly: np.ndarray
    hot: dict[int, list]


def _score_kind(graph, kind: str, free: CaseFree, evidence: dict, in_case: np.ndarray) -> dict:
    """Per entity of ``kind``, its row: the case-free half joined with its cases."""
    n = graph.n(kind)
    # As the amounts of peer_features, summed over the claims in cases only.
    slot = (graph.codes(kind)[in_case] + 1).astype(np.intp)
    case_amount = np.bincount(slot, weights=graph.amount[in_case], minlength=n + 1)[1:]
    amount = free.amount
    share = np.divide(case_amount, amount, out=np.zeros(n), where=amount > 0)
    ids = free.ids
    none = {"score": 0.0, "cases": 0, "patterns": ""}
    evs = [evidence.get((kind, i), none) for i in ids]
    case_score = np.array([ev["score"] for ev in evs], dtype=float)
    score = 1.0 - (1.0 - case_score) * (1.0 - 0.6 * share) * (1.0 - 0.6 * free.anomaly)
    hot = free.hot
    out = {}
    for i, (id, ev, score_i, share_i) in enumerate(zip(ids, evs, score.tolist(),
                                                        share.tolist(), strict=True)):
        parts = [("cases", ev["cases"], 10 * ev["score"]),
                 ("in_case_amount", round(share_i, 2), 5 * share_i), *hot.get(i, ())]
        out[(kind, id)] = (round(score_i, 4), ev["patterns"], _reasons(parts))
    return out


def peer_features(graph) -> dict[str, CaseFree]:
    """What the ranking learns from the claims alone, whatever the cases: per ranked kind
    present, its :class:`CaseFree` half.

    Made once per graph (:func:`graphdetect.detectors._arrays.cached`), so that a run can
    work it out on a thread of its own while the detectors run.
    """
    def make():
        inst_peers = _peers(graph, "institution")
        peers = {kind: inst_peers if kind == "institution" else _peers(graph, kind, inst_peers)
                 for kind in _RANKED if graph.n(kind)}
        per_claim = PerClaim(graph, inst_peers)
        return {kind: _case_free(graph, kind, per_claim, group)
                for kind, group in peers.items()}
    return cached(graph, "ranking.peer_features", make)


def _case_free(graph, kind: str, per_claim: PerClaim, peers: np.ndarray) -> CaseFree:
    """A kind's amounts, peer z's, anomaly and the reasons they give (no cases needed)."""
    n = graph.n(kind)
    # Claims without the entity are in slot 0 (sums in claim order, as without them).
    amount = np.bincount(per_claim.slot[kind], weights=graph.amount, minlength=n + 1)[1:]
    z = _peer_z(graph, kind, peers, per_claim)
    top = np.sort(z, axis=1)[:, ::-1][:, :3]
    floor = 1.0 / (1.0 + np.exp(1.5 * 2.5))
    anomaly = (1.0 / (1.0 + np.exp(-1.5 * (top.mean(axis=1) - 2.5))) - floor) / (1 - floor)
    # The features each entity stands out on (z >= 1), in feature order.
    hot: dict[int, list] = defaultdict(list)
    names = [f"peer_z_{f}" for f in FEATURES]
    high = z >= 1.0
    at, feature = (a.tolist() for a in np.nonzero(high))
    for i, j, v in zip(at, feature, z[high].tolist(), strict=True):
        hot[i].append((names[j], round(v, 1), v))
    return CaseFree([str(i) for i in graph.index(kind)], amount, anomaly, dict(hot))


def _peers(graph, kind: str, inst_peers: np.ndarray | None = None) -> np.ndarray:
    """Peer group per entity: institutions by kind/level/ownership (else volume decile);
    doctors by their institution's group (``inst_peers`` when already made)."""
    if kind == "doctor":
        inst = _home_institution(graph)
        base = inst_peers if inst_peers is not None else _peers(graph, "institution") \
            if graph.n("institution") else np.zeros(0, int)
        return np.where(inst >= 0, base[np.maximum(inst, 0)], -1) if len(base) else \
            np.zeros(graph.n("doctor"), int)
    n = graph.n("institution")
    volume = claim_counts(graph, "institution")
    kinds = graph.attribute("institution", "kind")
    if kinds is None:
        return _inferred_peers(graph, volume)
    # The finest of kind/level/ownership, kind/level, kind that holds another place.
    parts = [graph.attribute("institution", c) for c in ("kind", "level", "ownership")]
    parts = [np.array([str(v) for v in p], dtype=object) for p in parts if p is not None]
    label = np.full(n, "all", dtype=object)
    for depth in range(len(parts), 0, -1):
        here = pd.Series(parts[0]).str.cat([pd.Series(p) for p in parts[1:depth]], sep="|") \
            .to_numpy(dtype=object)
        counts = pd.Series(here).map(pd.Series(here).value_counts()).to_numpy()
        take = (label == "all") & (counts >= _MIN_PEERS)
        label[take] = here[take]
    return pd.factorize(pd.Series(label), sort=True)[0]


def _inferred_peers(graph, volume: np.ndarray) -> np.ndarray:
    """Without an institutions table: what a place bills (mostly pharmacy sales, has a
    ward, outpatient only), then bands of claim count (deciles, fewer for a small group)."""
    h = graph.codes("institution")
    ok = h >= 0
    n = graph.n("institution")
    mix = np.zeros((n, 3))
    for t in range(3):
        mix[:, t] = np.bincount(h[ok & (graph.visit == t)], minlength=n)
    share = mix / np.maximum(volume, 1)[:, None]
    profile = np.where(share[:, PHARMACY] >= 0.5, 0, np.where(share[:, INPATIENT] >= 0.02,
                                                                1, 2))
    label = np.zeros(n, np.int64)
    for p in range(3):
        mine = np.flatnonzero(profile == p)
        bands = max(1, min(10, len(mine) // 10))
        order = mine[np.lexsort((mine, volume[mine]))]
        label[order] = p * 10 + np.arange(len(order)) * bands // max(len(order), 1)
    return pd.factorize(label, sort=True)[0]


def _home_institution(graph) -> np.ndarray:
    """Per doctor, the institution of the doctors table, else where most of its claims are."""
    n = graph.n("doctor")
    table = graph.attribute("doctor", "institution_id")
    listed = np.full(n, -1) if table is None else \
        graph.index("institution").get_indexer(pd.Index(table, dtype=object))
    if (listed >= 0).all():         # the table names them all: no need to count
        return listed
    d, h = graph.codes("doctor"), graph.codes("institution")
    ok = (d >= 0) & (h >= 0)
    span = graph.n("institution")       # pairs in (doctor, institution) order
    wide = np.uint32 if n * span < 2**32 else np.int64      # 32 bits sort faster
    pair = d[ok].astype(wide)
    pair *= wide(span)
    np.add(pair, h[ok], out=pair, casting="unsafe")
    pair = unique_counts(pair)
    home = np.full(n, -1)
    if len(pair[0]):
        dd, hh, cnt = pair[0] // wide(span), pair[0] % wide(span), pair[1]
        order = np.lexsort((hh, -cnt, dd))
        first = np.r_[True, dd[order][1:] != dd[order][:-1]]
        home[dd[order][first]] = hh[order][first]
    return np.where(listed >= 0, listed, home)


def _peer_z(graph, kind: str, peers: np.ndarray, per_claim: PerClaim) -> np.ndarray:
    """Robust z against the peers, per entity and feature (upper side, capped at 6)."""
    table = per_claim.by(kind)
    out = np.zeros((graph.n(kind), len(FEATURES)))
    for j, name in enumerate(FEATURES):
        if name in table:
            out[:, j] = robust_z(*table[name], peers)
    return np.clip(out, 0.0, 6.0)
