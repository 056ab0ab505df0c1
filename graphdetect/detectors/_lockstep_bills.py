"""Bills by visit: a lockstep group's and its place's usual ones (:mod:`._lockstep_facts`).

A visit is a card's claims at a place on one of its days, settled in one claim or in
several (registration, examinations, drugs: 分次结算), its bill their amounts added up.
A place's visits are sorted once, so each group's usual bills (the place's other
visits') need no sort of their own.
"""

from __future__ import annotations

import numpy as np

from ..graph import OUTPATIENT, PHARMACY
from ._features import amount_cv
from ._lockstep_hours import service_day

__all__ = ["usual_bills", "visit_bills"]

#: Days are counted from here in visit keys (a card's code above, its day below).
_FIRST_DAY = -(2 ** 31)


def visit_bills(graph, rows: np.ndarray, gid: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The visits of claim ``rows`` (of one place, or of groups ``gid`` at one place
    each): a card's claims on one of the place's days are one visit, settled in one
    claim or in several (registration, examinations, drugs: 分次结算). Per visit, its
    key (card and day), its bill (the claims' amounts added up) and its group; sorted by
    group, then key.

    >>> import pandas as pd
    >>> from graphdetect.graph import ClaimsGraph
    >>> t = pd.to_datetime(["2024-01-01 09:00", "2024-01-01 09:20", "2024-01-02 09:00"])
    >>> g = ClaimsGraph(pd.DataFrame({"claim_id": ["a", "b", "c"], "patient_id": "P",
    ...     "institution_id": "H", "start_time": t, "total_amount": [10.0, 80.0, 90.0],
    ...     "visit_type": "outpatient"}))
    >>> visit_bills(g, np.arange(3))[1].tolist()
    [90.0, 90.0]
    """
    key = graph.codes("card")[rows].astype(np.int64) << 32 | service_day(graph)[rows] \
        .astype(np.int64) - _FIRST_DAY
    if gid is None:   # one place: one sort of the keys
        order = np.argsort(key)   # a visit's parts in any order: its bill is their sum
        key, group = key[order], np.zeros(len(rows), np.int64)
        first = np.r_[True, key[1:] != key[:-1]] if len(key) else np.zeros(0, bool)
    else:
        order = np.lexsort((key, gid))
        key, group = key[order], gid[order]
        first = np.r_[True, (key[1:] != key[:-1]) | (group[1:] != group[:-1])] \
            if len(key) else np.zeros(0, bool)
    at = np.flatnonzero(first)
    bills = np.add.reduceat(graph.amount[rows][order], at) if len(at) else np.zeros(0)
    return key[at], bills, group[at]


def usual_bills(graph, groups, pi, walk, outpatient: list[bool]) -> list[tuple]:
    """Per group, the median, CV and robust spread (1.4826 times the median absolute
    deviation over the median; 0 when the median is not positive) of its place's other
    visits' bills (:func:`visit_bills`), outpatient ones where ``outpatient`` else
    pharmacy ones (Nones under five).
    ``pi`` is each group's place in ``walk``, the :func:`place_walk` of the places.

    Each place's bills are sorted once, so the two medians need no sort per group:
    leaving a group's bills out of a sorted array keeps it sorted, and the distances
    from the median are a falling then a rising run (:func:`_median_distance`).
    """
    walked, where = walk
    bounds = np.searchsorted(where, np.arange(int(pi.max()) + 2))
    made = {}
    out = []
    for group, p, op in zip(groups, pi.tolist(), outpatient, strict=True):
        visit = OUTPATIENT if op else PHARMACY
        if (p, visit) not in made:
            rows = walked[bounds[p]:bounds[p + 1]]
            if not np.all(rows[1:] >= rows[:-1]):
                rows = np.sort(rows)
            rows = rows[graph.visit[rows] == visit]
            keys, bills, _ = visit_bills(graph, rows)
            made[p, visit] = (keys, *_sorted_bills(bills))
        keys, bills, order, ranked = made[p, visit]
        keep = np.ones(len(keys), bool)
        if len(keys):
            mine, _, _ = visit_bills(graph, group.rows[graph.visit[group.rows] == visit])
            at = np.searchsorted(keys, mine).clip(max=len(keys) - 1)
            keep[at[keys[at] == mine]] = False
        amounts = bills[keep]
        if len(amounts) < 5:
            out.append((None, None, None))
            continue
        ranked_left = ranked[keep[order]] if order is not None else \
            _without(ranked, bills[~keep])
        n = len(ranked_left)
        mid = float((ranked_left[(n - 1) // 2] + ranked_left[n // 2]) / 2)
        spread = 0.0
        if mid > 0:
            mad = float(_median_distance(ranked_left, mid))
            spread = round(1.4826 * mad / mid, 4)
        out.append((mid, amount_cv(amounts), spread))
    return out


def _sorted_bills(bills: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Bills in row order, None (or, where they hold both a 0 and a -0, the order that
    sorts them) and the sorted bills.

    Equal bills are interchangeable, so a group's bills are taken out of the sorted ones
    by value (:func:`_without`) and a sort of the values, several times faster than an
    argsort, is enough. Only 0 and -0 are equal yet not alike: then each bill is taken
    out where the argsort put it.
    """
    zero = bills == 0
    if zero.any() and np.signbit(bills[zero]).any() and not np.signbit(bills[zero]).all():
        order = np.argsort(bills)
        return bills, order, bills[order]
    return bills, None, np.sort(bills)


def _without(ranked: np.ndarray, gone: np.ndarray) -> np.ndarray:
    """Sorted values less some of them (a multiset, each taken out once), still sorted.

    >>> _without(np.array([1.0, 2.0, 2.0, 2.0, 5.0, np.nan, np.nan]),
    ...          np.array([np.nan, 2.0, 2.0])).tolist()
    [1.0, 2.0, 5.0, nan]
    """
    gone = np.sort(gone)
    # the k-th of equal values goes k places after the first of them (the sorts and the
    # searches order NaN alike, last and equal to one another)
    nth = np.arange(len(gone)) - np.searchsorted(gone, gone)
    left = np.ones(len(ranked), bool)
    left[np.searchsorted(ranked, gone) + nth] = False
    return ranked[left]


def _median_distance(ranked: np.ndarray, mid: float) -> np.float64:
    """``np.median(np.abs(ranked - mid))`` of sorted values, without sorting the distances.

    The distances of the values below ``mid`` fall and those of the rest rise: two sorted
    runs, whose middle elements are found by bisection (the same floats a sort puts there).

    >>> x = np.array([1.0, 2.0, 2.0, 4.0, 7.0, 9.0])
    >>> float(_median_distance(x, 3.0)) == float(np.median(np.abs(x - 3.0)))
    True
    """
    gap = np.abs(ranked - mid)
    n = len(gap)
    if np.isnan(ranked[-1]) or not np.isfinite(mid):    # NaN distances: no bisection
        gap.sort()
        return (gap[(n - 1) // 2] + gap[n // 2]) / 2
    cut = int(np.searchsorted(ranked, mid))
    a, b = gap[:cut][::-1], gap[cut:]
    return (_kth(a, b, (n - 1) // 2) + _kth(a, b, n // 2)) / 2


def _kth(a: np.ndarray, b: np.ndarray, k: int) -> np.float64:
    """The ``k``-th smallest (from 0) of two sorted arrays together."""
    # the fewest taken from a such that a's next is no smaller than b's last taken
    lo, hi = max(0, k + 1 - len(b)), min(k + 1, len(a))
    while lo < hi:
        i = (lo + hi) // 2
        if a[i] < b[k - i]:
            lo = i + 1
        else:
            hi = i
    return max(a[lo - 1] if lo else -np.inf, b[k - lo] if lo <= k else -np.inf)
