"""Array and side-table helpers the detectors share: per-graph caches, side-table columns
aligned with a graph's entities, and sort-based stand-ins for numpy's slow hash unique."""

from __future__ import annotations

import threading
import weakref

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


class _Slot:
    __slots__ = ("lock", "value", "made")

    def __init__(self):
        self.lock, self.value, self.made = threading.Lock(), None, False


def cached(graph, key, make):
    """A per-graph value, made once (side-table lookups shared by every group).

    Detectors run side by side on threads (:func:`graphdetect.run.detect_folder`): a
    thread asking for a value another is making waits for it rather than making it again.
    """
    with _LOCK:
        slot = _CACHE.setdefault(graph, {}).setdefault(key, _Slot())
    with slot.lock:
        if not slot.made:
            slot.value, slot.made = make(), True
    return slot.value


def side_column(graph, kind: str, column: str) -> pd.Series | None:
    """A side-table column aligned with ``graph.index(kind)``, in its own dtype (what
    :meth:`ClaimsGraph.attribute` gives without the conversion to objects); None when
    the table or the column is missing."""
    table = {"patient": graph.patients, "institution": graph.institutions,
             "doctor": graph.doctors}.get(kind)
    if table is None or column not in table:
        return None
    first, at = cached(graph, ("indexer", kind), lambda: _first_rows(table.index,
                                                                     graph.index(kind)))
    col = table[column].iloc[first].iloc[at.clip(min=0)]
    col.index = graph.index(kind)
    return col.where(at >= 0) if (at < 0).any() else col


def _first_rows(ids: pd.Index, wanted: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """The rows of a side table's first row per id, and per wanted id the position of
    its row among those (-1 where the table lacks it): pandas' ``duplicated`` and
    ``get_indexer``, by Arrow's hash (a million patients in a fifth of the time).

    >>> _first_rows(pd.Index(["b", "a", "b"]), pd.Index(["a", "c", "b"]))
    (array([0, 1]), array([ 1, -1,  0]))
    """
    if not (pd.api.types.is_string_dtype(ids) and pd.api.types.is_string_dtype(wanted)):
        first = ~ids.duplicated()        # ids of a hand-made frame: numbers, say
        return np.flatnonzero(first), ids[first].get_indexer(wanted)
    # one hash table for both: the table's ids, then the wanted ones, dictionary-encoded
    # as one chunked array share one dictionary, in the order values first appear
    encoded = pc.dictionary_encode(pa.chunked_array(
        [pa.array(ids, pa.large_string()), pa.array(wanted, pa.large_string())]))
    both = np.concatenate([c.indices.to_numpy() for c in encoded.chunks]
                          or [np.zeros(0, np.int64)])
    codes, at = both[:len(ids)], both[len(ids):]
    # so a row is an id's first exactly when its code is above every code before it, and
    # the k-th first row holds code k: a wanted id's code is its position among them, when
    # the table's ids gave it (codes below their number of distinct ids)
    first = np.ones(len(codes), bool)
    if len(codes):
        np.greater(codes[1:], np.maximum.accumulate(codes)[:-1], out=first[1:])
    first = np.flatnonzero(first)
    return first, np.where(at < len(first), at, -1).astype(np.intp)


def attribute_codes(graph, kind: str, column: str, prefix: int | None = None
                    ) -> np.ndarray | None:
    """A side-table column as integer codes per entity (-1 unknown), equal codes for equal
    values (on their first ``prefix`` characters when given); None when it is missing.

    >>> import pandas as pd
    >>> from graphdetect.graph import ClaimsGraph
    >>> claims = pd.DataFrame({"claim_id": ["C1", "C2", "C3"], "patient_id": ["P1", "P2", "P3"],
    ...     "institution_id": "H1", "visit_type": "outpatient", "total_amount": 1.0,
    ...     "start_time": pd.to_datetime(["2024-01-01"] * 3)})
    >>> people = pd.DataFrame({"region_code": ["3301001", "3301002", None]},
    ...                       index=["P1", "P2", "P3"])
    >>> attribute_codes(ClaimsGraph(claims, patients=people), "patient", "region_code", 4)
    array([ 0,  0, -1])
    """
    def make():
        col = side_column(graph, kind, column)
        if col is None:
            return None
        if isinstance(col.dtype, pd.CategoricalDtype):
            values = pd.Series(col.cat.categories.astype(str))
            codes = col.cat.codes.to_numpy().astype(np.int64)
        else:
            known = col.notna().to_numpy()
            values = col[known].astype(str).reset_index(drop=True)
            codes = np.full(len(col), -1, np.int64)
            codes[known] = np.arange(int(known.sum()))
        if prefix is not None:
            values = values.str[:prefix]
        merged = pd.factorize(values)[0].astype(np.int64)
        return np.where(codes >= 0, merged[codes.clip(min=0)], -1) if len(merged) else codes
    return cached(graph, ("codes", kind, column, prefix), make)


def sorted_unique(x: np.ndarray) -> np.ndarray:
    """``np.unique(x)`` by one sort (numpy's hash-based unique is many times slower on
    large integer arrays).

    >>> sorted_unique(np.array([3, 1, 3, 2])).tolist()
    [1, 2, 3]
    """
    s = np.sort(x)
    if len(s) < 2:
        return s
    keep = np.empty(len(s), bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def distinct_counts(group: np.ndarray, value: np.ndarray, n: int) -> np.ndarray:
    """Per group ``0 .. n-1``, its number of distinct values (integers), from one sort of
    the (group, value) pairs packed, in 32 bits where they fit (twice as fast as 64).

    >>> distinct_counts(np.array([2, 0, 2, 2]), np.array([5, 7, 5, -1]), 3).tolist()
    [1, 0, 2]
    """
    if not len(group):
        return np.zeros(n, np.int64)
    lo = int(value.min())
    bits = max((int(value.max()) - lo).bit_length(), 1)
    wide = max(int(n) - 1, 1).bit_length() + bits
    if wide > 62:
        order = np.lexsort((value, group))
        g, v = group[order], value[order]
        new = np.ones(len(g), bool)
        new[1:] = (g[1:] != g[:-1]) | (v[1:] != v[:-1])
        return np.bincount(g[new], minlength=n)
    dtype = np.int32 if wide <= 31 else np.int64
    key = group.astype(dtype) << bits
    key |= (value - lo).astype(dtype)
    return np.bincount(sorted_unique(key) >> bits, minlength=n)


def run_lengths(s: np.ndarray) -> np.ndarray:
    """The lengths of the runs of equal values in a sorted array.

    >>> run_lengths(np.array([1, 1, 4, 7, 7, 7])).tolist()
    [2, 1, 3]
    """
    if not len(s):
        return np.zeros(0, np.int64)
    start = np.flatnonzero(np.concatenate(([True], s[1:] != s[:-1])))
    return np.diff(np.append(start, len(s)))


def stable_order(key: np.ndarray) -> np.ndarray:
    """``np.argsort(key, kind="stable")`` for integer keys, by one sort of the key packed
    with the position (ties keep their order, so the result is the stable one).

    >>> stable_order(np.array([2, 0, 2, 1, 0])).tolist()
    [1, 4, 3, 0, 2]
    """
    n = len(key)
    if n < 2:
        return np.arange(n)
    lo = int(key.min())
    bits = (n - 1).bit_length()
    if (int(key.max()) - lo).bit_length() + bits > 62:
        return np.argsort(key, kind="stable")
    packed = np.sort((key.astype(np.int64) - lo) << bits | np.arange(n, dtype=np.int64))
    return packed & ((1 << bits) - 1)


def pair_order(major: np.ndarray, minor: np.ndarray) -> np.ndarray:
    """``np.lexsort((minor, major))`` for integers, by one sort of both packed with the
    position where they fit in 62 bits (a lexsort is several times slower).

    >>> pair_order(np.array([1, 0, 1, 0]), np.array([5, 7, 2, 7])).tolist()
    [1, 3, 2, 0]
    """
    if len(major) < 2:
        return np.arange(len(major))
    m0, t0 = int(major.min()), int(minor.min())
    bits = (int(minor.max()) - t0).bit_length()
    if bits + (int(major.max()) - m0).bit_length() + (len(major) - 1).bit_length() > 62:
        return np.lexsort((minor, major))
    key = major.astype(np.int64) - m0
    key <<= bits
    key |= minor.astype(np.int64) - t0
    return stable_order(key)


def commonest(graph, kind: str, codes: np.ndarray) -> list[tuple[str, int]]:
    """The ids among some entity codes (-1 absent) with their counts, commonest first,
    ties by id (codes follow the sorted ids).

    >>> import pandas as pd
    >>> from graphdetect.graph import ClaimsGraph
    >>> claims = pd.DataFrame({"claim_id": ["C1", "C2", "C3"], "patient_id": ["P1"] * 3,
    ...     "institution_id": ["H2", "H1", "H2"], "visit_type": "outpatient",
    ...     "total_amount": 1.0, "start_time": pd.to_datetime(["2024-01-01"] * 3)})
    >>> g = ClaimsGraph(claims)
    >>> commonest(g, "institution", g.codes("institution"))
    [('H2', 2), ('H1', 1)]
    """
    known = codes[codes >= 0]
    if not len(known):
        return []
    u, n = np.unique(known, return_counts=True)
    order = np.lexsort((u, -n))
    return [(str(graph.index(kind)[u[i]]), int(n[i])) for i in order]


def unique_counts(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(x, return_counts=True)`` by one sort (numpy's hash-based unique is many
    times slower on large integer arrays, and slow to set up on small ones).

    >>> [a.tolist() for a in unique_counts(np.array([3, 1, 3, 2]))]
    [[1, 2, 3], [1, 1, 2]]
    """
    s = np.sort(x)
    if not len(s):
        return s, np.zeros(0, np.int64)
    new = np.empty(len(s), bool)
    new[0] = True
    np.not_equal(s[1:], s[:-1], out=new[1:])
    start = np.flatnonzero(new)
    return s[start], np.diff(start, append=len(s))


def group_medians(values: np.ndarray, group: np.ndarray, n: int) -> np.ndarray:
    """Per group ``0 .. n-1``, ``np.median`` of its values, bit for bit, from one sort of
    all groups' values: the middle value, or the two middle ones added and halved in
    float64; NaN for a group without values or with a NaN among them.

    >>> group_medians(np.array([3, 1, 2, 9, 4]), np.array([0, 0, 0, 2, 2]), 3).tolist()
    [2.0, nan, 6.5]
    """
    v = _by_group_then_value(values, group, n).astype(float)
    count = np.bincount(group, minlength=n)
    end = np.cumsum(count)
    start = end - count
    out = np.full(n, np.nan)
    has = count > 0
    s, c = start[has], count[has]
    out[has] = (v[s + (c - 1) // 2] + v[s + c // 2]) / 2
    out[has] = np.where(np.isnan(v[end[has] - 1]), np.nan, out[has])   # sorts put NaN last
    return out


def _by_group_then_value(values: np.ndarray, group: np.ndarray, n: int) -> np.ndarray:
    """The values sorted by group (``0 .. n-1``), then value: what
    ``values[np.lexsort((values, group))]`` holds, several times faster.

    Integers are sorted packed with their group, where both fit in 62 bits: one sort of
    the values themselves, no argsort. Otherwise a sort of the values, then a stable one
    of their groups. That first sort need only be stable where equal values can differ
    (0 and -0): elsewhere equal values are alike, and numpy's stable sort of floats is
    several times slower than its default one.

    >>> _by_group_then_value(np.array([3, -1, 2, 9]), np.array([1, 1, 0, 1]), 2).tolist()
    [2, -1, 3, 9]
    """
    if not len(values):
        return values
    if values.dtype.kind == "i":
        lo = int(values.min())
        bits = max((int(values.max()) - lo).bit_length(), 1)
        if bits + max(int(n) - 1, 1).bit_length() <= 62:
            packed = group.astype(np.int64) << bits
            packed |= values.astype(np.int64) - lo
            packed.sort()
            packed &= (1 << bits) - 1
            packed += lo
            return packed.astype(values.dtype, copy=False)
    alike = values.dtype.kind in "iub"
    if values.dtype.kind == "f":
        negative_zero = np.signbit(values[values == 0])
        alike = negative_zero.all() or not negative_zero.any()
    order = np.argsort(values, kind="quicksort" if alike else "stable")
    return values[order[stable_order(group[order])]]


def claim_counts(graph, kind: str) -> np.ndarray:
    """Per entity of a kind, its number of claims; made once per graph.

    >>> import pandas as pd
    >>> from graphdetect.graph import ClaimsGraph
    >>> claims = pd.DataFrame({"claim_id": ["C1", "C2", "C3"], "patient_id": ["P1"] * 3,
    ...     "institution_id": ["H2", "H1", "H2"], "visit_type": "outpatient",
    ...     "total_amount": 1.0, "start_time": pd.to_datetime(["2024-01-01"] * 3)})
    >>> claim_counts(ClaimsGraph(claims), "institution").tolist()
    [1, 2]
    """
    def make():
        # Claims without one (code -1) fall in slot 0 and are dropped: no masked copy.
        return np.bincount(graph.codes(kind) + 1, minlength=graph.n(kind) + 1)[1:]
    return cached(graph, ("claim_counts", kind), make)
