"""Parquet columns of any Arrow type, read by rule into the types the row rules read.

Text (``string``, ``large_string``, dictionaries of text), numbers in amount and number
columns, and timestamps without a zone and dates in date/time columns reach the row rules
untouched (the fast path: nothing here looks at their values). Every other type is read
by the rules below or refused, never passed on to crash a kernel:

- another kind of text (``string_view``, ``binary``, ``large_binary``) is read as text; bytes
  that are not UTF-8 stop the run;
- a dictionary of other values is read as those values;
- in text columns (ids, codes, names, words), numbers read as their decimal text (a whole
  float without ``.0``; NaN is missing), dates and times as their ISO text;
- in date/time columns, a timestamp with a zone is the instant in the local zone's wall
  clock; whole numbers are ``yyyymmdd`` dates when every value of the column (of the
  batch: a million rows) has that shape (years 1900-2100), ``yyyymmddhhmmss`` local times
  when every value has that one, years when a ``birth_date``
  column holds only years 1900-2100, and otherwise instants since 1970 (UTC), their unit
  told by their magnitude (below 1e11 seconds, 1e14 milliseconds, 1e17 microseconds, else
  nanoseconds); a number that is no date (``20240230``, ``inf``) is rejected as
  unreadable, as its text would be;
- any other type (``bool``, a time of day, a duration, a list, struct or map, ...) in a
  mapped column stops the run with one line naming the column and its type.

>>> import pyarrow as pa
>>> from graphdetect.schema import Column
>>> normalise(pa.array([20240302, None]), Column("start_time", "time")).to_pylist()
[datetime.date(2024, 3, 2), None]
>>> normalise(pa.array([12.0, 1.5, None]), Column("patient_id", "id")).to_pylist()
['12', '1.5', None]
"""

from __future__ import annotations

import uuid

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import DataError
from ..messages import text as message
from ..schema import Column, Table

__all__ = ["ColumnTypeError", "check_schema", "column_error", "normalise", "refused",
           "untouched"]

_TEXT = (pa.types.is_string, pa.types.is_large_string)
_OTHER_TEXT = (pa.types.is_string_view, pa.types.is_binary, pa.types.is_large_binary,
               pa.types.is_binary_view, pa.types.is_fixed_size_binary)
_NUMBER = (pa.types.is_integer, pa.types.is_floating, pa.types.is_decimal)
_DATE = (pa.types.is_timestamp, pa.types.is_date)
#: Per column kind, the types its values may be read from besides text and null.
_READ_FROM = {"time": _NUMBER + _DATE, "amount": _NUMBER, "int": _NUMBER}
_TEXT_READ_FROM = _NUMBER + _DATE + (pa.types.is_time,)
#: Magnitudes below which an instant since 1970 is in seconds, milliseconds, microseconds.
_UNITS = ((1e11, 1), (1e14, 10**3), (1e17, 10**6))
_YEARS = (1900, 2100)


class ColumnTypeError(ValueError):
    """A column's values cannot be read (``key``: a message of ``graphdetect.messages``)."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _is(typ: pa.DataType, tests) -> bool:
    return any(test(typ) for test in tests)


def _storage(typ: pa.DataType) -> pa.DataType:
    """The type a column's values are read as: a dictionary's values, an extension's storage."""
    if pa.types.is_dictionary(typ):
        typ = typ.value_type
    return typ.storage_type if isinstance(typ, pa.BaseExtensionType) else typ


def refused(kind: str, typ: pa.DataType) -> bool:
    """Whether a column of ``kind`` (``schema.Column.kind``) cannot hold values of ``typ``."""
    if _is_uuid(typ):
        return kind in _READ_FROM
    typ = _storage(typ)
    if pa.types.is_null(typ) or _is(typ, _TEXT + _OTHER_TEXT):
        return False
    return not _is(typ, _READ_FROM.get(kind, _TEXT_READ_FROM))


def untouched(kind: str, typ: pa.DataType) -> bool:
    """Whether the row rules read a column of ``typ`` as it is (no value is looked at)."""
    if pa.types.is_null(typ) or _is(typ, _TEXT):
        return True
    if pa.types.is_dictionary(typ):
        return kind not in _READ_FROM and _is(typ.value_type, _TEXT)
    if kind == "time":
        return pa.types.is_date(typ) or (pa.types.is_timestamp(typ) and not typ.tz)
    return kind in _READ_FROM and _is(typ, _NUMBER)


def check_schema(schema: pa.Schema, mapping: dict[int, str], table: Table, file: str) -> None:
    """Refuse a file whose mapped columns have a type that cannot hold their values.

    Raises
    ------
    DataError
        Naming the column (as the file names it) and its type.
    """
    for i, name in mapping.items():
        if i < len(schema) and refused(table.column(name).kind, schema.field(i).type):
            raise column_error(file, schema.names[i], name, schema.field(i).type,
                               table.column(name).kind)


def column_error(file: str, header: str, name: str, typ: pa.DataType, kind: str,
                 key: str = "data.column_type") -> DataError:
    """The one-line error of a column whose type cannot be read (``key``: its message)."""
    column = repr(header) if header == name else f"{header!r} ({name})"
    what = kind if kind in _READ_FROM else "text"
    return DataError(file, key, column=column, type=str(typ),
                     what=lambda lang: message(f"data.column_holds.{what}", lang))


def normalise(arr: pa.Array, column: Column, time_zone: str = "Asia/Shanghai") -> pa.Array:
    """A column of a Parquet batch as the row rules read it (``column``: its
    ``schema.Column``; ``time_zone``: the local zone of instants).

    Raises
    ------
    ColumnTypeError
        When its type cannot hold the column's values, or its bytes are not UTF-8.
    """
    kind = column.kind
    if untouched(kind, arr.type):
        return arr
    if refused(kind, arr.type):
        raise ColumnTypeError("data.column_type")
    if _is_uuid(arr.type):
        return _uuid_text(arr)
    if isinstance(arr.type, pa.BaseExtensionType):
        return normalise(arr.storage, column, time_zone)
    if pa.types.is_dictionary(arr.type):
        return normalise(arr.dictionary.take(arr.indices), column, time_zone)
    if _is(arr.type, _OTHER_TEXT):
        try:
            return pc.cast(arr, pa.string())
        except pa.ArrowInvalid:
            raise ColumnTypeError("data.column_not_utf8") from None
    if kind == "time":
        return _times(arr, column.name, time_zone)
    if pa.types.is_floating(arr.type):
        return _float_text(arr)
    return pc.cast(arr, pa.string())


def _is_uuid(typ: pa.DataType) -> bool:
    if pa.types.is_dictionary(typ):
        typ = typ.value_type
    return isinstance(typ, pa.BaseExtensionType) and typ.extension_name == "arrow.uuid"


def _uuid_text(arr: pa.Array) -> pa.Array:
    """UUIDs (Parquet's UUID type) as their usual text, ``8-4-4-4-12`` hex digits."""
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary.take(arr.indices)
    return pa.array([None if b is None else str(uuid.UUID(bytes=b))
                     for b in arr.storage.to_pylist()], pa.string())


def _float_text(arr: pa.Array) -> pa.Array:
    """Floats as text: whole ones without ``.0`` (``12``), others as Arrow writes them;
    NaN is missing (pandas writes a missing id as NaN)."""
    v = arr.cast(pa.float64()).to_numpy(zero_copy_only=False)
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(v) & (np.round(v) == v) & (np.abs(v) < 2.0**63)
    out = pc.cast(arr, pa.string())
    if whole.any():
        ints = pa.array(np.where(whole, v, 0).astype(np.int64)).cast(pa.string())
        out = pc.if_else(pa.array(whole), ints, out)
    nan = np.isnan(v) & arr.is_valid().to_numpy(zero_copy_only=False)
    return pc.if_else(pa.array(nan), pa.scalar(None, pa.string()), out) if nan.any() else out


def _times(arr: pa.Array, name: str, time_zone: str) -> pa.Array:
    """A date/time column of zoned timestamps or numbers as dates or local timestamps."""
    if pa.types.is_timestamp(arr.type):  # with a zone: the same instant, local wall clock
        return pc.local_timestamp(arr.cast(pa.timestamp(arr.type.unit, time_zone)))
    valid = arr.is_valid().to_numpy(zero_copy_only=False)
    if pa.types.is_integer(arr.type):
        if pa.types.is_unsigned_integer(arr.type):  # beyond int64: no date
            limit = pa.scalar(2**63 - 1, pa.uint64())
            big = pc.greater(arr, limit).fill_null(False).to_numpy(zero_copy_only=False)
            v = pc.cast(arr, pa.int64(), safe=False).fill_null(0).to_numpy(zero_copy_only=False)
            return _whole_times(np.where(big, 0, v), valid, big, arr, name, time_zone)
        v = pc.cast(arr, pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
        return _whole_times(v, valid, np.zeros(len(v), bool), arr, name, time_zone)
    v = pc.cast(arr, pa.float64()).fill_null(0).to_numpy(zero_copy_only=False)
    valid = valid & ~np.isnan(v)  # NaN is missing, as pandas writes it
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(v) & (np.round(v) == v) & (np.abs(v) < 2.0**62)
    if whole[valid].all():
        return _whole_times(np.where(whole, v, 0).astype(np.int64), valid,
                            np.zeros(len(v), bool), arr, name, time_zone)
    with np.errstate(invalid="ignore"):
        scale = np.select([np.abs(v) < limit for limit, _ in _UNITS],
                          [unit for _, unit in _UNITS], 10**9)
        secs = np.floor(v / scale)
        bad = valid & ~(np.abs(secs) < _UNITS[0][0])
    return _instants(np.where(bad | ~valid, 0, secs).astype(np.int64), valid, bad, arr,
                     time_zone)


def _yyyymmdd(v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whole numbers as ``yyyymmdd`` days, the months they name, and whether each has
    that shape (30 February has it: its day falls in another month, and is rejected)."""
    year, rest = np.divmod(v, 10000)
    month, day = np.divmod(rest, 100)
    shaped = (year >= _YEARS[0]) & (year <= _YEARS[1]) & (month >= 1) & (month <= 12) \
        & (day >= 1) & (day <= 31)
    months = np.where(shaped, (year - 1970) * 12 + month - 1, 0).astype("datetime64[M]")
    return months.astype("datetime64[D]") + np.where(shaped, day - 1, 0), months, shaped


def _whole_times(v: np.ndarray, valid: np.ndarray, bad: np.ndarray, raw: pa.Array,
                 name: str, time_zone: str) -> pa.Array:
    """Whole numbers as ``yyyymmdd`` dates, ``yyyymmddhhmmss`` local times, years (birth
    dates) or instants since 1970."""
    present = valid & ~bad
    days, months, shaped = _yyyymmdd(v)
    if shaped[present].all() and present.any():
        bad = bad | (valid & (days.astype("datetime64[M]") != months))  # 30 February
        return _dates(days, valid, bad, raw)
    days, months, shaped = _yyyymmdd(v // 1_000_000)
    hour, rest = np.divmod(v % 1_000_000, 10000)
    minute, second = np.divmod(rest, 100)
    shaped &= (hour < 24) & (minute < 60) & (second < 60)
    if shaped[present].all() and present.any():
        bad = bad | (valid & (days.astype("datetime64[M]") != months))
        secs = days.astype(np.int64) * 86400 + hour * 3600 + minute * 60 + second
        out = pa.array(np.where(shaped, secs, 0), pa.timestamp("s"), mask=~valid | bad)
        return _unreadable_as_text(out, bad, raw)
    if name == "birth_date" and ((v >= _YEARS[0]) & (v <= _YEARS[1]))[present].all() \
            and present.any():
        days = np.where(present, v - 1970, 0).astype("datetime64[Y]").astype("datetime64[D]")
        return _dates(days, valid, bad, raw)
    scale = np.select([np.abs(v.astype(np.float64)) < limit for limit, _ in _UNITS],
                      [unit for _, unit in _UNITS], 10**9)
    return _instants(np.floor_divide(v, scale), valid, bad, raw, time_zone)


def _dates(days: np.ndarray, valid: np.ndarray, bad: np.ndarray, raw: pa.Array) -> pa.Array:
    out = pa.array(days.astype(np.int32), pa.int32(), mask=~valid | bad).cast(pa.date32())
    return _unreadable_as_text(out, bad, raw)


def _instants(secs: np.ndarray, valid: np.ndarray, bad: np.ndarray, raw: pa.Array,
              time_zone: str) -> pa.Array:
    """Seconds since 1970 (UTC) as naive timestamps of the local wall clock."""
    utc = pa.array(secs, pa.timestamp("s", "UTC"), mask=~valid | bad)
    out = pc.local_timestamp(utc.cast(pa.timestamp("s", time_zone)))
    return _unreadable_as_text(out, bad, raw)


def _unreadable_as_text(out: pa.Array, bad: np.ndarray, raw: pa.Array) -> pa.Array:
    """``out``, or, when some values are no date, the column as text: ISO dates and times,
    and the unreadable values as written, which the text rules then reject."""
    if not bad.any():
        return out
    written = _float_text(raw) if pa.types.is_floating(raw.type) else pc.cast(raw, pa.string())
    return pc.if_else(pa.array(bad), written, pc.cast(out, pa.string()))
