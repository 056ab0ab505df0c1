"""The per-claim observations behind the peer features of :mod:`graphdetect.ranking`."""

from __future__ import annotations

import numpy as np

from ._ranking_people import _by_patient, _first_day_at_65, _towns
from .detectors._arrays import group_medians, unique_counts
from .detectors._stays import continued, stays, stays_by_place
from .graph import INPATIENT, VISITS

#: The peer features, in the order reasons list them on ties.
FEATURES = ("amount", "claims_per_patient", "stays_per_patient", "los", "inpatient",
            "per_doctor_day", "elderly", "far", "after_hours", "fund", "readmit30",
            "split_stays", "concurrent_stays")


class PerClaim:
    """The claim-level observations behind the features, made once for both kinds.

    Each feature is one claim-level value where it is observed; a kind's value is the
    mean over its claims. Features are made one at a time and summed per institution and
    per doctor at once, so no claims x features matrix is ever held. ``slot[kind]`` is,
    per claim, its entity's code + 1 (0 without one).
    """

    def __init__(self, graph, inst_peers: np.ndarray):
        self.graph = graph
        kinds = [k for k in ("institution", "doctor") if graph.n(k)]
        # Slot 0 gathers the claims without that entity; float32 sums in claim order.
        self.slot = slot = {k: np.add(graph.codes(k), 1, dtype=np.intp) for k in kinds}
        size = {k: graph.n(k) + 1 for k in kinds}
        flags = _FlagCounts(slot, size)
        self.names: list[str] = []
        self.sd: list[float] = []
        # Per kind and feature: a sum, or the number of the flag it counts.
        sums: dict[str, list] = {k: [] for k in kinds}
        weights: dict[str, list] = {k: [] for k in kinds}
        masks: list[tuple[np.ndarray, bool, int, int]] = []   # features share a few masks
        for name, x, m, rate in _observations(graph, inst_peers):
            self.names.append(name)
            known = next((t for t in masks if t[0] is m), None)
            if known is None:
                seen = int(np.count_nonzero(m))
                # A mask true everywhere counts what any other such mask counts.
                full = next((t for t in masks if t[1]), None) if seen == len(m) else None
                known = (m, seen == len(m), seen, full[3] if full else flags.add(m, seen))
                masks.append(known)
            _, everywhere, seen, counted = known
            if rate:        # x is a flag
                hit = x if everywhere else x & m
                flagged = int(np.count_nonzero(hit))
                mu = flagged / seen if seen else 0.0
                self.sd.append(np.sqrt(mu * (1 - mu)))
                # A float32 sum of ones in claim order is the exact count (below 2**24
                # per entity), so count the flagged claims instead.
                hits = counted if hit is m else flags.add(hit, flagged)
                for k in kinds:
                    sums[k].append(hits)
            else:
                mine = x if everywhere else x[m]
                self.sd.append(float(mine.std()) if seen else 0.0)
                # Unobserved claims are 0.0 and add 0.0 to a sum: leave them out where
                # they are many, else keep them (no copy of the observed claims' slots).
                few = 2 * seen < len(m)
                observed = (mine if few else x).astype(np.float32)
                for k in kinds:
                    total = np.zeros(size[k], np.float32)
                    np.add.at(total, slot[k][m] if few else slot[k], observed)
                    sums[k].append(total[1:])
            for k in kinds:
                weights[k].append(counted)
        counts = flags.counts()
        self.sums = {k: [counts[k][a].astype(np.float32) if isinstance(a, int) else a
                         for a in sums[k]] for k in kinds}
        self.weights = {k: [counts[k][a].astype(float) for a in weights[k]] for k in kinds}
        self.doctor_days = _doctor_days(graph)

    def by(self, kind: str) -> dict[str, tuple]:
        """Per feature: (per-entity value, its weight, the spread of one observation)."""
        g = self.graph
        n = g.n(kind)
        out = {}
        for j, name in enumerate(self.names):
            w = self.weights[kind][j]
            if w.sum():
                v = np.divide(self.sums[kind][j], w, out=np.full(n, np.nan), where=w > 0)
                out[name] = (v, w, np.full(n, self.sd[j]))
        e = g.codes(kind)
        patient = g.codes("patient")
        out["claims_per_patient"] = _per_pair(e, patient, None, n)
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


class _FlagCounts:
    """Per entity of each kind, the claims of each of several flags.

    A flag on few claims is counted from its rows. The others are packed as the bits of
    a small code, seven a pass, and one ``bincount`` of (slot, code) per kind counts them
    all, where a ``bincount`` per flag would first gather the slots of its claims (a
    slow, branchy copy each time).
    """

    _BITS = 7
    _FEW = 8        # a flag on under 1/8 of the claims is counted from its rows

    def __init__(self, slot: dict[str, np.ndarray], size: dict[str, int]):
        self.slot = slot
        self.size = size
        self.done: dict[str, dict[int, np.ndarray]] = {k: {} for k in slot}
        self.code: np.ndarray | None = None
        self.packed: list[int] = []     # the flags in the code, by bit
        self.added = 0

    def add(self, flag: np.ndarray, seen: int | None = None) -> int:
        """Count a boolean per claim (``seen`` of them true, when known); returns its
        place in each kind's :meth:`counts`."""
        at = self.added
        self.added += 1
        if seen is None:
            seen = int(np.count_nonzero(flag))
        if self._FEW * seen < len(flag):
            rows = np.flatnonzero(flag)
            for k, s in self.slot.items():
                self.done[k][at] = np.bincount(s[rows], minlength=self.size[k])[1:]
            return at
        bit = flag.astype(np.uint8)
        if self.packed:
            bit <<= np.uint8(len(self.packed))
            self.code |= bit
        else:
            self.code = bit
        self.packed.append(at)
        if len(self.packed) == self._BITS:
            self._flush()
        return at

    def _flush(self) -> None:
        if not self.packed:
            return
        combos = 1 << self._BITS
        has = (np.arange(combos)[:, None] >> np.arange(len(self.packed))) & 1 == 1
        for k, s in self.slot.items():
            key = s << self._BITS
            key |= self.code
            per = np.bincount(key, minlength=self.size[k] * combos).reshape(-1, combos)[1:]
            del key
            for b, at in enumerate(self.packed):
                self.done[k][at] = per[:, has[:, b]].sum(axis=1)
        self.code, self.packed = None, []

    def counts(self) -> dict[str, list[np.ndarray]]:
        """Per kind, per flag in the order added, the flagged claims of each entity."""
        self._flush()
        return {k: [done[i] for i in range(self.added)] for k, done in self.done.items()}


def _observations(graph, inst_peers: np.ndarray):
    """Per feature, one at a time: ``(name, per-claim value, observed mask, is a rate)``;
    a rate's value is a boolean flag, any other value is 0.0 where it is not observed."""
    n = len(graph)
    visit, amount = graph.visit, graph.amount
    inpatient = visit == INPATIENT
    every = np.ones(n, bool)
    logs = np.log1p(amount)
    step = max(1, n // 200_000)     # the medians of an evenly spaced sample will do
    base = np.zeros(256)            # per visit code (-1 for unknown is the last)
    for t in [t for t in range(-1, len(VISITS)) if (visit == t).any()]:
        base[t] = np.median(logs[::step][visit[::step] == t]) \
            if (visit[::step] == t).any() else np.median(logs[visit == t])
    logs -= base[visit]
    yield "amount", logs, every, False
    del logs
    yield "inpatient", inpatient, every, True
    los = np.zeros(n)
    rows = np.flatnonzero(inpatient)
    end = graph.claims["end_time"].to_numpy()[rows].astype("datetime64[s]").astype(np.int64)
    los[rows] = np.log1p(np.clip((end - graph.seconds[rows]) / 86400.0, 0, None))
    del end, rows
    yield "los", los, inpatient, False
    del los
    # elderly (as _elderly gives it) and far, their two per-patient look-ups made as one
    ages, towns = _first_day_at_65(graph), _towns(graph)
    at, home = _by_patient(graph, None if ages is None else ages[0],
                           None if towns is None else towns[0])
    if ages is not None:
        yield "elderly", graph.day >= at, at != ages[1], True
    if towns is not None:
        place = towns[1][graph.codes("institution")]
        yield "far", home != place, (home >= 0) & (place >= 0), True
        del place
    del at, home
    timed = graph.claims["has_time"].to_numpy()
    if timed.any():
        # (peer group + 1, hour) per claim; a claim without institution (-1) takes group 0.
        group = np.r_[np.asarray(inst_peers) + 1, 0].astype(np.int32)
        cell = group[graph.codes("institution")]
        cell *= 24
        # The hour: the seconds into the day (graph.day is their floor) fit 32 bits, so
        # the difference is exact in int32 arithmetic even where both terms wrap around.
        into = graph.seconds.astype(np.int32)
        into -= graph.day * np.int32(86400)
        into //= 3600
        cell += into
        del into
        prof = np.bincount(cell if timed.all() else cell[timed],
                           minlength=24 * (int(cell.max()) // 24 + 1))
        off = (prof.reshape(-1, 24) < 0.05 * prof.reshape(-1, 24).max(axis=1, keepdims=True))
        yield "after_hours", off.ravel()[cell], timed, True
        del cell
    fund = graph.claims["fund_amount"].to_numpy(dtype=float)
    share = np.divide(fund, amount, out=np.full(n, np.nan), where=amount > 0)
    del fund
    known = np.isfinite(share)
    share[~known] = 0.0
    yield "fund", np.clip(share, 0, 1, out=share), known, False
    del share, known
    for name, flag in _stay_flags(graph).items():
        yield name, flag, inpatient, True


def _doctor_days(graph) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per (institution, doctor, day): its doctor and institution, and its log claims."""
    doctor, inst = graph.codes("doctor"), graph.codes("institution")
    rows = np.flatnonzero((doctor >= 0) & (inst >= 0))
    if not len(rows):
        return {}, np.zeros(0)
    first = graph.day.min()
    days = int(graph.day.max() - first) + 1
    per_inst = graph.n("doctor") * days
    # Keys in (institution, doctor, day) order; 32 bits sort faster.
    wide = np.uint32 if graph.n("institution") * per_inst < 2**32 else np.int64
    key = np.multiply(inst[rows], per_inst, dtype=wide, casting="unsafe")
    key += np.multiply(doctor[rows], days, dtype=wide, casting="unsafe")
    np.add(key, graph.day[rows] - first, out=key, casting="unsafe")
    uniq, cnt = unique_counts(key)
    owner = {"institution": (uniq // wide(per_inst)).astype(np.intp),
             "doctor": (uniq % wide(per_inst) // wide(days)).astype(np.intp)}
    return owner, np.log(cnt)


def _per_pair(e: np.ndarray, key: np.ndarray, mask: np.ndarray | None, n: int
              ) -> tuple | None:
    """Mean log claims per (entity, key) pair (of the claims in ``mask``, else all)."""
    m = (e >= 0) & (key >= 0)
    if mask is not None:
        m &= mask
    kept = int(np.count_nonzero(m))
    if not kept:
        return None
    dense = 2 * kept > len(m)       # pair all, then drop the few (one copy, not two)
    if not dense:
        e, key = e[m], key[m]
    span = int(key.max()) + 1       # pairs in (entity, key) order; 32 bits sort faster
    wide = np.uint32 if n * span < 2**32 else np.int64
    pair = e.astype(wide)
    pair *= wide(span)
    np.add(pair, key, out=pair, casting="unsafe")
    if dense and kept < len(m):
        pair = pair[m]
    pair, cnt = unique_counts(pair)
    owner = (pair // wide(span)).astype(np.intp)
    x = np.log(cnt)
    w = np.bincount(owner, minlength=n).astype(float)
    v = np.divide(np.bincount(owner, weights=x, minlength=n), w, out=np.full(n, np.nan),
                  where=w > 0)
    return v, w, np.full(n, float(x.std()))


def _stay_flags(graph) -> dict[str, np.ndarray]:
    """Per claim (inpatient ones), whether the stay is a readmission within 30 days, a split
    stay (0-2 days, same diagnosis) or overlaps a stay elsewhere. A stay resumed after a
    settlement day (:func:`.detectors._stays.continued`) is no readmission."""
    s = stays(graph)
    flags = {k: np.zeros(len(graph), bool)
             for k in ("readmit30", "split_stays", "concurrent_stays")}
    if len(s) < 2:
        return flags
    p, h = s["patient"].to_numpy(), s["institution"].to_numpy()
    start, end = s["start"].to_numpy(), s["end"].to_numpy()
    dx, row = s["diagnosis"].to_numpy(), s["row"].to_numpy()
    o = np.lexsort((start, h, p))
    same = (p[o][1:] == p[o][:-1]) & (h[o][1:] == h[o][:-1])
    gap = start[o][1:] - end[o][:-1]
    later = row[o][1:]
    by_place = stays_by_place(graph)["row"].to_numpy()
    resumed = np.zeros(len(graph), bool)
    resumed[by_place[1:][continued(graph)]] = True
    same &= ~resumed[later]
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

    >>> robust_z(np.array([1.0, 2.0, 3.0, 9.0]), np.ones(4), np.zeros(4), np.zeros(4, int))
    array([-1.01173614, -0.33724538,  0.33724538,  4.38418994])
    """
    z = np.zeros(len(value))
    ok = np.flatnonzero((weight > 0) & (peers >= 0) & np.isfinite(value))
    if not len(ok):
        return z
    groups, group = np.unique(peers[ok], return_inverse=True)
    v, w = value[ok], weight[ok]
    m = group_medians(w, group, len(groups))
    mine = m[group]
    shrunk = (w * v + mine * group_medians(v, group, len(groups))[group]) / (w + mine)
    centre = group_medians(shrunk, group, len(groups))
    mad = 1.4826 * group_medians(np.abs(shrunk - centre[group]), group, len(groups))
    chance = group_medians(floor_sd[ok], group, len(groups)) / np.sqrt(np.maximum(m, 1.0))
    scale = np.maximum(np.maximum(mad, chance), 1e-9)
    z[ok] = (shrunk - centre[group]) / scale[group]
    return z
