"""Campaigns: one ring working several small sub-pools in turn at the same place.

A weekly trickle often rotates its recruits: each can be admitted only every few weeks,
so the same doctor brings in one small group this week and another the next. The
groups share few patients or none, so the pool search sees several small pools;
what ties them is the operation itself: one host, one doctor, interleaved occasions
forming a stream far denser than any one group's.
"""

from __future__ import annotations

import numpy as np

from ._arrays import group_medians, sorted_unique, unique_counts
from ._ring_groups import at_level, log_bills
from ._ring_sets import firsts, median, member
from ._stays import components

__all__ = ["HostDays", "StayIndex", "alike", "campaigns", "extend_stream", "outline",
           "summaries"]


class StayIndex:
    """The stays holding given values of one column, found by binary search.

    >>> ix = StayIndex(np.array([3, 1, 3, 2, 1]))
    >>> [x.tolist() for x in ix.runs(np.array([1, 3, 1]))]
    [[1, 4, 0, 2, 1, 4], [2, 2, 2]]
    """

    def __init__(self, values: np.ndarray):
        self.order = np.argsort(values, kind="stable")
        self.sorted = values[self.order]

    def runs(self, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions of the stays holding each value of ``wanted`` (values may repeat),
        one run per value in the order of ``wanted``, each in stay order; and the length
        of each run."""
        lo = np.searchsorted(self.sorted, wanted)
        n = np.searchsorted(self.sorted, wanted, side="right") - lo
        return self.order[np.repeat(lo - np.cumsum(n) + n, n) + np.arange(int(n.sum()))], n


class HostDays:
    """The stays at one institution admitted within some days, found by binary search
    over the stays sorted by institution and admission day (so that a stream's search
    costs the stays of its period, not all of its host's).

    >>> ix = HostDays(np.array([1, 0, 1, 1]), np.array([9, 5, 2, 5]))
    >>> ix.rows(1, 2, 5).tolist()
    [2, 3]
    """

    def __init__(self, institution: np.ndarray, start: np.ndarray):
        self.order = np.lexsort((start, institution))
        self.key = institution[self.order].astype(np.int64) << 32 | start[self.order]

    def rows(self, host: int, lo: int, hi: int) -> np.ndarray:
        """Positions, in stay order, of the stays at ``host`` admitted on days ``lo`` to
        ``hi``."""
        base = int(host) << 32
        a = np.searchsorted(self.key, base | max(int(lo), 0), "left")
        b = np.searchsorted(self.key, base | int(hi), "right")
        return np.sort(self.order[a:b])


def outline(part: dict) -> dict:
    """A part's host (the institution of most of its stays; the lowest code among
    equals), its doctors (each on 15% of its stays or more) and its period (first and
    last admission day)."""
    inst, cnt = unique_counts(part["institution"])
    docs, dcnt = unique_counts(part["doctor"][part["doctor"] >= 0])
    return {"host": int(inst[np.argmax(cnt)]),
            "doctors": set(docs[dcnt >= 0.15 * len(part["doctor"])].tolist()),
            "first": int(part["start"].min()), "last": int(part["start"].max())}


def summaries(parts: list[dict], st: dict | None = None, index: StayIndex | None = None,
              amount: np.ndarray | None = None) -> list[dict]:
    """Per part: its :func:`outline`, number of stays, occasion days and the admissions per
    occasion (the median; all admissions under the part's doctors when ``st``, the
    stays the parts were drawn from, is given, else the part's own patients; ``index``
    finds the stays of ``st`` by occasion) and its own patients per occasion (the
    median, ``own_size``); the diagnosis groups on 15% of its stays
    or more; with ``amount`` (per claim row), the median log bill and its spread.
    Worked out for all parts at once, a part told apart by its number."""
    n = len(parts)
    if not n:
        return []
    length = np.array([len(p["occasion"]) for p in parts], np.int64)
    pid = np.repeat(np.arange(n, dtype=np.int64), length)
    col = {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}
    start = col["start"]
    # the host: the commonest institution, the lowest code among equals
    key, cnt = unique_counts(pid << 32 | col["institution"])
    key = key[np.lexsort((key, -cnt, key >> 32))]
    host = key[firsts(key >> 32)[1]] & 0xFFFFFFFF
    docs = _common(pid, col["doctor"], 0.15 * length)
    dx = _common(pid, col["diagnosis"], 0.15 * length) if "diagnosis" in col else \
        np.empty(0, np.int64)
    # the parts' occasions (pid << 32 | occasion, sorted) and the day each first appears
    pairs, first = firsts(pid << 32 | col["occasion"])
    days = sorted_unique(pid[first] << 32 | start[first])
    ppid = pairs >> 32
    if st is not None:
        rows, per = (index or StayIndex(st["occasion"])).runs(pairs & 0xFFFFFFFF)
        pair = np.repeat(np.arange(len(pairs)), per)
        no_docs = np.bincount(docs >> 32, minlength=n) == 0
        mine = member(ppid[pair] << 32 | st["doctor"][rows], docs) | no_docs[ppid[pair]]
        size = np.bincount(pair[mine], minlength=len(pairs))
        # as np.bincount of a part's occasion numbers: none after its last with any
        last = np.full(n, -1)
        np.maximum.at(last, ppid[size > 0], np.flatnonzero(size > 0))
        held = np.arange(len(pairs)) <= last[ppid]
    at = np.searchsorted(pairs, pid << 32 | col["occasion"])
    own = group_medians(np.bincount(sorted_unique(at.astype(np.int64) << 32 | col["patient"])
                                    >> 32, minlength=len(pairs)), ppid, n)
    size = group_medians(size[held], ppid[held], n) if st is not None else own
    bill = {}
    if amount is not None:
        x = log_bills(amount[col["row"]])
        mid = group_medians(x, pid, n)
        bill = {"bill": mid, "bill_spread": 1.4826 * group_medians(np.abs(x - mid[pid]), pid, n)}
    cut = {"days": np.searchsorted(days >> 32, np.arange(n + 1)),
           "docs": np.searchsorted(docs >> 32, np.arange(n + 1)),
           "dx": np.searchsorted(dx >> 32, np.arange(n + 1))}
    bound = np.concatenate([[0], np.cumsum(length)])
    lo_day, hi_day = np.minimum.reduceat(start, bound[:-1]), np.maximum.reduceat(start, bound[:-1])
    mask = 0xFFFFFFFF
    out = []
    for i in range(n):
        info = {"host": int(host[i]),
                "doctors": set((docs[cut["docs"][i]:cut["docs"][i + 1]] & mask).tolist()),
                "first": int(lo_day[i]), "last": int(hi_day[i]),
                "diagnoses": set((dx[cut["dx"][i]:cut["dx"][i + 1]] & mask).tolist()),
                "days": days[cut["days"][i]:cut["days"][i + 1]] & mask,
                "size": float(size[i]), "own_size": float(own[i]), "stays": int(length[i])}
        out.append({**info, **{k: float(v[i]) for k, v in bill.items()}})
    return out


def _common(pid: np.ndarray, codes: np.ndarray, least: np.ndarray) -> np.ndarray:
    """The known codes (``pid << 32 | code``, sorted) on at least ``least[pid]`` of each
    part's stays."""
    known = codes >= 0
    key, cnt = unique_counts(pid[known] << 32 | codes[known])
    return key[cnt >= least[key >> 32]]


def campaigns(parts: list[dict], st: dict | None = None, *, stream_gap: int,
              index: StayIndex | None = None,
              amount: np.ndarray | None = None) -> list[list[int]]:
    """Groups of part numbers that are one campaign; every part is in exactly one group.

    Parts (evidence stays of pools) may be one campaign when they have the same host,
    a doctor in common and bills at one level (without doctor ids: a diagnosis group in
    common, when known, and bills at one level; :func:`alike`, with ``amount`` the bill
    per claim row), their periods overlap by half the shorter one or more, and their
    occasions hold similar numbers of admissions under their doctors (``st``, the stays
    the parts were drawn from, ``index`` finding them by occasion) or of their own
    patients (either within a factor of 1.5; on a few occasions either may be thrown by
    a busy day or by a ring's occasion split between parts): small sub-pools worked in
    turn, or parts of one sparse pool the pool search split. Such parts, linked, are one
    campaign when all their occasions together form a stream: a median and a mean gap of
    at most ``stream_gap`` days (rings admitting monthly or less often do not, however
    many work one hospital); when they do not, the part with the longest period is left
    out (a pool that also holds occasions of other times) until the rest do or one is
    left.

    >>> a = {"institution": np.zeros(3, int), "doctor": np.zeros(3, int),
    ...      "occasion": np.array([0, 2, 4]), "patient": np.array([1, 2, 3]),
    ...      "start": np.array([0, 14, 28])}
    >>> b = dict(a, occasion=np.array([1, 3, 5]), patient=np.array([4, 5, 6]),
    ...          start=np.array([7, 21, 35]))
    >>> campaigns([a, b], stream_gap=14)
    [[0, 1]]
    """
    info = summaries(parts, st, index, amount)
    a, b = [], []
    hosts = np.array([x["host"] for x in info], np.int64)
    for i, j in _same_host(hosts):
        x, y = info[i], info[j]
        if not alike(x, y) or not (_near(x["size"], y["size"])
                                   or _near(x["own_size"], y["own_size"])):
            continue
        overlap = min(x["last"], y["last"]) - max(x["first"], y["first"])
        if overlap >= 0.5 * min(x["last"] - x["first"], y["last"] - y["first"]):
            a.append(i)
            b.append(j)
    label = components(len(parts), np.asarray(a, int), np.asarray(b, int))
    out = []
    for g in np.unique(label):
        group = np.flatnonzero(label == g).tolist()
        # a part whose period runs far beyond the others' (a pool that also holds
        # occasions of other times) is left out, the longest first, until the rest
        # form a stream
        while len(group) > 1 and _stream(sorted_unique(np.concatenate(
                [info[i]["days"] for i in group]))) > stream_gap:
            worst = max(group, key=lambda i: (info[i]["last"] - info[i]["first"], i))
            group.remove(worst)
            out.append([worst])
        out.extend([group] if len(group) > 1 else [[i] for i in group])
    return sorted(out)


def _near(a: float, b: float) -> bool:
    """Whether two sizes are within a factor of 1.5 of each other."""
    return max(a, b) <= 1.5 * min(a, b)


def alike(x: dict, y: dict) -> bool:
    """Whether two parts' summaries (:func:`summaries`) could be one operation's: a doctor
    in common, and one level of bills when both have bills (their median log bills
    within four times the larger spread: one host's rings under the same doctor, each
    billing its own amount, are not one operation however their occasions interleave).
    Where neither names a doctor: a diagnosis group in common (when both know one), and
    bills at one level within sampling noise, the medians no further apart than three
    standard errors of their difference (a median's is about 1.2533 spread / sqrt(stays),
    each spread at least 1%): with no doctor to tie them, a second ring's level nearby
    is not the same level.

    >>> x = {"doctors": set(), "diagnoses": {6}, "bill": 8.51, "bill_spread": 0.08,
    ...      "stays": 52}
    >>> alike(x, dict(x, bill=8.48, bill_spread=0.07, stays=24))
    True
    >>> alike(x, dict(x, bill=8.75, stays=400)), alike(x, dict(x, diagnoses={7}))
    (False, False)
    >>> d = dict(x, doctors={3})
    >>> alike(d, dict(d, bill=8.75, stays=400)), alike(d, dict(d, bill=9.3))
    (True, False)
    """
    bills = "bill" in x and "bill" in y
    gap = abs(x["bill"] - y["bill"]) if bills else 0.0
    if x["doctors"] or y["doctors"]:
        return bool(x["doctors"] & y["doctors"]) and (not bills or bool(at_level(
            x["bill"], y["bill"], max(x["bill_spread"], y["bill_spread"]))))
    if x["diagnoses"] and y["diagnoses"] and not x["diagnoses"] & y["diagnoses"]:
        return False
    return bills and bool(gap <= 3 * 1.2533 * np.hypot(
        max(x["bill_spread"], 0.01) / np.sqrt(x["stays"]),
        max(y["bill_spread"], 0.01) / np.sqrt(y["stays"])))


def _same_host(hosts: np.ndarray):
    """Pairs (i, j), i < j, of parts with the same host."""
    order = np.argsort(hosts, kind="stable")
    cut = np.flatnonzero(np.diff(hosts[order])) + 1
    for group in np.split(order, cut):
        for x in range(len(group)):
            for y in range(x + 1, len(group)):
                yield int(group[x]), int(group[y])


def _stream(days: np.ndarray) -> float:
    """The larger of the median and the mean gap between consecutive occasion days."""
    return max(_gap(days, median), _gap(days, np.mean))


def _gap(days: np.ndarray, how) -> float:
    """The median or mean of the days between consecutive occasions."""
    return float(how(np.diff(days))) if len(days) > 1 else float("inf")


def extend_stream(sub: dict, st: dict, free: np.ndarray, *, stream_gap: int,
                  index: HostDays | None = None, amount: np.ndarray | None = None) -> dict:
    """A pool's evidence with the other bursts of its stream added.

    The other bursts at the host of ``sub`` (a pool's evidence stays), within its period
    (give or take ``stream_gap``), with two or more admissions under its doctors on
    nodes no pool holds (``free`` per stay of ``st``), as many as the pool brings per
    occasion (within a factor of 1.5), are added when, with the pool's
    own occasions, they form a stream (median and mean gap of at most ``stream_gap``
    days): a weekly trickle whose recruits mostly come once, of whom only a few come
    back often enough to form a pool. Otherwise ``sub`` is returned as it is.
    ``index`` finds the stays of ``st`` by institution and day.

    With ``amount`` (per claim row), the admissions at the pool's bill level (log bill
    within four spreads of its median) with one of its diagnosis groups (when it knows
    any) count beside those under its doctors, whoever admitted them: a ring whose
    occasions two doctors share falls into one-doctor pools, each doctor's stream missing
    weeks, and each pool grows into the ring's whole stream. A pool naming no doctor (the
    data has no doctor ids) counts only those; without ``amount`` it is returned as it is.
    """
    info = outline(sub)
    if not info["doctors"] and amount is None:
        return sub
    lo, hi = info["first"] - stream_gap, info["last"] + stream_gap
    if index is not None:
        at = index.rows(info["host"], lo, hi)
    else:
        at = np.flatnonzero((st["institution"] == info["host"]) & (st["start"] >= lo)
                            & (st["start"] <= hi))
    # filtered step by step, each test on what the cheaper ones before it left
    at = at[free[at]]
    mine = member(st["doctor"][at], list(info["doctors"]))
    if mine.any() and "diagnosis" in sub:   # under its doctors with its diagnoses
        codes = sub["diagnosis"]
        u, n = unique_counts(codes[codes >= 0])
        usual = u[n >= 0.15 * len(codes)]
        if len(usual):
            dx = st["diagnosis"][at]
            mine &= (dx < 0) | member(dx, usual)
    whole = None    # the rest of the pool's summary, made at most once
    if amount is not None and len(at):
        whole = summaries([sub], amount=amount)[0]
        mine |= _like(whole, st, at, amount)
    at = at[mine]
    at = at[~member(st["occasion"][at], sub["occasion"]) & ~member(st["row"][at], sub["row"])]
    occ, cnt = unique_counts(st["occasion"][at])
    two = cnt >= 2
    if not two.any():   # most pools: nothing to add, and no need of the rest of the summary
        return sub
    info = whole or summaries([sub])[0]
    occ, cnt = occ[two], cnt[two]
    occ = occ[(cnt <= 1.5 * info["size"]) & (info["size"] <= 1.5 * cnt)]
    if not len(occ):
        return sub
    add = at[member(st["occasion"][at], occ)]
    # each added occasion's first day: the stays sorted by occasion and day
    order = np.lexsort((st["start"][add], st["occasion"][add]))
    first = st["start"][add][order][np.searchsorted(st["occasion"][add][order], occ)]
    days = sorted_unique(np.concatenate([info["days"], first]))
    if _stream(days) > stream_gap:
        return sub
    return {c: np.concatenate([sub[c], st[c][add]]) for c in sub}


def _like(info: dict, st: dict, at: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """Whether each stay ``at`` of ``st`` bills at the level of a part (``info``, its
    :func:`summaries` with bills: log bill within four spreads of its median, the spread
    at least 1%) with one of the part's diagnosis groups, when it knows any."""
    ok = at_level(log_bills(amount[st["row"][at]]), info["bill"], info["bill_spread"])
    if info["diagnoses"] and "diagnosis" in st:
        ok &= member(st["diagnosis"][at], list(info["diagnoses"]))
    return ok
