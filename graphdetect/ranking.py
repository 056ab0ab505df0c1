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

from collections import defaultdict

import numpy as np
import pandas as pd

from .detectors import PATTERNS
from .detectors._stays import stays
from .graph import INPATIENT, PHARMACY

__all__ = ["case_evidence", "rank_entities", "FEATURES"]

#: The peer features, in the order reasons list them on ties.
FEATURES = ("amount", "claims_per_patient", "stays_per_patient", "los", "inpatient",
            "per_doctor_day", "elderly", "far", "after_hours", "fund", "readmit30",
            "split_stays", "concurrent_stays")
_RANKED = ("institution", "doctor")
_MIN_PEERS = 2


def case_evidence(cases: list[dict]) -> dict[tuple[str, str], dict]:
    """Per entity named in a case: its case score ``c``, its cases and their patterns.

    >>> ev = case_evidence([{"pattern": "split_stay", "score": 0.8,
    ...     "members": [{"kind": "institution", "id": "H1", "role": "host"}]}])
    >>> ev[("institution", "H1")]["score"], ev[("institution", "H1")]["cases"]
    (0.4, 1)
    """
    best: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    count: dict[tuple[str, str], int] = defaultdict(int)
    for case in cases:
        p = PATTERNS.get(case["pattern"])
        for m in case["members"]:
            key = (m["kind"], m["id"])
            w = p.role_weights.get(m["role"], 1.0) if p else 1.0
            mine = best[key]
            mine[case["pattern"]] = max(mine.get(case["pattern"], 0.0), w * case["score"])
            count[key] += 1
    out = {}
    for key, per in best.items():
        keep = np.prod([1.0 - v for _, v in sorted(per.items())])
        out[key] = {"score": round(float(1.0 - keep), 4), "cases": count[key],
                    "patterns": ";".join(sorted(per))}
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
    for key, ev in evidence.items():
        rows[key] = (ev["score"], ev["patterns"], _reasons([("cases", ev["cases"], 10 *
                                                               ev["score"])]))
    if graph is not None and len(graph):
        in_case = _in_case_rows(graph, cases)
        per_claim = _PerClaim(graph, _peers(graph, "institution"))
        for kind in _RANKED:
            if graph.n(kind):
                rows.update(_score_kind(graph, kind, evidence, in_case, per_claim))
    by_kind: dict[str, list] = defaultdict(list)
    for (kind, id), (score, patterns, reasons) in rows.items():
        by_kind[kind].append((kind, id, score, patterns, reasons))
    out = []
    for items in by_kind.values():
        items.sort(key=lambda r: (-r[2], r[1]))
        out += [(k, i, s, p, n, why) for n, (k, i, s, p, why) in enumerate(items, 1)]
    return sorted(out, key=lambda r: (r[0], r[1]))


def _reasons(parts: list[tuple[str, float, float]]) -> str:
    """The three strongest ``(key, value, strength)`` parts as ``key=value;...``."""
    parts = sorted((p for p in parts if p[2] > 0), key=lambda p: (-p[2], p[0]))[:3]
    return ";".join(f"{k}={_fmt(v)}" for k, v, _ in parts)


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.2f}".rstrip("0").rstrip(".")


def _in_case_rows(graph, cases: list[dict]) -> np.ndarray:
    ids = {i for c in cases for i in c["claim_ids"]}
    if not ids:
        return np.zeros(len(graph), bool)
    return graph.claims["claim_id"].isin(ids).to_numpy()


def _score_kind(graph, kind: str, evidence: dict, in_case: np.ndarray,
                per_claim: _PerClaim) -> dict:
    codes = graph.codes(kind)
    n = graph.n(kind)
    has = codes >= 0
    amount = np.bincount(codes[has], weights=graph.amount[has], minlength=n)
    case_amount = np.bincount(codes[has & in_case], weights=graph.amount[has & in_case],
                              minlength=n)
    share = np.divide(case_amount, amount, out=np.zeros(n), where=amount > 0)
    peers = _peers(graph, kind)
    z = _peer_z(graph, kind, peers, per_claim)
    top = np.sort(z, axis=1)[:, ::-1][:, :3]
    floor = 1.0 / (1.0 + np.exp(1.5 * 2.5))
    anomaly = (1.0 / (1.0 + np.exp(-1.5 * (top.mean(axis=1) - 2.5))) - floor) / (1 - floor)
    ids = graph.index(kind)
    out = {}
    for i in range(n):
        key = (kind, str(ids[i]))
        ev = evidence.get(key, {"score": 0.0, "cases": 0, "patterns": ""})
        score = 1.0 - (1.0 - ev["score"]) * (1.0 - 0.6 * share[i]) * (1.0 - 0.6 * anomaly[i])
        parts = [("cases", ev["cases"], 10 * ev["score"]),
                 ("in_case_amount", round(float(share[i]), 2), 5 * share[i])]
        parts += [(f"peer_z_{f}", round(float(z[i, j]), 1), z[i, j])
                  for j, f in enumerate(FEATURES) if z[i, j] >= 1.0]
        out[key] = (round(float(score), 4), ev["patterns"], _reasons(parts))
    return out


def _peers(graph, kind: str) -> np.ndarray:
    """Peer group per entity: institutions by kind/level/ownership (else volume decile);
    doctors by their institution's group."""
    if kind == "doctor":
        inst = _home_institution(graph)
        base = _peers(graph, "institution") if graph.n("institution") else np.zeros(0, int)
        return np.where(inst >= 0, base[np.maximum(inst, 0)], -1) if len(base) else \
            np.zeros(graph.n("doctor"), int)
    n = graph.n("institution")
    volume = np.bincount(graph.codes("institution")[graph.codes("institution") >= 0],
                         minlength=n)
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
    d, h = graph.codes("doctor"), graph.codes("institution")
    ok = (d >= 0) & (h >= 0)
    pair = np.unique(d[ok].astype(np.int64) << 32 | h[ok], return_counts=True)
    home = np.full(n, -1)
    if len(pair[0]):
        dd, hh, cnt = pair[0] >> 32, pair[0] & 0xFFFFFFFF, pair[1]
        order = np.lexsort((hh, -cnt, dd))
        first = np.r_[True, dd[order][1:] != dd[order][:-1]]
        home[dd[order][first]] = hh[order][first]
    table = graph.attribute("doctor", "institution_id")
    if table is not None:
        pos = graph.index("institution").get_indexer(pd.Index(table, dtype=object))
        home = np.where(pos >= 0, pos, home)
    return home


def _peer_z(graph, kind: str, peers: np.ndarray, per_claim: _PerClaim) -> np.ndarray:
    """Robust z against the peers, per entity and feature (upper side, capped at 6)."""
    table = per_claim.by(kind)
    out = np.zeros((graph.n(kind), len(FEATURES)))
    for j, name in enumerate(FEATURES):
        if name in table:
            out[:, j] = _robust_z(*table[name], peers)
    return np.clip(out, 0.0, 6.0)


class _PerClaim:
    """The claim-level observations behind the features, made once for both kinds.

    ``x[:, f]`` is claim's value of feature ``f`` where ``w[:, f]`` is 1; a kind's value
    is the mean over its claims (one sparse product for all features).
    """

    def __init__(self, graph, inst_peers: np.ndarray):
        self.graph = graph
        n = len(graph)
        visit, amount = graph.visit, graph.amount
        inpatient = visit == INPATIENT
        cols: dict[str, tuple[np.ndarray, np.ndarray, bool]] = {}
        logs = np.log1p(amount)
        base = np.zeros(n)
        step = max(1, n // 200_000)     # the medians of an evenly spaced sample will do
        for t in np.unique(visit):
            base[visit == t] = np.median(logs[::step][visit[::step] == t]) \
                if (visit[::step] == t).any() else np.median(logs[visit == t])
        every = np.ones(n, bool)
        cols["amount"] = (logs - base, every, False)
        cols["inpatient"] = (inpatient.astype(float), every, True)
        end = graph.claims["end_time"].to_numpy().astype("datetime64[s]").astype(np.int64)
        los = np.where(inpatient, (end - graph.seconds) / 86400.0, 0.0)
        cols["los"] = (np.log1p(np.clip(los, 0, None)), inpatient, False)
        age = _age(graph)
        if age is not None:
            cols["elderly"] = ((age >= 65).astype(float), np.isfinite(age), True)
        far = _far(graph)
        if far is not None:
            cols["far"] = (far.astype(float), far >= 0, True)
        timed = graph.claims["has_time"].to_numpy()
        if timed.any():
            hour = (graph.seconds % 86400) // 3600
            h = graph.codes("institution")
            g = np.where(h >= 0, inst_peers[np.maximum(h, 0)] + 1, 0) if len(inst_peers) \
                else np.zeros(n, np.int64)
            prof = np.bincount((g * 24 + hour)[timed], minlength=24 * (int(g.max()) + 1))
            prof = prof.reshape(-1, 24)
            off = prof < 0.05 * prof.max(axis=1, keepdims=True)
            cols["after_hours"] = (off[g, hour].astype(float), timed, True)
        fund = graph.claims["fund_amount"].to_numpy(dtype=float)
        share = np.divide(fund, amount, out=np.full(n, np.nan), where=amount > 0)
        cols["fund"] = (np.clip(np.nan_to_num(share), 0, 1), np.isfinite(share), False)
        for name, flag in _stay_flags(graph).items():
            cols[name] = (flag, inpatient, True)
        self.names = list(cols)
        self.x = np.zeros((n, len(cols)), np.float32, order="F")
        self.w = np.zeros((n, len(cols)), np.float32, order="F")
        self.sd = []
        for j, (x, m, rate) in enumerate(cols.values()):
            self.w[:, j] = m
            self.x[:, j] = np.where(m, x, 0.0)
            mu = float(x[m].mean()) if m.any() else 0.0
            self.sd.append(np.sqrt(mu * (1 - mu)) if rate else float(x[m].std()) if m.any()
                           else 0.0)
        self.doctor_days = _doctor_days(graph)

    def by(self, kind: str) -> dict[str, tuple]:
        """Per feature: (per-entity value, its weight, the spread of one observation)."""
        g = self.graph
        n = g.n(kind)
        members = g.members(kind).astype(np.float32)
        sums, weights = members @ self.x, members @ self.w
        out = {}
        for j, name in enumerate(self.names):
            w = weights[:, j].astype(float)
            if w.sum():
                v = np.divide(sums[:, j], w, out=np.full(n, np.nan), where=w > 0)
                out[name] = (v, w, np.full(n, self.sd[j]))
        e = g.codes(kind)
        patient = g.codes("patient").astype(np.int64)
        out["claims_per_patient"] = _per_pair(e, patient, e >= 0, n)
        out["stays_per_patient"] = _per_pair(e, patient, g.visit == INPATIENT, n)
        owner, logs = self.doctor_days
        if len(logs):
            own = owner[kind]
            ok = own >= 0
            w = np.bincount(own[ok], minlength=n).astype(float)
            v = np.divide(np.bincount(own[ok], weights=logs[ok], minlength=n), w,
                          out=np.full(n, np.nan), where=w > 0)
            out["per_doctor_day"] = (v, w, np.full(n, float(logs.std())))
        return {k: v for k, v in out.items() if v is not None}


def _doctor_days(graph) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per (institution, doctor, day): its doctor and institution, and its log claims."""
    doctor = graph.codes("doctor").astype(np.int64)
    inst = graph.codes("institution").astype(np.int64)
    rows = np.flatnonzero((doctor >= 0) & (inst >= 0))
    if not len(rows):
        return {}, np.zeros(0)
    days = int(graph.day.max() - graph.day.min()) + 1
    per_inst = graph.n("doctor") * days
    key = inst[rows] * per_inst + doctor[rows] * days + (graph.day[rows] - graph.day.min())
    uniq, cnt = np.unique(key, return_counts=True)
    owner = {"institution": uniq // per_inst, "doctor": uniq % per_inst // days}
    return owner, np.log(cnt)


def _per_pair(e: np.ndarray, key: np.ndarray, mask: np.ndarray, n: int) -> tuple | None:
    """Mean log claims per (entity, key) pair: per patient, per doctor-day."""
    m = mask & (e >= 0) & (key >= 0)
    if not m.any():
        return None
    pair, cnt = np.unique(e[m].astype(np.int64) << 36 | key[m], return_counts=True)
    owner = pair >> 36
    x = np.log(cnt)
    w = np.bincount(owner, minlength=n).astype(float)
    v = np.divide(np.bincount(owner, weights=x, minlength=n), w, out=np.full(n, np.nan),
                  where=w > 0)
    return v, w, np.full(n, float(x.std()))


def _age(graph) -> np.ndarray | None:
    """Per claim, its patient's age in years at the claim (NaN when unknown)."""
    p = graph.patients
    if p is None:
        return None
    index = graph.index("patient")
    if "birth_date" in p and p["birth_date"].notna().any():
        born = p["birth_date"][~p.index.duplicated()].reindex(index)
        year = born.dt.year.to_numpy(dtype=float) + born.dt.day_of_year.to_numpy(dtype=float) / 366
    elif "birth_year" in p and p["birth_year"].notna().any():
        year = pd.to_numeric(p["birth_year"][~p.index.duplicated()].reindex(index),
                             errors="coerce").to_numpy(dtype=float) + 0.5
    else:
        return None
    code = graph.codes("patient")
    at = 1970 + graph.day / 365.2425
    return np.where(code >= 0, at - year[np.maximum(code, 0)], np.nan)


def _far(graph, prefix: int = 9) -> np.ndarray | None:
    """Per claim: 1 when the patient's township differs from the institution's, -1 unknown."""
    homes = graph.attribute("patient", "region_code")
    places = graph.attribute("institution", "region_code")
    if homes is None or places is None:
        return None
    both = pd.Series(np.concatenate([homes, places]), dtype=object).str[:prefix]
    code = pd.factorize(both)[0]
    home, place = code[:len(homes)], code[len(homes):]
    p, h = graph.codes("patient"), graph.codes("institution")
    a = np.where(p >= 0, home[np.maximum(p, 0)], -1)
    b = np.where(h >= 0, place[np.maximum(h, 0)], -1)
    return np.where((a >= 0) & (b >= 0), (a != b).astype(int), -1)


def _stay_flags(graph) -> dict[str, np.ndarray]:
    """Per claim (inpatient ones), whether the stay is a readmission within 30 days, a split
    stay (0-2 days, same diagnosis) or overlaps a stay elsewhere."""
    s = stays(graph)
    flags = {k: np.zeros(len(graph)) for k in ("readmit30", "split_stays", "concurrent_stays")}
    if len(s) < 2:
        return flags
    p, h = s["patient"].to_numpy(), s["institution"].to_numpy()
    start, end = s["start"].to_numpy(), s["end"].to_numpy()
    dx, row = s["diagnosis"].to_numpy(), s["row"].to_numpy()
    o = np.lexsort((start, h, p))
    same = (p[o][1:] == p[o][:-1]) & (h[o][1:] == h[o][:-1])
    gap = start[o][1:] - end[o][:-1]
    later = row[o][1:]
    flags["readmit30"][later[same & (gap >= 0) & (gap <= 30)]] = 1
    flags["split_stays"][later[same & (gap >= 0) & (gap <= 2) & (dx[o][1:] >= 0)
                               & (dx[o][1:] == dx[o][:-1])]] = 1
    # s is sorted by patient and start: a stay overlapping the next one at another place.
    lap = (p[1:] == p[:-1]) & (h[1:] != h[:-1]) & (np.minimum(end[1:], end[:-1]) - start[1:] >= 1)
    flags["concurrent_stays"][row[1:][lap]] = 1
    flags["concurrent_stays"][row[:-1][lap]] = 1
    return flags


def _robust_z(value: np.ndarray, weight: np.ndarray, floor_sd: np.ndarray,
              peers: np.ndarray) -> np.ndarray:
    """Shrink each value toward its peers' median by their median weight, then z it.

    ``value`` is a per-entity mean or rate over ``weight`` observations; ``floor_sd`` the
    spread of one observation, so that the z's scale is at least the chance spread at
    the peers' median volume.
    """
    z = np.zeros(len(value))
    ok = (weight > 0) & (peers >= 0) & np.isfinite(value)
    for g in np.unique(peers[ok]):
        mine = np.flatnonzero(ok & (peers == g))
        v, w = value[mine], weight[mine]
        m = float(np.median(w))
        med = float(np.median(v))
        shrunk = (w * v + m * med) / (w + m)
        centre = float(np.median(shrunk))
        mad = 1.4826 * float(np.median(np.abs(shrunk - centre)))
        scale = max(mad, float(np.median(floor_sd[mine])) / np.sqrt(max(m, 1.0)), 1e-9)
        z[mine] = (shrunk - centre) / scale
    return z
