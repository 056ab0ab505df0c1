"""The per-claim observations behind the peer features of :mod:`graphdetect.ranking`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .detectors._stays import stays
from .graph import INPATIENT

#: The peer features, in the order reasons list them on ties.
FEATURES = ("amount", "claims_per_patient", "stays_per_patient", "los", "inpatient",
            "per_doctor_day", "elderly", "far", "after_hours", "fund", "readmit30",
            "split_stays", "concurrent_stays")


class PerClaim:
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


def robust_z(value: np.ndarray, weight: np.ndarray, floor_sd: np.ndarray,
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
