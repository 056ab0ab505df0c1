"""Read a data folder (see ``contract.md``) into typed tables, rejecting bad rows with reasons.

A table is one file or a folder of files (``claims/2024-01.csv``, ``claims/2024-02.parquet``,
a partitioned Parquet dataset); each file is mapped to the contract on its own and every
row goes through the same rules, whichever file holds it. A repeated key is found across
the files of a table as within one file: the first row in path order is kept.

>>> from graphdetect.io import read_folder
>>> data = read_folder("datasets/sample")
>>> data.claims.columns[:3].tolist()
['claim_id', 'patient_id', 'institution_id']
>>> data.rows_read == len(data.claims) + data.rows_rejected + sum(
...     len(t) for t in (data.patients, data.institutions, data.doctors))
True
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._progress import progress_bar
from ..errors import DataError
from ..schema import TABLES, VISIT_CODES, Table
from ._encode import CATEGORICAL, FOLLOWS, Lead, common_types, led_categorical
from ._files import parse_window, table_files
from ._parse import check_time_zone
from ._read import (
    DEFAULT_TIME_ZONE,
    Source,
    file_lines,
    iter_batches,
    open_source,
    read_ahead,
    record_to_line,
    sha256_file,
)
from ._validate import validate

__all__ = ["ClaimsData", "read_folder", "REJECT_COLUMNS", "open_source", "iter_batches",
           "sha256_file", "parse_window", "DEFAULT_TIME_ZONE", "check_time_zone"]

REJECT_COLUMNS = ["file", "line", "column", "reason", "value", "row"]
_WORDS = {
    "visit_type": VISIT_CODES, "sex": ("M", "F"), "ownership": ("public", "private"),
    "kind": ("hospital", "health_center", "village_clinic", "clinic", "pharmacy"),
}


@dataclass
class ClaimsData:
    """The typed tables of one data folder.

    Attributes
    ----------
    claims : pandas.DataFrame
        One row per accepted claim, each claim id once (a repeated one is rejected); id
        columns are categoricals (sorted categories), times are ``datetime64[s]``,
        ``has_time`` says whether start_time had a time of day.
    patients, institutions, doctors, regions : pandas.DataFrame or None
        The optional tables, when the folder has them.
    rejects : pandas.DataFrame
        Columns ``file, line, column, reason, value, row``, one row per problem (a rejected
        row with two bad fields has two, with the same line); ``file`` is the path relative
        to the data folder (``claims.csv``, ``claims/2024-02.csv``), ``column`` the file's
        own header (``入院时间``), ``reason`` English (``graphdetect.messages.REASONS``).
    files : dict
        Per input file, by that relative path: table, path, format, encoding, sha256, rows
        read, accepted, rejected, outside_window; and unclosed_quote (``{"line", "lines"}``)
        for a CSV file whose last record is inside a quote never closed.
    since, until : datetime.date or None
        The window of days the claims were taken from (inclusive; None when open).
    time_zone : str
        The local time zone that times written with a UTC offset were converted to.
    """

    claims: pd.DataFrame
    patients: pd.DataFrame | None = None
    institutions: pd.DataFrame | None = None
    doctors: pd.DataFrame | None = None
    regions: pd.DataFrame | None = None
    rejects: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REJECT_COLUMNS))
    files: dict = field(default_factory=dict)
    since: date | None = None
    until: date | None = None
    time_zone: str = DEFAULT_TIME_ZONE

    @property
    def rows_read(self) -> int:
        return sum(f["rows_read"] for f in self.files.values())

    @property
    def outside_window(self) -> int:
        """Claims read and valid but left out because their day lies outside the window."""
        return sum(f.get("outside_window", 0) for f in self.files.values())

    @property
    def window(self) -> dict[str, str | None]:
        """``{"since": ISO date or None, "until": ...}``, as the run's summary records it."""
        return {"since": self.since and self.since.isoformat(),
                "until": self.until and self.until.isoformat()}

    @property
    def rows_rejected(self) -> int:
        """Rows rejected: a row with several problems has several rows in ``rejects``."""
        return sum(f["rejected"] for f in self.files.values())

    def reject_counts(self) -> dict[str, int]:
        """Rejected rows per ``table: reason`` (English), sorted by name.

        A row with problems of two reasons counts under each, once per reason, so the
        counts may add up to more than :attr:`rows_rejected`.
        """
        rows = {(f, line, r) for f, line, r in zip(
            self.rejects["file"], self.rejects["line"], self.rejects["reason"], strict=True)}
        counts = Counter(f"{self.files[f]['table'] if f in self.files else Path(f).stem}: {r}"
                         for f, _, r in rows)
        return dict(sorted(counts.items()))


def read_folder(path: str | Path, *, since=None, until=None, progress: bool = False,
                time_zone: str = DEFAULT_TIME_ZONE) -> ClaimsData:
    """Read and validate every table of a data folder.

    Parameters
    ----------
    path : str or Path
        The data folder: ``claims.csv|parquet`` or a ``claims/`` folder of such files, and
        optionally patients, institutions, doctors, regions (each a file or a folder).
    since, until : str or datetime.date, optional
        Keep only the claims whose ``start_time`` falls on these days or between them
        (ISO dates, inclusive). Claims outside are counted, not rejected; the side tables
        are read whole.
    progress : bool
        Show a progress bar per file.
    time_zone : str, default "Asia/Shanghai"
        The bureau's local time zone (an IANA name): a time written with a UTC offset
        (``2024-03-01T07:30:00+08:00``, ``…Z``) is converted to it and kept as local time.

    Raises
    ------
    DataError
        When a file cannot be read at all; bad rows never raise, they become rejects.
    ParameterError
        When ``since`` or ``until`` is not an ISO date, or ``until`` precedes ``since``,
        or ``time_zone`` names no time zone.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise DataError(str(path), "data.not_folder")
    first, last = parse_window(since, until)
    check_time_zone(time_zone)
    found = {name: table_files(folder, t) for name, t in TABLES.items()}
    sources = {name: [open_source(p, TABLES[name], rel, time_zone=time_zone)
                      for rel, p in files]
               for name, files in found.items() if files}
    data = ClaimsData(claims=pd.DataFrame(), since=first, until=last, time_zone=time_zone)
    rejects: list[dict] = []
    hasher = ThreadPoolExecutor(max_workers=1)  # hashlib releases the GIL: hash while reading
    reader = ThreadPoolExecutor(max_workers=1)
    side = {name: srcs for name, srcs in sources.items() if name != "claims"}
    tables = {}

    def read_side() -> None:  # once the claims' rows are read, while their columns convert
        tables["side"] = reader.submit(
            lambda: {name: _read_table(srcs, progress, None) for name, srcs in side.items()})

    try:
        digests = {src.name: hasher.submit(sha256_file, src.path)
                   for srcs in sources.values() for src in srcs}
        tables["claims"] = _read_table(sources["claims"], progress,
                                       (first, last) if first or last else None, read_side)
        tables.update(tables.pop("side").result())
        for name, srcs in sources.items():
            frame, counts, table_rejects = tables[name]
            setattr(data, name, frame)
            rejects.extend(table_rejects)
            for src, count in zip(srcs, counts, strict=True):
                data.files[src.name] = {
                    "table": name, "path": str(src.path), "format": src.kind,
                    "encoding": src.encoding or None, "sha256": digests[src.name].result(),
                    **count}
    finally:
        hasher.shutdown(wait=False, cancel_futures=True)
        reader.shutdown(wait=True)  # a side table read when the claims failed: let it end
    data.rejects = pd.DataFrame(rejects, columns=REJECT_COLUMNS)
    return data


def _read_table(sources: list[Source], progress: bool, window: tuple | None,
                when_read: Callable[[], None] = lambda: None
                ) -> tuple[pd.DataFrame, list[dict], list[dict]]:
    """Read the files of one table into one frame; per file its counts; all rejects.

    Good rows carry ``_record``, their record number counted over the files in order, so
    that a repeated key or a row outside the window is traced back to its file. ``when_read``
    is called once every row is read (before the columns are converted).
    """
    table = sources[0].table
    goods: list[pa.Table] = []
    raw_rejects: list[list[tuple[int, str, str, str, str]]] = [[] for _ in sources]
    rows, bases = [0] * len(sources), [0] * len(sources)
    for k, src in enumerate(sources):
        bases[k] = base = sum(rows)
        with progress_bar(progress, desc=f"read {src.name}", unit="rows") as bar:
            for good, n in file_rows(src, base, raw_rejects[k]):
                goods.append(good)
                rows[k] += n
                bar.update(n)

    when_read()

    def file_of(records) -> np.ndarray:
        return np.searchsorted(bases, records, side="right") - 1

    merged = pa.concat_tables(common_types(goods), promote_options="permissive") if goods \
        else None
    del goods  # the batches live on in `merged`; _to_frame frees them column by column
    outside = np.zeros(len(sources), np.int64)
    if merged is not None and merged.num_rows:
        merged, dups = _drop_duplicates(merged, table.key)
        for rec, key, *rest in dups:
            k = int(file_of(rec))
            raw_rejects[k].append((rec - bases[k], sources[k].header_of(key), *rest))
        if window:
            merged, left_out = _in_window(merged, *window)
            outside = np.bincount(file_of(left_out), minlength=len(sources))
    arrow = {} if merged is None else {n: merged.column(n) for n in merged.column_names
                                         if n != "_record"}
    merged = None
    frame = _to_frame(arrow, table)
    rejects, counts = [], []
    for k, src in enumerate(sources):
        part = _rejects(src, raw_rejects[k])
        rejects += part
        read = rows[k] + len({m[0] for m in src.malformed})  # rows, not problems
        rejected = len({r["line"] for r in part})
        counts.append({"rows_read": read, "accepted": read - rejected - int(outside[k]),
                       "rejected": rejected, "outside_window": int(outside[k]),
                       **({"unclosed_quote": src.unclosed} if src.unclosed else {})})
    return frame, counts, rejects


def file_rows(src: Source, base: int, raw_rejects: list, *,
              row_groups: tuple[int, int] | None = None) -> Iterator[tuple[pa.Table, int]]:
    """One file's rows, checked batch by batch: per batch its good rows (typed, with
    ``_record``, the record number counted from ``base``) and how many rows it had.

    Each problem of a rejected row is appended to ``raw_rejects`` as ``(record within the
    file, column, reason, value, row as JSON)``. The engines read a file through this one
    function (:mod:`graphdetect.engines`), so a row meets the same rules on any of them.
    ``row_groups``: only these row groups of a Parquet file (:func:`iter_batches`).
    """
    for batch in read_ahead(iter_batches(src, row_groups=row_groups)):
        good, bad = validate(batch, src.table)
        first = base + batch.first_record
        records = np.arange(first, first + len(batch))
        good = good.append_column("_record", pa.array(
            records[_kept(len(batch), bad, batch.first_record)]))
        header = batch.raw.schema.names
        for record, column, reason, value in bad:
            row = batch.raw.slice(record - batch.first_record, 1).to_pylist()[0]
            raw_rejects.append((record, column, reason, value, _row_json(row, header)))
        yield good, len(batch)


def _rejects(src: Source, raw: list[tuple[int, str, str, str, str]]) -> list[dict]:
    """One file's rejects as rows of rejects.csv, by line: ``raw`` those found in its batches
    (by record number), then the rows that never reached a batch (``src.malformed``)."""
    lines = record_to_line(src, [r[0] for r in raw])
    out = [{"file": src.name, "line": line, "column": c, "reason": r, "value": v, "row": row}
           for line, (_, c, r, v, row) in zip(lines, raw, strict=True)]
    lines = file_lines(src, [m[0] for m in src.malformed])
    out += [{"file": src.name, "line": line, "column": c, "reason": r, "value": v, "row": row}
            for line, (_, c, r, v, row) in zip(lines, src.malformed, strict=True)]
    out.sort(key=lambda r: r["line"])
    return out


def _in_window(t: pa.Table, first: date | None, last: date | None
               ) -> tuple[pa.Table, np.ndarray]:
    """The claims whose start day lies in [first, last]; and the records of the others."""
    start = t.column("start_time")
    keep = pa.array(np.ones(t.num_rows, bool))
    if first:
        keep = pc.and_(keep, pc.greater_equal(start, _midnight(first)))
    if last:
        keep = pc.and_(keep, pc.less(start, _midnight(last + timedelta(days=1))))
    records = t.column("_record").filter(pc.invert(keep)).to_numpy()
    return t.filter(keep), records


def _midnight(day: date) -> pa.Scalar:
    return pa.scalar(datetime(day.year, day.month, day.day), pa.timestamp("s"))


def _kept(n: int, bad: list, first: int) -> np.ndarray:
    keep = np.ones(n, bool)
    if bad:
        keep[[r[0] - first for r in bad]] = False
    return keep


def _row_json(row: dict, header: list[str]) -> str:
    return json.dumps({h: (None if row[h] is None else str(row[h])) for h in header},
                      ensure_ascii=False)


def _drop_duplicates(t: pa.Table, key: str) -> tuple[pa.Table, list]:
    col = t.column(key)
    if _increasing(col):
        return t, []  # strictly increasing keys cannot repeat: no need to hash them
    codes = col.combine_chunks().dictionary_encode().indices.to_numpy()
    dup = pd.Series(codes).duplicated(keep="first").to_numpy()
    if not dup.any():
        return t, []
    rec = t.column("_record").to_numpy()
    out = [(int(rec[i]), *repeated(t.slice(int(i), 1).to_pylist()[0], key))
           for i in np.flatnonzero(dup)]
    return t.filter(pa.array(~dup)), out


def repeated(row: dict, key: str) -> tuple[str, str, Any, str]:
    """The reject of a typed row (``to_pylist``) whose ``key`` an earlier row holds:
    ``(column, reason, value, row as JSON)``; columns beginning with ``_`` are left out."""
    row = {k: v for k, v in row.items() if k[0] != "_"}
    for name, values in _WORDS.items():
        if isinstance(row.get(name), int):
            row[name] = values[row[name]]
    why = f"repeated {key}; the first row is kept"
    return key, why, row[key], json.dumps(row, ensure_ascii=False, default=str)


def _increasing(col: pa.ChunkedArray) -> bool:
    """Whether the values strictly increase, chunk by chunk and across chunks (the chunks
    are not copied into one)."""
    chunks = [c for c in col.chunks if len(c)]
    within = all(pc.all(pc.greater(c[1:], c[:-1])).as_py() for c in chunks if len(c) > 1)
    return within and all(pc.greater(b[0], a[-1]).as_py()
                          for a, b in zip(chunks[:-1], chunks[1:], strict=True))


def _to_frame(arrow: dict[str, pa.ChunkedArray], table: Table) -> pd.DataFrame:
    """Typed arrow columns to a DataFrame; each arrow column is dropped once converted."""
    if not arrow:
        return pd.DataFrame({c.name: pd.Series(dtype="object") for c in table.columns})
    names = list(arrow)
    converted: dict[str, Future] = {}
    follows = {name: parent for name, parent in FOLLOWS.get(table.name, {}).items()
               if name in arrow and parent in arrow}

    def convert(name: str) -> tuple[Any, Lead | None]:
        col = arrow.pop(name)
        if name in follows:  # submitted after its parent: waiting on it cannot dead-lock
            parent = converted[follows[name]]
            return led_categorical(col, lambda: parent.result()[1])
        if name in CATEGORICAL.get(table.name, ()):
            return led_categorical(col)
        col = col.combine_chunks()
        if name in _WORDS:
            return pd.Categorical.from_codes(
                col.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int8),
                categories=list(_WORDS[name])), None
        return col.to_pandas(), None

    # Arrow's and numpy's kernels release the GIL: encode the columns on every core, first
    # the text columns that make categoricals (each is one long sort or hash).
    first = [n for n in names if n in CATEGORICAL.get(table.name, ())
             and not pa.types.is_dictionary(arrow[n].type)]
    order = first + [n for n in names if n not in first]
    for name, parent in follows.items():  # each right after its parent
        order.remove(name)
        order.insert(order.index(parent) + 1, name)
    # a column waiting on its parent holds a thread, not a core
    with ThreadPoolExecutor(max_workers=(os.cpu_count() or 1) + len(follows)) as pool:
        for name in order:
            converted[name] = pool.submit(convert, name)
    return pd.DataFrame({n: converted[n].result()[0] for n in names}, copy=False)

