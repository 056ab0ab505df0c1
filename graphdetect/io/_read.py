"""Read one table file (CSV in any supported encoding, or Parquet) in batches.

Each batch comes with the canonical column names, the raw column names (to write a
rejected row back as the user wrote it) and the record number of its first row. A file
below ``key=value`` folders (a partitioned dataset) gets a column per key that names a
contract column the file itself lacks; other keys (``year=2024``) are folder names only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import DataError
from ..messages import join, text
from ..schema import Column, Table, canonical_names
from . import _csv, _records
from ._encode import dictionary_columns
from ._files import partition_values
from ._records import csv_rows
from ._types import ColumnTypeError, check_schema, column_error, normalise, untouched

BATCH_ROWS = 1_000_000
#: Bytes per value under which a Parquet text column chunk holds dictionary indices, not
#: strings (a writer falls back to plain pages when the dictionary grows past ~1 MiB).
DICTIONARY_BYTES = 4
#: The bureau's local time zone: times that carry an offset or a zone are converted to it.
DEFAULT_TIME_ZONE = "Asia/Shanghai"


@dataclass
class Batch:
    """A slice of a table: canonical name -> arrow array, plus the raw header.

    ``names`` gives each canonical column the name the file itself uses (``入院时间``).
    """

    columns: dict[str, pa.Array]
    raw: pa.RecordBatch
    first_record: int
    names: dict[str, str] = field(default_factory=dict)
    time_zone: str = DEFAULT_TIME_ZONE

    def __len__(self) -> int:
        return self.raw.num_rows


@dataclass
class Source:
    """One input file being read; ``malformed`` collects the CSV rows that never reach a batch.

    ``name`` is the file's path relative to the data folder (``claims/2024-02.csv``), as
    rejects and the run's summary name it; ``constants`` the partition columns it gets.
    A CSV's ``malformed`` rows are ``(record, column, reason, value, text)``, ``record``
    counting every record of the file from 0 (the header not counted); ``offset`` is the
    byte where its rows begin, ``recode`` whether it is read through ``_csv.Recoded`` (it is
    not all valid UTF-8), ``bad_lines`` its lines that do not decode in ``encoding``,
    ``records`` how ``csv`` splits it (``_records``, read only when needed) and
    ``unclosed`` a quote never closed (``{"line": ..., "lines": ...}``).
    """

    path: Path
    table: Table
    name: str = ""
    kind: str = ""
    encoding: str = ""
    header: list[str] = field(default_factory=list)
    constants: dict[str, str] = field(default_factory=dict)
    mapping: dict[int, str] = field(default_factory=dict)
    malformed: list[tuple[int, str, str, str, str]] = field(default_factory=list)
    time_zone: str = DEFAULT_TIME_ZONE
    offset: int = 0
    recode: bool = False
    bad_lines: list[int] = field(default_factory=list)
    records: _records.Records | None = None
    unclosed: dict | None = None

    def __post_init__(self):
        self.name = self.name or self.path.name

    @property
    def columns(self) -> list[str]:
        """The names of a batch's raw columns: the file's header, then partition columns."""
        return [*self.header, *self.constants]

    def header_of(self, column: str) -> str:
        """The name the file gives a canonical column (the canonical name when it has none)."""
        names = self.raw_names
        return next((names[i] for i, c in self.mapping.items() if c == column), column)

    @property
    def raw_names(self) -> list[str]:
        """The names of a batch's raw columns, made unique (``备注``, ``备注.1``)."""
        return _unique(self.columns)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def detect_encoding(path: Path, name: str | None = None) -> tuple[str, bool]:
    """A CSV file's encoding, decided on the whole file, and whether it is all valid UTF-8.

    UTF-8 when the file is valid UTF-8 (the one fast pass most files need) or begins with a
    BOM; otherwise lines from all through the file are weighed, and GB18030 is chosen only
    when more of them are GB18030 and not UTF-8 than are UTF-8 with Chinese-width
    characters. A row on a line that does not decode in the chosen encoding is rejected
    when it is read, never the file.

    Raises
    ------
    DataError
        When more than half the file's lines are not text in either encoding.
    """
    return _csv.decide_encoding(path, name or path.name)


def _csv_header(path: Path, encoding: str, name: str) -> tuple[list[str], int]:
    """The header's names and the byte where the rows begin."""
    row, offset = _csv.read_header(path, encoding, name)
    if not row or not any(c.strip() for c in row):
        raise DataError(name, "data.empty")
    return [c.strip().lstrip("\ufeff") for c in row], offset


def open_source(path: Path, table: Table, name: str | None = None, *,
                time_zone: str = DEFAULT_TIME_ZONE) -> Source:
    """Check a file's header against its table before any row is read.

    ``name`` is the file's path relative to the data folder (default: its file name);
    ``time_zone`` the local zone its zoned times are converted to.
    """
    src = Source(path=path, table=table, name=name or "", time_zone=time_zone)
    schema = None
    if path.suffix.lower() == ".parquet":
        src.kind = "parquet"
        try:
            schema = pq.read_schema(path)
            src.header = list(schema.names)
        except (pa.ArrowException, OSError) as exc:
            raise DataError(src.name, "data.bad_parquet", detail=str(exc)) from None
    else:
        src.kind = "csv"
        src.encoding, valid = detect_encoding(path, src.name)
        src.recode = not valid
        src.header, src.offset = _csv_header(path, src.encoding, src.name)
        if len(src.header) < 2:
            with open(path, "rb") as f:
                if b"," not in f.read(4096):
                    raise DataError(src.name, "data.not_csv")
    present = set(canonical_names(table, src.header).values())
    for key, value in partition_values(src.name).items():
        column = canonical_names(table, [key]).get(0)
        if column and column not in present:
            src.constants[key] = value
            present.add(column)
    src.mapping = canonical_names(table, src.columns)
    missing = [c for c in table.columns if c.required and c.name not in present]
    if missing:
        raise DataError(src.name, "data.missing_columns", **_missing_args(missing, src.header))
    if schema is not None:
        check_schema(schema, src.mapping, table, src.name)
    return src


def _missing_args(missing: list[Column], header: list[str]) -> dict:
    """The arguments of a header error: each missing column with its accepted names, and
    the headers the file has (each rendered in the language it is shown in)."""

    def columns(lang: str) -> str:
        return join([text("data.missing_column", lang, column=repr(c.name),
                          names=join([c.name, *c.aliases], lang)) for c in missing], lang)

    def found(lang: str) -> str:
        return join([repr(h) for h in header], lang) if header else text("data.no_headers", lang)

    return {"missing": columns, "found": found}


def _batch(src: Source, raw: pa.RecordBatch, record: int) -> Batch:
    if src.constants:
        n = raw.num_rows
        raw = pa.RecordBatch.from_arrays(
            [*raw.columns, *(pa.repeat(pa.scalar(v, pa.string()), n)
                             for v in src.constants.values())],
            names=[*raw.schema.names, *src.constants])
    columns = {name: raw.column(i) for i, name in src.mapping.items()}
    names = {name: raw.schema.names[i] for i, name in src.mapping.items()}
    if src.kind == "parquet":
        columns = _typed(src, columns, names)
    return Batch(columns, raw, record, names, src.time_zone)


def _typed(src: Source, columns: dict[str, pa.Array], names: dict[str, str]
           ) -> dict[str, pa.Array]:
    """A Parquet batch's columns with the types the row rules read (``_types``); columns
    of text, numbers and plain times are passed on as they are."""
    out = dict(columns)
    for name, arr in columns.items():
        column = src.table.column(name)
        if untouched(column.kind, arr.type):
            continue
        try:
            out[name] = normalise(arr, column, src.time_zone)
        except ColumnTypeError as exc:
            raise column_error(src.name, names[name], name, arr.type, column.kind,
                               exc.key) from None
    return out


def iter_batches(src: Source, batch_rows: int = BATCH_ROWS, *,
                 row_groups: tuple[int, int] | None = None) -> Iterator[Batch]:
    """Yield the file's rows in batches; rows that cannot be split go to ``src.malformed``.

    ``row_groups`` (a Parquet file's): only the row groups ``lo`` to ``hi - 1``, their
    records numbered as in the whole file (a part of a file read by one Spark task).
    """
    record = 0
    if src.kind == "parquet":
        try:
            file = pq.ParquetFile(src.path)
            meta = file.metadata
            names = _dictionary_pages(src, meta)     # on the whole file, whatever part is read
            if names:
                file = pq.ParquetFile(src.path, metadata=meta, read_dictionary=names)
            groups = None
            if row_groups is not None:
                groups = range(*row_groups)
                record = sum(meta.row_group(g).num_rows for g in range(row_groups[0]))
            for raw in file.iter_batches(batch_size=batch_rows, row_groups=groups):
                yield _batch(src, raw, record)
                record += raw.num_rows
        except (pa.ArrowException, OSError) as exc:
            raise DataError(src.name, "data.bad_parquet_rows", detail=str(exc)) from None
        return

    yield from _grouped(src, csv_rows(src), batch_rows)


def _grouped(src: Source, raws: Iterator[pa.RecordBatch], batch_rows: int) -> Iterator[Batch]:
    """Arrow's record batches merged into batches of at least ``batch_rows`` rows."""
    pending: list[pa.RecordBatch] = []
    size = record = 0
    for raw in raws:
        pending.append(raw)
        size += raw.num_rows
        if size >= batch_rows:
            merged = _merge(pending)
            yield _batch(src, merged, record)
            record += merged.num_rows
            pending, size = [], 0
    if pending:
        yield _batch(src, _merge(pending), record)


def _dictionary_pages(src: Source, meta: pq.FileMetaData) -> list[str]:
    """The file's text columns to read as dictionaries: columns of repeated words whose
    pages are dictionary indices in every row group (read so, no string is decoded).

    A column of many distinct values fell back to plain pages; reading it as a dictionary
    would hash every string per batch, so it is read as text and hashed once at the end.
    """
    schema = meta.schema.to_arrow_schema()
    wanted = dictionary_columns(src.table)
    groups = [meta.row_group(g) for g in range(meta.num_row_groups)]
    leaves = {groups[0].column(j).path_in_schema: j for j in range(meta.num_columns)} \
        if groups else {}
    out = []
    for i, name in src.mapping.items():
        raw = src.columns[i]
        if name not in wanted or i >= len(src.header) or raw not in leaves or not (
                pa.types.is_string(schema.field(i).type)
                or pa.types.is_large_string(schema.field(i).type)):
            continue
        j = leaves[raw]
        if all(g.column(j).total_uncompressed_size <= DICTIONARY_BYTES * max(g.num_rows, 1)
               for g in groups):
            out.append(raw)
    return out


def read_ahead(batches: Iterator[Batch]) -> Iterator[Batch]:
    """The same batches; a thread reads the next while the caller validates this one
    (Arrow's readers and kernels release the GIL)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(next, batches, None)
        while (batch := pending.result()) is not None:
            pending = pool.submit(next, batches, None)
            yield batch


def _merge(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    if len(batches) == 1:
        return batches[0]
    return pa.Table.from_batches(batches).combine_chunks().to_batches()[0]


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        k = seen.get(n, 0)
        seen[n] = k + 1
        out.append(n if k == 0 else f"{n}.{k}")
    return out


def record_to_line(src: Source, records: list[int]) -> list[int]:
    """Turn 0-based record numbers of parsed rows (as batches number them) into file lines.

    A CSV's lines are the file's own (1-based, the header's first line is 1), counted
    through blank lines and line breaks inside quotes; rows that never reached a batch
    (``src.malformed``) are counted where they stand. A Parquet file's "line" is its
    1-based row number.
    """
    if src.kind == "parquet":
        return [r + 1 for r in records]
    skipped = np.unique(np.array([m[0] for m in src.malformed], np.int64))
    return file_lines(src, _records.physical(skipped, np.asarray(records, np.int64)))


def file_lines(src: Source, records) -> list[int]:
    """The file line each CSV record (numbered from 0 over every record) starts on; the
    file is split again (``csv``) only when it has quotes or blank lines."""
    if not len(records):
        return []
    if src.records is None:
        src.records = _records.Records(None, 0) if _records.plain(src.path) else \
            _records.records(src.path, src.encoding)
    return src.records.lines(np.asarray(records, np.int64))
