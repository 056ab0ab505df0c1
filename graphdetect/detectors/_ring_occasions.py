"""Admission occasions: short bursts of admissions far denser than the place's own rate.

An occasion is what a ring produces each time it brings its recruits in: several
admissions at one institution within a few days, many more than that institution usually
admits in such a span. Occasions are bounded in length (they never chain into months),
so a weekly trickle is many small occasions, each a true burst.

A burst is looked for in two streams (:func:`stream_occasions`): the institution's
admissions, and each of its doctors' there, against that doctor's usual admissions on
that day of the week (:func:`weekday_rate`: a surgeon's operating day is no burst). A
ring in one department of a county hospital that admits dozens a day is no burst in the
hospital's admissions, but its doctors' are: their own few a week become a dozen in a
morning.
"""

from __future__ import annotations

import numpy as np
from scipy.special import pdtrc  # poisson.sf, without scipy.stats' import

__all__ = ["occasions", "stream_occasions", "daily_rate", "weekday_rate"]

#: Window lengths (days) at which a burst is looked for, up to the longest occasion.
_SCALES = (1, 2, 3, 5, 7, 10, 14)
#: Burst admissions at most this many days apart at one place are one occasion.
GAP_DAYS = 2


def daily_rate(inst: np.ndarray, day: np.ndarray, count: np.ndarray, n: int) -> np.ndarray:
    """Each institution's admissions per day over the span of all its admissions.

    ``inst`` and ``day`` are the (institution, day) buckets of the admissions, sorted,
    and ``count`` their admissions (or only some of them, counted over the same span).

    >>> daily_rate(np.array([0, 0, 0, 1]), np.array([0, 4, 9, 3]), np.ones(4), 2)
    array([0.3, 1. ])
    """
    lead = np.ones(len(inst), bool)
    lead[1:] = inst[1:] != inst[:-1]
    tail = np.ones(len(inst), bool)
    tail[:-1] = lead[1:]
    span = np.ones(n, np.int64)
    span[inst[lead]] = day[tail] - day[lead] + 1
    total = np.bincount(inst, weights=count, minlength=n)
    return total / np.where(total > 0, span, 1)


def weekday_rate(inst: np.ndarray, day: np.ndarray, count: np.ndarray, n: int) -> np.ndarray:
    """Each stream's admissions per day on each day of the week (``day % 7``), over the
    span of all its admissions: an (n, 7) array. ``inst``, ``day`` and ``count`` as for
    :func:`daily_rate`.

    >>> weekday_rate(np.array([0, 0, 0]), np.array([1, 8, 10]), np.array([4, 4, 1]), 1)[0]
    array([0. , 4. , 0. , 0.5, 0. , 0. , 0. ])
    """
    lead = np.ones(len(inst), bool)
    lead[1:] = inst[1:] != inst[:-1]
    tail = np.ones(len(inst), bool)
    tail[:-1] = lead[1:]
    first, last = np.zeros(n, np.int64), np.full(n, -1, np.int64)
    first[inst[lead]], last[inst[lead]] = day[lead], day[tail]
    w = np.arange(7)
    # days of each weekday in each stream's span
    days = (last[:, None] - w) // 7 - (first[:, None] - 1 - w) // 7
    total = np.bincount(inst * 7 + day % 7, weights=count, minlength=7 * n).reshape(n, 7)
    return total / np.maximum(days, 1)


def _dense(key: np.ndarray, count: np.ndarray, inst: np.ndarray, rate: np.ndarray,
           max_span: int, ratio: float, alpha: float) -> np.ndarray:
    """Per (institution, day) bucket, whether a dense window starts or ends on it.

    ``key`` are the sorted bucket keys ``inst << 32 | day`` and ``count`` their
    admissions. A window of L days is dense when it holds at least 3 admissions, at
    least ``ratio`` times the institution's usual L-day count, with a Poisson tail
    probability of at most ``alpha``. The window is trimmed to its first and last
    bucket; every bucket inside is marked. ``rate`` is per day, or per day of the week
    (an (n, 7) array: the usual count of a window is then its days' own).
    """
    limit = alpha[inst] if np.ndim(alpha) else alpha
    day = key & 0xFFFFFFFF
    cum = np.concatenate([[0], np.cumsum(count)])
    mark = np.zeros(len(key) + 1, np.int64)
    for length in (s for s in _SCALES if s <= max_span):
        end = np.searchsorted(key, key + length, side="left")
        n = cum[end] - cum[np.arange(len(key))]
        mu = rate[inst] * length if rate.ndim == 1 else \
            sum(rate[inst, (day + j) % 7] for j in range(length))
        ok = (n >= 3) & (n >= ratio * mu) & (pdtrc(n - 1, mu) <= limit)
        i = np.flatnonzero(ok)
        np.add.at(mark, i, 1)
        np.add.at(mark, end[i], -1)
    return np.cumsum(mark[:-1]) > 0


def occasions(inst: np.ndarray, day: np.ndarray, n_inst: int, *, max_span: int,
              ratio: float, alpha: float, gap: int = GAP_DAYS, floor: float = 0.1,
              weekly: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Occasion number per admission (-1 outside any burst) and each institution's rate.

    The admissions (``inst``, ``day``) come sorted by institution, then day.

    Bursts are found against each institution's own admissions per day; the rate is then
    re-estimated without the burst admissions (at least ``floor`` times the first
    estimate, so a place admitting mostly in bursts keeps a rate) and the bursts found
    again: a hospital working several rings is judged against its ordinary admissions. Burst
    admissions at most ``gap`` days apart form one occasion, cut every ``max_span`` days
    so that no occasion is longer. With ``weekly``, the usual rate is each day of the
    week's own (:func:`weekday_rate`): a surgeon's operating day is no burst of hers; the
    rate returned is then the mean over the week.

    Examples
    --------
    >>> inst = np.zeros(12, int)
    >>> day = np.array([0, 30, 60, 100, 100, 100, 100, 107, 107, 107, 150, 200])
    >>> occ, rate = occasions(inst, day, 1, max_span=7, ratio=2.0, alpha=0.05)
    >>> occ.tolist()
    [-1, -1, -1, 0, 0, 0, 0, 1, 1, 1, -1, -1]
    """
    out = np.full(len(inst), -1, np.int64)
    if not len(inst):
        return out, np.zeros(n_inst)
    key_all = inst.astype(np.int64) << 32 | day.astype(np.int64)
    # (institution, day) buckets: runs of the sorted admissions
    new = np.ones(len(key_all), bool)
    new[1:] = key_all[1:] != key_all[:-1]
    at = np.flatnonzero(new)
    key, back = key_all[at], np.cumsum(new) - 1
    count = np.diff(at, append=len(key_all))
    b_inst = (key >> 32).astype(np.int64)
    b_day = (key & 0xFFFFFFFF).astype(np.int64)
    usual = weekday_rate if weekly else daily_rate
    rate = usual(b_inst, b_day, count, n_inst)
    burst = _dense(key, count, b_inst, rate, max_span, ratio, alpha)
    rate = np.maximum(usual(b_inst, b_day, count * ~burst, n_inst), floor * rate)
    burst = _dense(key, count, b_inst, rate, max_span, ratio, alpha)
    if weekly:
        rate = rate.mean(axis=1)
    i = np.flatnonzero(burst)
    if not len(i):
        return out, rate
    b_occ = np.full(len(key), -1, np.int64)
    b_occ[i] = _chains(b_inst[i], b_day[i], gap, max_span)
    out[:] = b_occ[back]
    return out, rate


def _chains(place: np.ndarray, day: np.ndarray, gap: int, max_span: int) -> np.ndarray:
    """Occasions of burst admissions sorted by place then day: those at most ``gap`` days
    apart at one place are one, cut every ``max_span`` days; numbered in order."""
    new = np.ones(len(place), bool)
    new[1:] = (place[1:] != place[:-1]) | (day[1:] - day[:-1] > gap)
    chain = np.cumsum(new) - 1
    start = day[np.flatnonzero(new)][chain]
    piece = (day - start) // max_span
    return np.unique(chain.astype(np.int64) << 20 | piece, return_inverse=True)[1].ravel()


def stream_occasions(inst: np.ndarray, doctor: np.ndarray, day: np.ndarray, row: np.ndarray,
                     n_inst: int, *, max_span: int, ratio: float, alpha: float
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Occasion number per admission (-1 outside any burst), each occasion's usual
    admissions per day, and whether it was found in a doctor's stream.

    The bursts of each institution's admissions come first (:func:`occasions`, numbered
    as it numbers them). An admission in none of them may be in a burst of its doctor's
    own admissions at that institution (``doctor`` -1 where unknown), each doctor's
    stream held to ``alpha`` shared among the place's doctors and judged against the
    doctor's usual admissions on each day of the week. Such admissions make
    occasions as a place's bursts do (one for all its doctors on days at most
    :data:`GAP_DAYS` apart), numbered after the institutions'; an occasion's usual rate
    is then that of its doctors together. ``row`` breaks ties of day, so the numbers do
    not depend on the admissions' order.

    Examples
    --------
    A hospital admitting thirty a day (no doctor more than one), where one doctor
    admits one patient every four weeks and six together every eight weeks: no day of the
    hospital's is a burst, but six of that doctor's days are.

    >>> ward = np.repeat(np.arange(364), 30)
    >>> ring = np.concatenate([np.arange(10, 364, 28), np.repeat(np.arange(20, 364, 56), 6)])
    >>> day = np.concatenate([ward, ring])
    >>> doctor = np.concatenate([np.arange(len(ward)) % 40 + 1, np.zeros(len(ring), int)])
    >>> occ, rate, by_doctor = stream_occasions(np.zeros(len(day), int), doctor, day,
    ...                                         np.arange(len(day)), 1,
    ...                                         max_span=7, ratio=2.0, alpha=0.05)
    >>> int((occ >= 0).sum()), int(by_doctor.sum()), len(by_doctor), round(float(rate[0]), 3)
    (42, 7, 7, 0.049)
    """
    params = {"max_span": max_span, "ratio": ratio, "alpha": alpha}
    occ = np.empty(len(inst), np.int64)
    order = np.lexsort((row, day, inst))
    occ[order], rate = occasions(inst[order], day[order], n_inst, **params)
    n = int(occ.max(initial=-1)) + 1
    place = np.zeros(n, np.int64)
    place[occ[occ >= 0]] = inst[occ >= 0]
    occ_rate, by_doctor = rate[place], np.zeros(n, bool)
    known = np.flatnonzero(doctor >= 0)
    if not len(known):
        return occ, occ_rate, by_doctor
    # one stream per (institution, doctor), its admissions by day
    pairs, stream = np.unique(inst[known].astype(np.int64) << 32 | doctor[known],
                              return_inverse=True)
    stream = stream.ravel()
    # a place's doctors are as many tests of each of its windows: each doctor's stream
    # is held to the place's chance shared among them (Bonferroni)
    doctors = np.bincount(pairs >> 32, minlength=n_inst)
    params["alpha"] = alpha / doctors[pairs >> 32]
    order = np.lexsort((row[known], day[known], stream))
    mine = np.empty(len(known), np.int64)
    mine[order], d_rate = occasions(stream[order], day[known][order], len(pairs), weekly=True,
                                    **params)
    # the admissions in their doctors' bursts but in none of their place's make the
    # place's occasions as the place's own would (one for all its doctors on those days)
    take = known[(occ[known] < 0) & (mine >= 0)]
    if not len(take):
        return occ, occ_rate, by_doctor
    stream = stream[np.searchsorted(known, take)]
    order = np.lexsort((row[take], day[take], inst[take]))
    label = np.empty(len(take), np.int64)
    label[order] = _chains(inst[take][order], day[take][order], GAP_DAYS, max_span)
    occ[take] = n + label
    # each one's usual admissions: its doctors' together
    both = np.unique(label << 32 | stream)
    extra = np.bincount(both >> 32, weights=d_rate[both & 0xFFFFFFFF])
    return (occ, np.concatenate([occ_rate, extra]),
            np.concatenate([by_doctor, np.ones(len(extra), bool)]))
