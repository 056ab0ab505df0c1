"""First occurrences, membership and the median of one ring's small arrays.

A ring's stays number tens or hundreds, and the detector asks such questions of each
of thousands of pools, parts and campaigns: ``np.unique``, ``np.isin`` and
``np.median`` spend far longer on their general set-up (hashing, tables, NaN checks,
reductions along axes) than on arrays this small. These give the same answers, bit
for bit, from one sort (of a copy, in place: ``np.sort`` adds its own checks).
"""

from __future__ import annotations

import numpy as np

__all__ = ["firsts", "median", "member"]


def _starts(s: np.ndarray) -> np.ndarray:
    """Positions in the sorted ``s`` where a new value begins."""
    new = np.empty(len(s), bool)
    new[:1] = True
    np.not_equal(s[1:], s[:-1], out=new[1:])
    return new.nonzero()[0]


def firsts(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sorted distinct values of ``x`` and the position of each one's first
    occurrence (``np.unique(x, return_index=True)``).

    >>> [v.tolist() for v in firsts(np.array([3, 1, 3, 1]))]
    [[1, 3], [1, 0]]
    """
    order = np.argsort(x, kind="stable")   # stable: a value's first stay leads its run
    s = x[order]
    at = _starts(s)
    return s[at], order[at]


def member(a: np.ndarray, b) -> np.ndarray:
    """Whether each element of ``a`` is one of ``b`` (``np.isin(a, b)``).

    >>> member(np.array([3, 1, 2]), [2, 3]).tolist()
    [True, False, True]
    """
    b = np.sort(np.asarray(b))
    if not len(b):
        return np.zeros(len(a), bool)
    i = np.minimum(np.searchsorted(b, a), len(b) - 1)
    return b[i] == a


def median(x: np.ndarray) -> float:
    """``float(np.median(x))`` of a non-empty array, bit for bit: the middle value, or
    the two middle values added and halved in float64 (as ``np.median`` takes their
    mean); NaN when any value is.

    >>> median(np.array([4, 1, 2, 9])), median(np.array([0.5, 0.25, 2.0]))
    (3.0, 0.5)
    """
    s = x.copy()
    s.sort()
    if s.dtype.kind == "f" and np.isnan(s[-1]):   # the sort puts NaN last
        return float("nan")
    m = len(s) // 2
    if len(s) % 2:
        return float(s[m])
    return (float(s[m - 1]) + float(s[m])) / 2
