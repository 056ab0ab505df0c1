"""The executors' side of the Spark read stage: one task reads one input file.

Each task runs graphdetect's own reader over its file (a local path; a file named by a
URI is first copied to the executor's disk through ``pyarrow.fs``, :mod:`.paths`) —
:func:`~graphdetect.io._read.open_source`, :func:`graphdetect.io.file_rows` (batches through
:func:`~graphdetect.io._validate.validate`) and the reject lines of
:func:`graphdetect.io._rejects` — and hands Spark Arrow batches of one schema holding three
kinds of rows: the typed good rows of its table (with their file, record and line), its
rejects, and one row of facts about the file (format, encoding, hash, counts, the schemas
of its typed batches, or the error that stopped it).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa

from ...errors import DataError
from ...io import _increasing, _rejects, file_rows, open_source, sha256_file
from ...io._encode import common_types
from ...io._read import record_to_line
from ...messages import LANGUAGES
from ...schema import TABLES
from .paths import local_copy

__all__ = ["COLUMNS", "SCHEMA", "ROW", "REJECT", "FILE", "reader", "ddl"]

#: Row kinds of the executors' DataFrame.
ROW, REJECT, FILE = 0, 1, 2
#: Rows per Arrow batch an executor hands to Spark.
CHUNK_ROWS = 100_000
_KIND_TYPES = {"id": pa.string(), "text": pa.string(), "time": pa.timestamp("us"),
               "amount": pa.float64()}
REJECT_FIELDS = [("r_seq", pa.int64()), ("r_line", pa.int64()), ("r_column", pa.string()),
                 ("r_reason", pa.string()), ("r_value", pa.string()), ("r_row", pa.string())]


def _columns() -> dict[str, pa.DataType]:
    """Every typed column of every table, as Spark holds it (Spark's Arrow types): text
    for ids and words' text, microseconds without a zone for times (Spark's
    ``timestamp_ntz``), whole numbers and word codes as 64-bit integers."""
    out: dict[str, pa.DataType] = {}
    for table in TABLES.values():
        for col in table.columns:
            out.setdefault(col.name, _KIND_TYPES.get(col.kind, pa.int64()))
    out["has_time"] = pa.bool_()
    return out


#: The columns the executors' DataFrame holds, in order.
COLUMNS = _columns()
SCHEMA = pa.schema([("_kind", pa.int8()), ("_file", pa.int32()), ("_part", pa.int32()),
                    ("_table", pa.string()),
                    ("_record", pa.int64()), ("_line", pa.int64()), *COLUMNS.items(),
                    *REJECT_FIELDS, ("_meta", pa.string())])


def ddl(schema: pa.Schema) -> str:
    """The schema as Spark's DDL (``mapInArrow``'s return type)."""
    names = {pa.int8(): "byte", pa.int32(): "int", pa.int64(): "long", pa.string(): "string",
             pa.float64(): "double", pa.bool_(): "boolean", pa.timestamp("us"): "timestamp_ntz"}
    return ", ".join(f"`{f.name}` {names[f.type]}" for f in schema)


def reader(time_zone: str):
    """The function each task runs over its Arrow batches of files (or parts of files:
    ``lo`` to ``hi`` - 1, a Parquet file's row groups; -1 for a whole file)."""

    def read_files(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for k, name, rel, where, lo, hi in zip(*(batch.column(i).to_pylist()
                                                     for i in range(6)), strict=True):
                with local_copy(where) as path:  # a file listed by its URI: copied here
                    if lo < 0:
                        yield from _read_file(k, name, rel, path, time_zone)
                    else:
                        yield from _read_file(k, name, rel, path, time_zone,
                                              row_groups=(lo, hi))

    return read_files


def _read_file(k: int, name: str, rel: str, path: Path, time_zone: str, *,
               row_groups: tuple[int, int] | None = None) -> Iterator[pa.RecordBatch]:
    """One file's good rows, rejects and facts, as batches of the executors' schema; with
    ``row_groups``, one part of a Parquet file (its facts a part's: the file's hash in
    the first part only, the rows read in this one)."""
    table = TABLES[name]
    part = row_groups[0] if row_groups else 0
    with ThreadPoolExecutor(max_workers=1) as hasher:  # hashlib releases the GIL
        digest = hasher.submit(sha256_file, path) if part == 0 else None
        stage = "open"
        try:
            src = open_source(path, table, rel, time_zone=time_zone)
            stage = "read"
            raw: list = []
            goods, schemas, rows = [], [], 0
            for good, n in file_rows(src, 0, raw, row_groups=row_groups):
                goods.append(good)
                rows += n
                if good.schema not in schemas:
                    schemas.append(good.schema)
            rejects = _rejects(src, raw)
            good = pa.concat_tables(common_types(goods), promote_options="permissive") \
                if goods else None
            lines = record_to_line(src, good.column("_record").to_numpy()) \
                if good is not None and good.num_rows else []
        except DataError as exc:
            yield _facts(k, {"part": part, "error": {"stage": stage, **_shipped(exc)}})
            return
        if good is not None and good.num_rows:
            yield from _good_batches(k, name, good, np.asarray(lines, np.int64), part)
        if rejects:
            yield _reject_batch(k, name, rejects, part)
        yield _facts(k, {
            "part": part, "kind": src.kind, "encoding": src.encoding,
            "sha256": digest.result() if digest else None,
            "rows_read": rows + len({m[0] for m in src.malformed}), "unclosed": src.unclosed,
            "key_header": src.header_of(table.key), "keys": _key_range(good, table.key),
            "schemas": [base64.b64encode(s.serialize().to_pybytes()).decode() for s in schemas]})


def _key_range(good: pa.Table | None, key: str) -> dict | None:
    """Whether the keys of a file's (or part's) good rows rise strictly, and the first
    and the last: where every part of a table rises and no two parts' ranges meet, no
    key is held twice and the driver looks for none. None without good rows."""
    if good is None or not good.num_rows:
        return None
    col = _as_spark(good.column(key), key)
    if not _increasing(col):
        return {"rising": False}
    return {"rising": True, "first": col[0].as_py(), "last": col[-1].as_py()}


def _shipped(exc: DataError) -> dict:
    """A DataError as JSON: its arguments rendered in every language where they are
    rendered per language (a list of the file's headers)."""
    args, rendered = {}, []
    for key, value in exc.args_.items():
        if callable(value):
            args[key] = {lang: value(lang) for lang in LANGUAGES}
            rendered.append(key)
        else:
            args[key] = value if isinstance(value, (str, int, float)) else str(value)
    return {"file": exc.file, "key": exc.key, "args": args, "rendered": rendered}


def _batch(n: int, columns: dict[str, pa.Array]) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(
        [columns[f.name] if f.name in columns else pa.nulls(n, f.type) for f in SCHEMA],
        schema=SCHEMA)


def _good_batches(k: int, name: str, good: pa.Table, lines: np.ndarray, part: int = 0
                  ) -> Iterator[pa.RecordBatch]:
    for at in range(0, good.num_rows, CHUNK_ROWS):
        piece = good.slice(at, CHUNK_ROWS)
        n = piece.num_rows
        columns = {"_kind": pa.array(np.full(n, ROW, np.int8)),
                   "_file": pa.array(np.full(n, k, np.int32)),
                   "_part": pa.array(np.full(n, part, np.int32)),
                   "_table": pa.array([name] * n, pa.string()),
                   "_record": piece.column("_record").combine_chunks().cast(pa.int64()),
                   "_line": pa.array(lines[at:at + n])}
        for col in piece.column_names:
            if col in COLUMNS:
                columns[col] = _as_spark(piece.column(col).combine_chunks(), col)
        yield _batch(n, columns)


def _as_spark(col, name: str):
    """A typed column (an Arrow array or chunked array) in the type Spark holds column
    ``name`` in (:data:`COLUMNS`): dictionaries decoded, then cast."""
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    return col.cast(COLUMNS[name])


def _reject_batch(k: int, name: str, rejects: list[dict], part: int = 0) -> pa.RecordBatch:
    """A file's (or a part's) rejects; ``r_seq`` orders them within the file: by part
    (its first row group), then as found."""
    n = len(rejects)
    return _batch(n, {
        "_kind": pa.array(np.full(n, REJECT, np.int8)), "_file": pa.array(np.full(n, k, np.int32)),
        "_table": pa.array([name] * n, pa.string()),
        "r_seq": pa.array(np.arange(n, dtype=np.int64) + (part << 32)),
        "r_line": pa.array([r["line"] for r in rejects], pa.int64()),
        **{f"r_{c}": pa.array([None if r[c] is None else str(r[c]) for r in rejects],
                              pa.string()) for c in ("column", "reason", "value", "row")}})


def _facts(k: int, facts: dict) -> pa.RecordBatch:
    return _batch(1, {"_kind": pa.array([FILE], pa.int8()), "_file": pa.array([k], pa.int32()),
                      "_meta": pa.array([json.dumps(facts, ensure_ascii=False)], pa.string())})
