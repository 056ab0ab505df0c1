"""Vectorised parsers for the value kinds of the contract (see ``schema.Column.kind``).

Each parser takes an arrow array of any type and returns the typed values and a
mask of the rows whose value is present but cannot be read.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import INSTITUTION_KINDS, OWNERSHIP, SEX, VISIT_TYPES

_NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
_TIME_FORMATS = (("%Y-%m-%d %H:%M:%S", True), ("%Y-%m-%d %H:%M", True), ("%Y-%m-%d", False))
_MIN_YEAR, _MAX_YEAR = 1900, 2100
_YEAR_SECONDS = 31_556_952  # 365.2425 days: a plausible time is within years 1900-2100
_EARLIEST, _LATEST = (_MIN_YEAR - 1970) * _YEAR_SECONDS, (_MAX_YEAR + 1 - 1970) * _YEAR_SECONDS


def text(arr: pa.Array) -> pa.Array:
    """Stripped strings; empty strings become null (``arr`` itself when nothing changes)."""
    if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
        arr = pc.cast(arr, pa.string())
    if _stripped(arr):
        return arr
    arr = pc.utf8_trim_whitespace(arr)
    return pc.if_else(pc.equal(pc.utf8_length(arr), 0), pa.scalar(None, pa.string()), arr)


def _stripped(arr: pa.Array) -> bool:
    """Whether no value is empty or begins or ends with a byte other than printable ASCII.

    Such values are as :func:`text` would leave them; this looks at two bytes a value
    instead of running the trim kernels over every string (ids are mostly plain ASCII).
    """
    if len(arr) == arr.null_count:
        return True
    wide = pa.types.is_large_string(arr.type)
    offsets = np.frombuffer(arr.buffers()[1], np.int64 if wide else np.int32, len(arr) + 1,
                            arr.offset * (8 if wide else 4))
    data = np.frombuffer(arr.buffers()[2], np.uint8)
    if arr.null_count:
        valid = arr.is_valid().to_numpy(zero_copy_only=False)
        starts, ends = offsets[:-1][valid], offsets[1:][valid]
    else:
        starts, ends = offsets[:-1], offsets[1:]
        width = int(ends[0] - starts[0])
        if width and not (np.diff(offsets) != width).any():
            # values of one width (ids): their first and last bytes are strided views,
            # no gather by offsets
            rows = data[int(starts[0]):int(ends[-1])]
            return _printable(rows[::width]) and _printable(rows[width - 1::width])
    if (ends <= starts).any():
        return False
    return _printable(data[starts]) and _printable(data[ends - 1])


def _printable(first_or_last: np.ndarray) -> bool:
    return bool(((first_or_last - 0x21) < 0x5E).all())


def missing(arr: pa.Array) -> np.ndarray:
    if not arr.null_count:
        return np.zeros(len(arr), bool)
    return pc.is_null(arr).to_numpy(zero_copy_only=False)


def words(arr: pa.Array, table: dict[str, str],
          values: tuple[str, ...]) -> tuple[pa.Array, np.ndarray]:
    """Map words (any case) to codes 0..len(values)-1; unknown words are bad, null stays null.

    A dictionary array is looked up once per distinct word.
    """
    keys = list(table)
    codes = np.array([values.index(table[k]) for k in keys] + [-1], dtype=np.int8)
    distinct = arr.dictionary if pa.types.is_dictionary(arr.type) else arr
    idx = pc.index_in(pc.utf8_lower(distinct), value_set=pa.array([k.lower() for k in keys]))
    idx_np = idx.fill_null(len(keys)).to_numpy(zero_copy_only=False)
    out = codes[idx_np]
    if distinct is not arr:
        out = np.append(out, np.int8(-1))[arr.indices.fill_null(-1).to_numpy(zero_copy_only=False)]
    bad = (out < 0) & ~missing(arr)
    return pa.array(out, mask=out < 0), bad


def visit_type(arr):
    return words(arr, VISIT_TYPES, ("outpatient", "inpatient", "pharmacy"))


def sex(arr):
    return words(arr, SEX, ("M", "F"))


def institution_kind(arr):
    return words(arr, INSTITUTION_KINDS,
                 ("hospital", "health_center", "village_clinic", "clinic", "pharmacy"))


def ownership(arr):
    return words(arr, OWNERSHIP, ("public", "private"))


def amount(raw: pa.Array, arr: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Decimal yuan: numeric columns as they are; strings may carry ',' '¥' '元'."""
    if pa.types.is_integer(raw.type) or pa.types.is_floating(raw.type) \
            or pa.types.is_decimal(raw.type):
        vals = pc.cast(raw, pa.float64())
        v = vals.to_numpy(zero_copy_only=False)
        bad = ~np.isfinite(v) & ~missing(vals)
        return vals, bad
    s = pc.replace_substring_regex(arr, r"[,¥￥元\s]", "")
    ok = pc.match_substring_regex(s, _NUMBER).fill_null(False)
    vals = pc.cast(pc.if_else(ok, s, pa.scalar(None, pa.string())), pa.float64())
    bad = ~ok.to_numpy(zero_copy_only=False) & ~missing(arr)
    v = vals.to_numpy(zero_copy_only=False)
    bad |= ~np.isfinite(np.where(np.isnan(v), 0.0, v))
    return vals, bad


def integer(raw: pa.Array, arr: pa.Array) -> tuple[pa.Array, np.ndarray]:
    vals, bad = amount(raw, arr)
    v = vals.to_numpy(zero_copy_only=False)
    frac = ~np.isnan(v) & (np.round(v) != v)
    out = pa.array(np.where(np.isnan(v) | frac, 0, v).astype(np.int64), mask=np.isnan(v) | frac)
    return out, bad | frac


def _reject_rolled_over(s: pa.Array, ts: pa.Array) -> pa.Array:
    """strptime rolls 2024-02-30 over to 03-01; a date must read back as written."""
    parts = pc.extract_regex(s, r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})")
    same = pc.and_(pc.equal(pc.cast(pc.struct_field(parts, "m"), pa.int64()), pc.month(ts)),
                   pc.equal(pc.cast(pc.struct_field(parts, "d"), pa.int64()), pc.day(ts)))
    return pc.if_else(same.fill_null(True), ts, pa.scalar(None, pa.timestamp("s")))


def time(raw: pa.Array, arr: pa.Array) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Dates and datetimes -> timestamp[s]; also says which values carried a time of day.

    Accepts ``2024-03-02``, ``2024-03-02 09:15[:00[.000]]``, ``2024-03-02T09:15:00``
    and ``2024/3/2[ 9:15]``, and Parquet date or timestamp columns.
    """
    if pa.types.is_timestamp(raw.type) or pa.types.is_date(raw.type):
        ts = pc.cast(raw, pa.timestamp("s"), safe=False)
        secs = _seconds(ts)
        # not midnight; numpy divides by a constant faster than it takes a remainder
        has_time = secs // 86400 * 86400 != secs if not pa.types.is_date(raw.type) \
            else np.zeros(len(raw), bool)
    else:
        s = pc.replace_substring(arr, "/", "-")
        s = pc.replace_substring_regex(s, r"[Tt]", " ")
        s = pc.replace_substring_regex(s, r"\.\d+$", "")
        ts = pa.nulls(len(s), pa.timestamp("s"))
        has_time = np.zeros(len(s), bool)
        for fmt, timed in _TIME_FORMATS:
            parsed = pc.strptime(s, format=fmt, unit="s", error_is_null=True)
            hit = pc.and_(pc.is_null(ts), pc.is_valid(parsed))
            ts = pc.if_else(hit, parsed, ts)
            if timed:
                has_time |= hit.to_numpy(zero_copy_only=False)
        ts = _reject_rolled_over(s, ts)
        secs = _seconds(ts)
    implausible = (secs < _EARLIEST) | (secs > _LATEST)
    bad = implausible if not ts.null_count else (missing(ts) & ~missing(arr)) | implausible
    if implausible.any():
        ts = pc.if_else(pa.array(implausible), pa.scalar(None, pa.timestamp("s")), ts)
    return ts, bad, has_time


def _seconds(ts: pa.Array) -> np.ndarray:
    """Seconds since 1970 (0 for null: a plausible time of no time of day)."""
    secs = ts.cast(pa.int64())
    return (secs.fill_null(0) if secs.null_count else secs).to_numpy(zero_copy_only=False)
