"""Admission occasions: short bursts of admissions far denser than the place's own rate.

An occasion is what a ring produces each time it brings its recruits in: several
admissions at one institution within a few days, many more than that institution usually
admits in such a span. Occasions are bounded in length (they never chain into months),
so a weekly trickle is many small occasions, each a true burst.
"""

from __future__ import annotations

import numpy as np
from scipy.special import pdtrc  # poisson.sf, without scipy.stats' import

__all__ = ["occasions", "daily_rate"]

#: Window lengths (days) at which a burst is looked for, up to the longest occasion.
_SCALES = (1, 2, 3, 5, 7, 10, 14)


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


def _dense(key: np.ndarray, count: np.ndarray, inst: np.ndarray, rate: np.ndarray,
           max_span: int, ratio: float, alpha: float) -> np.ndarray:
    """Per (institution, day) bucket, whether a dense window starts or ends on it.

    ``key`` are the sorted bucket keys ``inst << 32 | day`` and ``count`` their
    admissions. A window of L days is dense when it holds at least 3 admissions, at
    least ``ratio`` times the institution's usual L-day count, with a Poisson tail
    probability of at most ``alpha``. The window is trimmed to its first and last
    bucket; every bucket inside is marked.
    """
    cum = np.concatenate([[0], np.cumsum(count)])
    mark = np.zeros(len(key) + 1, np.int64)
    for length in (s for s in _SCALES if s <= max_span):
        end = np.searchsorted(key, key + length, side="left")
        n = cum[end] - cum[np.arange(len(key))]
        mu = rate[inst] * length
        ok = (n >= 3) & (n >= ratio * mu) & (pdtrc(n - 1, mu) <= alpha)
        i = np.flatnonzero(ok)
        np.add.at(mark, i, 1)
        np.add.at(mark, end[i], -1)
    return np.cumsum(mark[:-1]) > 0


def occasions(inst: np.ndarray, day: np.ndarray, n_inst: int, *, max_span: int,
              ratio: float, alpha: float, gap: int = 2, floor: float = 0.1
              ) -> tuple[np.ndarray, np.ndarray]:
    """Occasion number per admission (-1 outside any burst) and each institution's rate.

    The admissions (``inst``, ``day``) come sorted by institution, then day.

    Bursts are found against each institution's own admissions per day; the rate is then
    re-estimated without the burst admissions (at least ``floor`` times the first
    estimate, so a place admitting mostly in bursts keeps a rate) and the bursts found
    again: a hospital working several rings is judged against its ordinary admissions. Burst
    admissions at most ``gap`` days apart form one occasion, cut every ``max_span`` days
    so that no occasion is longer.

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
    rate = daily_rate(b_inst, b_day, count, n_inst)
    burst = _dense(key, count, b_inst, rate, max_span, ratio, alpha)
    rate = np.maximum(daily_rate(b_inst, b_day, count * ~burst, n_inst), floor * rate)
    burst = _dense(key, count, b_inst, rate, max_span, ratio, alpha)
    i = np.flatnonzero(burst)
    if not len(i):
        return out, rate
    bi, bd = b_inst[i], b_day[i]
    new = np.ones(len(i), bool)
    new[1:] = (bi[1:] != bi[:-1]) | (bd[1:] - bd[:-1] > gap)
    chain = np.cumsum(new) - 1
    start = bd[np.flatnonzero(new)][chain]
    piece = (bd - start) // max_span
    label = np.unique(chain.astype(np.int64) << 20 | piece, return_inverse=True)[1]
    b_occ = np.full(len(key), -1, np.int64)
    b_occ[i] = label
    out[:] = b_occ[back]
    return out, rate
