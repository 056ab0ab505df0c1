"""Vectorised parsers for the value kinds of the contract (see ``schema.Column.kind``).

Each parser takes an arrow array of any type and returns the typed values and a
mask of the rows whose value is present but cannot be read. Whether a readable value is
plausible (:data:`MAX_AMOUNT`, :data:`CLAIM_YEARS`) is the row rules' to say.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ParameterError
from ..schema import INSTITUTION_KINDS, OWNERSHIP, SEX, VISIT_TYPES

#: The largest amount of one settlement, yuan: ten times the dearest single treatments
#: (CAR-T therapy, transplants and long ICU stays run to one or two million yuan), so a
#: larger amount is a unit or keying error, never a bill.
MAX_AMOUNT = 10_000_000
#: The years a claim's times may fall in (inclusive); birth dates reach back further.
CLAIM_YEARS = (1950, 2100)
BIRTH_YEARS = (1900, 2100)
#: Whole numbers are held exactly up to 2**53, as float64 reads them.
_MAX_WHOLE = 2 ** 53

_NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
# An amount as settlement exports write it: a currency sign (¥ ￥ RMB CNY) before, 元
# after, thousands separated by ',' in groups of three; '.' is the decimal point.
_AMOUNT = (r"^(?:[¥￥]|(?i:rmb|cny))?\s*(?P<n>[+-]?(?:\d{1,3}(?:,\d{3})+(?:\.\d*)?"
           r"|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?))\s*元?$")
_TIME_FORMATS = (("%Y-%m-%d %H:%M:%S", True), ("%Y-%m-%d %H:%M", True), ("%Y-%m-%d", False))
# A datetime with a UTC offset or Z (after '/' and 'T' became '-' and ' '); an offset
# is at most 14 hours (UTC+14, Kiribati)
# Compact forms many settlement systems export (yyyymmdd, yyyymmdd[T]hhmm[ss], and
# yyyymmdd before a time with colons), rewritten to the forms above
_COMPACT = ((r"^(\d{4})(\d{2})(\d{2}) ?(\d{2})(\d{2})(\d{2})$", r"\1-\2-\3 \4:\5:\6"),
            (r"^(\d{4})(\d{2})(\d{2}) ?(\d{2})(\d{2})$", r"\1-\2-\3 \4:\5"),
            (r"^(\d{4})(\d{2})(\d{2})( .*)?$", r"\1-\2-\3\4"))
_ZONED = (r"^(?P<local>\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{2}(?::\d{2})?)(?:\.\d+)?"
          r"(?:(?P<z>[Zz])|(?P<sign>[+-])(?P<hh>0\d|1[0-4])(?::?(?P<mm>[0-5]\d))?)$")


def check_time_zone(zone: str, owner: str = "read_folder") -> str:
    """The IANA time zone name ``zone``, checked.

    Raises
    ------
    ParameterError
        When ``zone`` names no time zone this machine knows.

    Examples
    --------
    >>> check_time_zone("Asia/Shanghai")
    'Asia/Shanghai'
    """
    try:
        ZoneInfo(zone)
        pc.local_timestamp(pa.array([0], pa.timestamp("s", tz=zone)))
    except (ZoneInfoNotFoundError, ValueError, TypeError, pa.ArrowException):
        raise ParameterError("time_zone", owner, "an IANA time zone name such as "
                             "Asia/Shanghai", zone) from None
    return zone


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
    """Decimal yuan: numeric columns as they are, text as :data:`_AMOUNT` reads it.

    ``1234.5``, ``1,234.50``, ``¥1,234.50``, ``RMB 88``, ``120.50元`` are read;
    ``1.234,50``, ``12,5``, ``NaN`` and ``inf`` are not, nor is a value that overflows.
    Values are kept whatever their size (the row rules check the sign and the ceiling).
    """
    if pa.types.is_integer(raw.type) or pa.types.is_floating(raw.type) \
            or pa.types.is_decimal(raw.type):
        vals = pc.cast(raw, pa.float64(), safe=False)  # an integer past 2**53 rounds
        v = vals.to_numpy(zero_copy_only=False)
        bad = ~np.isfinite(v) & ~missing(vals)
        return vals, bad
    plain = pc.match_substring_regex(arr, _NUMBER).fill_null(False)
    present = ~missing(arr)
    s, ok = arr, plain
    if not np.array_equal(plain.to_numpy(zero_copy_only=False), present):
        # the few values with a currency sign or thousands separators (or unreadable)
        parts = pc.extract_regex(arr, _AMOUNT)
        number = pc.replace_substring(pc.struct_field(parts, "n"), ",", "")
        s = pc.if_else(plain, arr, number)
        ok = pc.or_(plain, pc.is_valid(parts))
    vals = pc.cast(pc.if_else(ok, s, pa.scalar(None, pa.string())), pa.float64())
    v = vals.to_numpy(zero_copy_only=False)
    return vals, present & ~np.isfinite(v)  # unread values are null (NaN); 1e999 is inf


def integer(raw: pa.Array, arr: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Whole numbers: ``3``, ``3.0``, ``1e3``; a fraction or a number beyond 2**53 is bad."""
    if pa.types.is_integer(raw.type) or pa.types.is_floating(raw.type) \
            or pa.types.is_decimal(raw.type):
        vals = pc.cast(raw, pa.float64(), safe=False)
    else:
        ok = pc.match_substring_regex(arr, _NUMBER).fill_null(False)
        vals = pc.cast(pc.if_else(ok, arr, pa.scalar(None, pa.string())), pa.float64())
    v = vals.to_numpy(zero_copy_only=False)
    with np.errstate(invalid="ignore"):  # NaN and inf are not whole, and say nothing
        whole = (np.abs(v) <= _MAX_WHOLE) & (np.round(v) == v)
    out = pa.array(np.where(whole, v, 0).astype(np.int64), mask=~whole)
    return out, ~whole & ~missing(arr)


def _reject_rolled_over(s: pa.Array, ts: pa.Array) -> pa.Array:
    """strptime rolls 2024-02-30 over to 03-01; a date must read back as written."""
    parts = pc.extract_regex(s, r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})")
    same = pc.and_(pc.equal(pc.cast(pc.struct_field(parts, "m"), pa.int64()), pc.month(ts)),
                   pc.equal(pc.cast(pc.struct_field(parts, "d"), pa.int64()), pc.day(ts)))
    return pc.if_else(same.fill_null(True), ts, pa.scalar(None, pa.timestamp("s")))


def time(raw: pa.Array, arr: pa.Array, time_zone: str = "Asia/Shanghai"
         ) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Dates and datetimes -> timestamp[s]; also says which values carried a time of day.

    Accepts ``2024-03-02``, ``2024-03-02 09:15[:00[.000]]``, ``2024-03-02T09:15:00``,
    ``2024/3/2[ 9:15]``, the compact ``20240302``, ``20240302[T]0915[07]`` and
    ``20240302 09:15[:07]``, and Parquet date or timestamp columns. A time of exactly
    midnight (``2024-03-02 00:00:00``) is taken for a date. A datetime with a UTC
    offset or ``Z`` (``2024-03-02T09:15:00+08:00``, ``+0800``, ``+08``) is converted to
    the local time of ``time_zone`` and kept without its zone. Any year is read (the row
    rules say which are plausible).
    """
    if pa.types.is_timestamp(raw.type) or pa.types.is_date(raw.type):
        ts = pc.cast(raw, pa.timestamp("s"), safe=False)
        secs = seconds(ts)
        # not midnight; numpy divides by a constant faster than it takes a remainder
        has_time = secs // 86400 * 86400 != secs if not pa.types.is_date(raw.type) \
            else np.zeros(len(raw), bool)
    else:
        s = pc.replace_substring(arr, "/", "-")
        s = pc.replace_substring_regex(s, r"[Tt]", " ")
        s = pc.replace_substring_regex(s, r"\.\d+$", "")
        ts, has_time = _read_forms(s)
        unread = missing(ts) & ~missing(arr) if ts.null_count else None
        if unread is not None and unread.any():  # compact forms, offsets, or unreadable
            ts, has_time = _compact(s, ts, has_time, np.flatnonzero(unread))
            unread = missing(ts) & ~missing(arr) if ts.null_count else None
        if unread is not None and unread.any():
            ts, has_time = _with_offsets(s, ts, has_time, np.flatnonzero(unread), time_zone)
        # a time of exactly midnight is a date written as a datetime (``2024-03-02
        # 00:00:00``), as a Parquet timestamp at midnight is
        secs = seconds(ts)
        has_time &= secs // 86400 * 86400 != secs
    bad = missing(ts) & ~missing(arr) if ts.null_count else np.zeros(len(ts), bool)
    return ts, bad, has_time


def _read_forms(s: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Text in the first of :data:`_TIME_FORMATS` that reads it, as timestamps (null where
    none does, or a date rolls over), and which carried a time of day."""
    ts = pa.nulls(len(s), pa.timestamp("s"))
    has_time = np.zeros(len(s), bool)
    for fmt, timed in _TIME_FORMATS:
        parsed = pc.strptime(s, format=fmt, unit="s", error_is_null=True)
        hit = pc.and_(pc.is_null(ts), pc.is_valid(parsed))
        ts = pc.if_else(hit, parsed, ts)
        if timed:
            has_time |= hit.to_numpy(zero_copy_only=False)
    return _reject_rolled_over(s, ts), has_time


def _compact(s: pa.Array, ts: pa.Array, has_time: np.ndarray, rows: np.ndarray
             ) -> tuple[pa.Array, np.ndarray]:
    """``ts`` and ``has_time`` with the ``rows`` of ``s`` written in a compact form
    (:data:`_COMPACT`) read; the rest of ``rows`` left missing."""
    sub = s.take(pa.array(rows))
    for pattern, replacement in _COMPACT:
        sub = pc.replace_substring_regex(sub, pattern, replacement)
    parsed, timed = _read_forms(sub)
    read = pc.is_valid(parsed).to_numpy(zero_copy_only=False)
    if not read.any():
        return ts, has_time
    secs, valid = seconds(ts).copy(), ~missing(ts)
    at = rows[read]
    secs[at] = seconds(parsed)[read]
    valid[at] = True
    has_time = has_time.copy()
    has_time[at] = timed[read]
    return pa.array(secs, pa.timestamp("s"), mask=~valid), has_time


def _with_offsets(s: pa.Array, ts: pa.Array, has_time: np.ndarray, rows: np.ndarray,
                  time_zone: str) -> tuple[pa.Array, np.ndarray]:
    """``ts`` and ``has_time`` with the ``rows`` of ``s`` that carry a UTC offset read,
    as local times of ``time_zone``."""
    sub = s.take(pa.array(rows))
    parts = pc.extract_regex(sub, _ZONED)
    local = pc.struct_field(parts, "local")
    parsed = pa.nulls(len(sub), pa.timestamp("s"))
    for fmt, _ in _TIME_FORMATS[:2]:
        parsed = pc.coalesce(parsed, pc.strptime(local, format=fmt, unit="s",
                                                 error_is_null=True))
    parsed = _reject_rolled_over(local, parsed)
    offset = pc.add(pc.multiply(_group_int(parts, "hh"), 3600),
                    pc.multiply(_group_int(parts, "mm"), 60))
    offset = pc.if_else(pc.equal(pc.struct_field(parts, "sign"), "-"), pc.negate(offset),
                        offset)
    offset = pc.if_else(pc.equal(pc.struct_field(parts, "z"), ""), offset, 0)
    utc = pc.subtract(pc.cast(parsed, pa.int64()), offset)
    wall = pc.local_timestamp(pc.cast(utc, pa.timestamp("s", tz=time_zone)))
    read = pc.and_(pc.is_valid(parts), pc.is_valid(wall)).to_numpy(zero_copy_only=False)
    secs = seconds(ts).copy()
    valid = ~missing(ts)
    at = rows[read]
    secs[at] = seconds(wall)[read]
    valid[at] = True
    has_time = has_time.copy()
    has_time[at] = True
    return pa.array(secs, pa.timestamp("s"), mask=~valid), has_time


def _group_int(parts: pa.Array, name: str) -> pa.Array:
    """A group of digits that ``extract_regex`` found, as a number (0 when it is empty)."""
    digits = pc.struct_field(parts, name)
    return pc.cast(pc.if_else(pc.equal(digits, ""), "0", digits), pa.int64())


def outside_years(ts: pa.Array, years: tuple[int, int]) -> np.ndarray:
    """Which times fall before the first or after the last of ``years`` (null: no)."""
    first = _epochseconds(date(years[0], 1, 1))
    after = _epochseconds(date(years[1] + 1, 1, 1))
    secs = seconds(ts)
    return (secs < first) | (secs >= after)


def _epochseconds(day: date) -> int:
    return (day - date(1970, 1, 1)).days * 86400


def seconds(ts: pa.Array) -> np.ndarray:
    """Seconds since 1970 of a timestamp[s] array (0 for null: a plausible time of no time
    of day)."""
    secs = ts.cast(pa.int64())
    return (secs.fill_null(0) if secs.null_count else secs).to_numpy(zero_copy_only=False)
