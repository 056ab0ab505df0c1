"""Read one table file (CSV in any supported encoding, or Parquet) in batches.

Each batch comes with the canonical column names, the raw column names (to write a
rejected row back as the user wrote it) and the record number of its first row. A file
below ``key=value`` folders (a partitioned dataset) gets a column per key that names a
contract column the file itself lacks; other keys (``year=2024``) are folder names only.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..errors import DataError
from ..messages import join, text
from ..schema import Column, Table, canonical_names
from ._encode import dictionary_columns
from ._files import partition_values

BATCH_ROWS = 1_000_000
SNIFF_BYTES = 1 << 20
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
    """One input file being read; ``malformed`` collects rows the parser could not split.

    ``name`` is the file's path relative to the data folder (``claims/2024-02.csv``), as
    rejects and the run's summary name it; ``constants`` the partition columns it gets.
    """

    path: Path
    table: Table
    name: str = ""
    kind: str = ""
    encoding: str = ""
    header: list[str] = field(default_factory=list)
    constants: dict[str, str] = field(default_factory=dict)
    mapping: dict[int, str] = field(default_factory=dict)
    malformed: list[tuple[int, str, str]] = field(default_factory=list)
    time_zone: str = DEFAULT_TIME_ZONE

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


def detect_encoding(path: Path, name: str | None = None) -> str:
    """Tell UTF-8 (with or without BOM) from GB18030 on the first megabyte.

    Raises
    ------
    DataError
        When neither decodes the sample.
    """
    with open(path, "rb") as f:
        sample = f.read(SNIFF_BYTES)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8"
    for enc in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(enc)().decode(sample, final=False)
            return enc
        except UnicodeDecodeError:
            continue
    raise DataError(name or path.name, "data.unknown_encoding")


def _csv_header(path: Path, encoding: str, name: str) -> list[str]:
    with open(path, encoding=encoding, newline="", errors="strict") as f:
        try:
            row = next(csv.reader(f), None)
        except (UnicodeDecodeError, csv.Error) as exc:
            raise DataError(name, "data.bad_header", detail=str(exc)) from None
    if not row or not any(c.strip() for c in row):
        raise DataError(name, "data.empty")
    return [c.strip().lstrip("\ufeff") for c in row]


def open_source(path: Path, table: Table, name: str | None = None, *,
                time_zone: str = DEFAULT_TIME_ZONE) -> Source:
    """Check a file's header against its table before any row is read.

    ``name`` is the file's path relative to the data folder (default: its file name);
    ``time_zone`` the local zone its zoned times are converted to.
    """
    src = Source(path=path, table=table, name=name or "", time_zone=time_zone)
    if path.suffix.lower() == ".parquet":
        src.kind = "parquet"
        try:
            src.header = list(pq.read_schema(path).names)
        except (pa.ArrowException, OSError) as exc:
            raise DataError(src.name, "data.bad_parquet", detail=str(exc)) from None
    else:
        src.kind = "csv"
        src.encoding = detect_encoding(path, src.name)
        src.header = _csv_header(path, src.encoding, src.name)
        if len(src.header) < 2 and b"," not in path.read_bytes()[:4096]:
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
    return Batch({name: raw.column(i) for i, name in src.mapping.items()}, raw, record,
                 {name: raw.schema.names[i] for i, name in src.mapping.items()},
                 src.time_zone)


def iter_batches(src: Source, batch_rows: int = BATCH_ROWS) -> Iterator[Batch]:
    """Yield the file's rows in batches; rows that cannot be split go to ``src.malformed``."""
    record = 0
    if src.kind == "parquet":
        try:
            file = pq.ParquetFile(src.path)
            names = _dictionary_pages(src, file.metadata)
            if names:
                file = pq.ParquetFile(src.path, metadata=file.metadata, read_dictionary=names)
            for raw in file.iter_batches(batch_size=batch_rows):
                yield _batch(src, raw, record)
                record += raw.num_rows
        except (pa.ArrowException, OSError) as exc:
            raise DataError(src.name, "data.bad_parquet_rows", detail=str(exc)) from None
        return

    def on_invalid(row) -> str:
        src.malformed.append((row.number or 0, row.text or "",
                              f"expected {row.expected_columns} fields, got {row.actual_columns}"))
        return "skip"

    names = src.header
    read = pacsv.ReadOptions(
        use_threads=False, block_size=16 << 20, encoding=src.encoding,
        column_names=[f"c{i}" for i in range(len(names))], skip_rows=1,
    )
    convert = pacsv.ConvertOptions(
        column_types={f"c{i}": pa.string() for i in range(len(names))},
        strings_can_be_null=False, quoted_strings_can_be_null=False,
    )
    try:
        reader = pacsv.open_csv(
            src.path, read_options=read, convert_options=convert,
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
        )
        pending: list[pa.RecordBatch] = []
        size = 0
        for raw in reader:
            raw = pa.RecordBatch.from_arrays(raw.columns, names=_unique(names))
            pending.append(raw)
            size += raw.num_rows
            if size >= batch_rows:
                merged = _merge(pending)
                yield _batch(src, merged, record)
                record += merged.num_rows
                pending, size = [], 0
        if pending:
            merged = _merge(pending)
            yield _batch(src, merged, record)
    except UnicodeDecodeError as exc:
        raise DataError(src.name, "data.cannot_decode", encoding=src.encoding,
                        detail=exc.reason) from None
    except pa.ArrowInvalid as exc:
        msg = str(exc).splitlines()[0]
        if "utf8" in msg.lower():
            raise DataError(src.name, "data.invalid_text", encoding=src.encoding,
                            detail=msg) from None
        raise DataError(src.name, "data.not_a_table", detail=msg) from None


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
    """Turn 0-based record numbers of parsed rows into file line numbers.

    A CSV's header is line 1 and rows the parser skipped as malformed keep their lines;
    a Parquet file's "line" is its 1-based row number.
    """
    if src.kind == "parquet":
        return [r + 1 for r in records]
    skipped = sorted(m[0] for m in src.malformed)
    out = []
    for r in records:
        line = r + 2
        for s in skipped:
            if s <= line:
                line += 1
            else:
                break
        out.append(line)
    return out
