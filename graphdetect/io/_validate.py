"""Row rules of the contract, applied to one batch at a time.

A batch comes out as a typed arrow table of its good rows and a list of rejects
``(record, column, reason, value)``, one per problem (a row may have several); every row
is one or the other. ``column`` is the file's own name for the column (``入院时间``); reasons
are English, the stable words of ``rejects.csv`` (``graphdetect.messages.REASONS``).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import Table
from . import _parse
from ._encode import DICTIONARY, WORD_KINDS, as_dictionary, coalesce, dictionary_columns
from ._read import Batch

_UNREADABLE = {"time": "unreadable date/time", "amount": "unreadable amount",
               "int": "unreadable number"}
IMPLAUSIBLE_AMOUNT = f"implausible amount (over {_parse.MAX_AMOUNT // 1_000_000} million yuan)"
#: The years each time column's values may fall in; the claims' own otherwise.
_YEARS = {"birth_date": _parse.BIRTH_YEARS, "birth_year": _parse.BIRTH_YEARS}


def implausible_date(years: tuple[int, int]) -> str:
    """The reason of a date outside ``years`` (first and last, inclusive)."""
    return f"implausible date (before {years[0]} or after {years[1]})"


class Checks:
    """Collects every failed rule of each row: one problem per column at most.

    A column's first failed rule is its problem (a missing value is not also unreadable);
    rules about other columns are still checked, so a row reports every bad field.
    """

    def __init__(self, n: int):
        self.n = n
        self.problems: list[tuple[np.ndarray, str, str, pa.Array | None]] = []
        self._failed: dict[str, np.ndarray] = {}

    def fail(self, mask: np.ndarray, column: str, reason: str, values: pa.Array | None) -> None:
        mask = np.asarray(mask, bool)
        before = self._failed.get(column)
        if before is not None:
            mask = mask & ~before
        if mask.any():
            self._failed[column] = mask if before is None else before | mask
            self.problems.append((mask, column, reason, values))

    @property
    def ok(self) -> np.ndarray:
        bad = np.zeros(self.n, bool)
        for failed in self._failed.values():
            bad |= failed
        return ~bad

    def rejects(self, first_record: int, names: dict[str, str]
                ) -> list[tuple[int, str, str, str]]:
        """``(record, column as the file names it, reason, value)`` per problem, by record."""
        out = []
        for mask, column, reason, vals in self.problems:
            for i in np.flatnonzero(mask):
                value = "" if vals is None else shown(vals[int(i)])
                out.append((first_record + int(i), names.get(column, column), reason,
                            "" if value is None else str(value)))
        out.sort(key=lambda r: r[0])  # stable: a row's problems stay in rule order
        return out


def shown(value: pa.Scalar):
    """A rejected value as the rejects file shows it: its Python value, or for a time
    beyond Python's years 1-9999 (a far epoch) Arrow's own text of it, or its raw count.

    >>> shown(pa.scalar(-62135625943000000, pa.timestamp("us")))
    '0000-12-31 15:54:17.000000'
    >>> shown(pa.scalar(7, pa.int64()))
    7
    """
    try:
        return value.as_py()
    except (OverflowError, ValueError):
        try:
            return pc.cast(value, pa.string()).as_py()
        except pa.ArrowException:
            return f"{value.value} ({value.type})"


def _parse_column(kind: str, raw: pa.Array, words: bool, time_zone: str):
    """Returns (typed values, bad mask, has_time or None, text used to test presence).

    ``words``: validate the column as a dictionary (see ``_encode``); ``time_zone``: the
    local zone that times with an offset are converted to.
    """
    typed_raw = not (pa.types.is_string(raw.type) or pa.types.is_large_string(raw.type)
                     or pa.types.is_null(raw.type))
    if words:
        arr = as_dictionary(raw)
    elif typed_raw and kind in ("time", "amount", "int"):
        arr = raw
    else:
        arr = _parse.text(raw)
    if kind in ("id", "text"):
        return arr, np.zeros(len(arr), bool), None, arr
    if kind == "time":
        vals, bad, has_time = _parse.time(raw, arr, time_zone)
        return vals, bad, has_time, arr
    if kind == "amount":
        vals, bad = _parse.amount(raw, arr)
        return vals, bad, None, arr
    if kind == "int":
        vals, bad = _parse.integer(raw, arr)
        return vals, bad, None, arr
    vals, bad = getattr(_parse, kind)(arr)
    return vals, bad, None, arr


def validate(batch: Batch, table: Table) -> tuple[pa.Table, list[tuple[int, str, str, str]]]:
    """Check one batch against its table; return its good rows (typed) and its rejects."""
    n = len(batch)
    checks = Checks(n)
    out: dict[str, pa.Array] = {}
    timed: dict[str, np.ndarray] = {}
    dictionaries = dictionary_columns(table)
    for col in table.columns:
        raw = batch.columns.get(col.name)
        if raw is None:
            continue
        words = col.name in dictionaries and (
            col.kind in WORD_KINDS or pa.types.is_dictionary(raw.type))
        vals, bad, has_time, shown = _parse_column(col.kind, raw, words, batch.time_zone)
        if col.required:
            checks.fail(_parse.missing(vals) & ~bad, col.name, "missing required value", None)
        checks.fail(bad, col.name, _UNREADABLE.get(col.kind, f"unknown {col.name} value"), shown)
        _value_rules(col.kind, col.name, vals, checks, shown)
        out[col.name] = vals
        if has_time is not None:
            timed[col.name] = has_time
            if col.name == "start_time":
                out["has_time"] = pa.array(has_time)
    if table.name == "claims":
        _claim_rules(out, checks, batch, timed.get("end_time"))
    ok = checks.ok
    good = pa.table(out if ok.all() else {k: pc.filter(v, pa.array(ok)) for k, v in out.items()})
    return good, checks.rejects(batch.first_record, batch.names)


def _value_rules(kind: str, name: str, vals: pa.Array, checks: Checks, shown: pa.Array) -> None:
    """The rules on one readable value: signs, bounds, plausible amounts and dates."""
    if kind == "amount":
        v = vals.to_numpy(zero_copy_only=False)
        checks.fail(v < 0, name, "negative amount", shown)  # NaN is not negative
        checks.fail(v > _parse.MAX_AMOUNT, name, IMPLAUSIBLE_AMOUNT, shown)
    if kind == "time":
        years = _YEARS.get(name, _parse.CLAIM_YEARS)
        checks.fail(_parse.outside_years(vals, years), name, implausible_date(years), shown)
    if kind == "int":
        v = pc.fill_null(vals, 0).to_numpy(zero_copy_only=False)
        if name == "level":
            checks.fail((v < 0) | (v > 3), name, "level must be 0-3", shown)
        if name in _YEARS:
            years = _YEARS[name]
            outside = ~_parse.missing(vals) & ((v < years[0]) | (v > years[1]))
            checks.fail(outside, name, implausible_date(years), shown)


def _claim_rules(out: dict[str, pa.Array], checks: Checks, batch: Batch,
                 end_has_time: np.ndarray | None) -> None:
    """The rules across a claim's columns; a discharge given as a bare date on the day of
    admission is stored as the admission time (a stay of no length on that day)."""
    n = len(batch)
    inpatient = pc.equal(out["visit_type"], 1).fill_null(False).to_numpy(zero_copy_only=False)
    end = out.get("end_time")
    if end is None:
        checks.fail(inpatient, "end_time", "inpatient claim needs an end_time", None)
        end = pa.nulls(n, pa.timestamp("s"))
    else:
        no_end = pc.is_null(end).to_numpy(zero_copy_only=False)
        checks.fail(inpatient & no_end, "end_time", "inpatient claim needs an end_time", None)
        end, before = _end_after_start(end, out["start_time"], end_has_time)
        if before.any():  # the file's text of each end_time is only needed to show it
            checks.fail(before, "end_time", "end_time precedes start_time",
                        _parse.text(batch.columns["end_time"]))
    out["end_time"] = end
    for name in ("doctor_id", "diagnosis_code", "terminal_id", "operator_id"):
        out.setdefault(name, pa.nulls(n, DICTIONARY))
    out.setdefault("fund_amount", pa.nulls(n, pa.float64()))
    card = out.get("card_id")
    out["card_id"] = out["patient_id"] if card is None else coalesce(card, out["patient_id"])


def _end_after_start(end: pa.Array, start: pa.Array, end_has_time: np.ndarray
                     ) -> tuple[pa.Array, np.ndarray]:
    """The end times, a bare end date on the start's day raised to the start; and which
    ends precede their start (a bare end date stands for the whole of its day)."""
    end_s, start_s = _parse.seconds(end), _parse.seconds(start)
    both = ~_parse.missing(end) & ~_parse.missing(start)
    bare = both & ~end_has_time
    before = both & (end_s + np.where(bare, 86399, 0) < start_s)
    raise_ = bare & ~before & (end_s < start_s)
    if raise_.any():
        end = pc.if_else(pa.array(raise_), start, end)
    return end, before
