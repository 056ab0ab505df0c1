"""The read stage on Spark: graphdetect's own reader, one task per input file (or per part
of a large Parquet file).

The driver only lists the files: a local folder as the embedded reader lists it
(:func:`graphdetect.io._files.table_files`), a URI (``file://``, ``hdfs://``, ``s3a://``)
through Hadoop's FileSystem under the same rules (:mod:`.paths`). Each file is then read
and checked inside an executor by the embedded reader's code (:mod:`._tasks`),
so a row meets the same rules and makes the same rejects on either engine by
construction, not by a second implementation in Spark SQL. A local Parquet file of more
than :data:`.parts.PART_ROWS` rows is cut into parts of whole row groups, one task each, whose
records keep their numbers in the file; their facts are put back together per file.

The executors return one DataFrame of good rows, rejects and per-file facts. Spark then
keeps each key's first row in path order (as the embedded reader keeps the first across
the files of a folder) and applies the window of days; what the next stage needs is
collected: the typed tables, cast back to the types the embedded reader gives them, and
the rejects. The kept claims also stay in Spark, numbered with their row in the claims
table the driver collects and persisted, for the detectors' steps that run on Spark
(:mod:`.stays`).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..._progress import progress_bar
from ...errors import DataError, EngineError
from ...io import (
    DEFAULT_TIME_ZONE,
    REJECT_COLUMNS,
    ClaimsData,
    _to_frame,
    check_time_zone,
    parse_window,
    repeated,
)
from ...io._encode import common_types
from ...io._files import table_files
from ...schema import TABLES
from . import parts
from ._tasks import COLUMNS, FILE, REJECT, ROW, SCHEMA, ddl, reader
from .keys import held_once, numbered, repeated_rows
from .paths import list_uri, probe, uri_of
from .progress import stage_progress
from .session import first_line, quiet_warnings

__all__ = ["read"]


def read(spark, data: str | Path, *, since=None, until=None, progress: bool = False,
         time_zone: str = DEFAULT_TIME_ZONE, keep: tuple[str, ...] = ()) -> tuple:
    """Read and check a data folder (a local path, or a URI Spark reads) on Spark; the
    same tables and rejects as
    :func:`graphdetect.io.read_folder`, and the kept claims as a persisted DataFrame:
    ``row``, each claim's row in the collected claims table (the graph's row), and the
    claims' columns ``keep``. The caller unpersists it. Third, the seconds each step
    took: ``files`` (reading, checking and caching every file's rows), ``rejects``,
    ``repeated`` (keys), ``window``, ``collect`` (the typed tables, to the driver) and
    ``numbered`` (the kept claims, numbered and cached).

    Raises
    ------
    DataError
        When a file cannot be read at all (the first such file, as the embedded reader
        would name it).
    EngineError
        When a Spark job fails (an executor lost, out of memory, the connection to Spark
        lost), or a URI cannot be listed or read here (no Hadoop connector, no libhdfs).
    """
    from pyspark.sql import functions as F

    uri = uri_of(data)
    if uri is None and not Path(data).is_dir():
        raise DataError(str(data), "data.not_folder")
    first, last = parse_window(since, until)
    check_time_zone(time_zone)
    if uri is None:
        found = [(name, rel, str(path)) for name, table in TABLES.items()
                 for rel, path in table_files(Path(data), table)]
    else:
        found = _listed(spark, uri)
    data_out = ClaimsData(claims=pd.DataFrame(), since=first, until=last, time_zone=time_zone)
    steps = ("files", "repeated keys", "window", "collect")
    took: dict[str, float] = {}
    lap = [time.perf_counter()]

    def done(step: str) -> None:
        now = time.perf_counter()
        took[step], lap[0] = round(now - lap[0], 3), now

    with progress_bar(progress, total=len(steps), desc="read (spark)") as bar, \
            quiet_warnings(), _job_errors(), stage_progress(spark, progress, "spark read"):
        bar.set_postfix_str(f"{len(found)} files")
        pieces = [(k, name, rel, where, lo, hi) for k, (name, rel, where) in enumerate(found)
                  for lo, hi in parts.of(where)]
        tasks = spark.sparkContext.parallelize(pieces, numSlices=len(pieces)).toDF(
            "k int, table string, rel string, path string, lo int, hi int")
        rows = tasks.mapInArrow(reader(time_zone), ddl(SCHEMA)).persist()
        try:
            files = _files(rows, found)
            schemas = _unified(files, found)
            bar.update()
            done("files")
            raw = _reject_rows(rows)
            done("rejects")
            good = rows.where(F.col("_kind") == ROW)
            dups = repeated_rows(F, good, held_once(files, found))
            kept = good if not dups.num_rows else good.join(
                F.broadcast(spark.createDataFrame(dups.select(["_file", "_record"]))),
                on=["_file", "_record"], how="left_anti")
            bar.update()
            done("repeated")
            if first or last:
                outside = _outside(F, first, last)
                for r in kept.where(outside).groupBy("_file").count().collect():
                    files[r["_file"]]["outside_window"] = int(r["count"])
                kept = kept.where(~outside)
            bar.update()
            done("window")
            # what the next stage needs: each table's typed rows, its own columns only,
            # one table at a time (the driver holds one table's Arrow rows at once)
            tables = {}
            for name, schema in schemas.items():
                names = [n for n in schema.names if n in COLUMNS]
                tables[name] = _collect(kept.where(F.col("_table") == name)
                                        .select("_file", "_record", *names).toArrow(),
                                        name, schema)
            done("collect")
            claims = numbered(spark, kept, keep)
            done("numbered")
            bar.update()
        finally:
            with suppress(Exception):  # after a failed job the JVM may be gone
                rows.unpersist()
    _repeated_rejects(dups, files, found, schemas, raw)
    rejects = []
    for k, (name, rel, path) in enumerate(found):
        part = sorted(raw.get(k, []), key=lambda r: r["line"])  # stable: as embedded
        rejects += part
        f = files[k]
        outside = f.get("outside_window", 0)
        rejected = len({r["line"] for r in part})
        data_out.files[rel] = {
            "table": name, "path": path, "format": f["kind"],
            "encoding": f["encoding"] or None, "sha256": f["sha256"],
            "rows_read": f["rows_read"], "accepted": f["rows_read"] - rejected - outside,
            "rejected": rejected, "outside_window": outside,
            **({"unclosed_quote": f["unclosed"]} if f["unclosed"] else {})}
    for name in dict.fromkeys(name for name, _, _ in found):
        # a table whose files hold no row at all: the embedded reader's empty frame
        setattr(data_out, name, tables[name] if name in tables else _to_frame({}, TABLES[name]))
    data_out.rejects = pd.DataFrame(rejects, columns=REJECT_COLUMNS)
    return data_out, claims, took


def _listed(spark, uri: str) -> list[tuple[str, str, str]]:
    """The files of the data folder ``uri``, listed by Hadoop (:func:`.paths.list_uri`),
    once an executor has shown it can open them: a URI Hadoop or pyarrow cannot reach
    stops the run with one line."""
    with quiet_warnings():
        try:
            probe(spark, uri)
            return list_uri(spark, uri)
        except (DataError, EngineError):
            raise
        except Exception as exc:
            if not _is_spark_error(exc):
                raise
            raise EngineError("engine.no_listing", uri=uri, detail=_detail(exc)) from None


@contextmanager
def _job_errors() -> Iterator[None]:
    """A failed Spark job (an executor lost, out of memory) as one line: EngineError."""
    try:
        yield
    except (DataError, EngineError):
        raise
    except Exception as exc:
        if not _is_spark_error(exc):
            raise
        raise EngineError("engine.job_failed", detail=_detail(exc)) from None


def _detail(exc: BaseException) -> str:
    """Why a job failed, in one line; a lost connection to the JVM said as such."""
    from py4j.protocol import Py4JNetworkError

    if isinstance(exc, (Py4JNetworkError, ConnectionError)):
        return f"the connection to Spark was lost: {first_line(exc)}"
    return first_line(exc)


def _is_spark_error(exc: BaseException) -> bool:
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    # a JVM that died (out of memory) refuses the connection
    return isinstance(exc, (PySparkException, Py4JError, ConnectionError))


def _outside(F, first: date | None, last: date | None):
    """Claims whose start day lies outside [first, last] (the side tables are read whole)."""
    start = F.col("start_time")

    def midnight(day: date):
        return F.lit(f"{day.isoformat()} 00:00:00").cast("timestamp_ntz")

    out = F.lit(False)
    if first:
        out = out | (start < midnight(first))
    if last:
        out = out | (start >= midnight(last + timedelta(days=1)))
    return (F.col("_table") == "claims") & out


# --- the driver's side ----------------------------------------------------------------


def _files(rows, found: list) -> dict[int, dict]:
    """Per file (by index) what its executors said of it; the first file that could not be
    read stops the run as the embedded reader would: a header problem of any file before
    a problem met while reading rows, each the first in reading order."""
    from pyspark.sql import functions as F

    said: dict[int, list[dict]] = {}
    for r in rows.where(F.col("_kind") == FILE).select("_file", "_meta").collect():
        said.setdefault(r["_file"], []).append(json.loads(r["_meta"]))
    files = {k: parts.whole(facts) for k, facts in said.items()}
    for stage in ("open", "read"):
        for k in range(len(found)):
            error = files[k].get("error")
            if error and error["stage"] == stage:
                raise _data_error(error)
    return files


def _reject_rows(rows) -> dict[int, list[dict]]:
    """The rejects the executors found, per file, in their order (lines already found)."""
    from pyspark.sql import functions as F

    table = rows.where(F.col("_kind") == REJECT) \
        .select("_file", "r_seq", "r_line", "r_column", "r_reason", "r_value", "r_row") \
        .orderBy("_file", "r_seq").toArrow()
    out: dict[int, list[dict]] = {}
    for r in table.to_pylist():
        out.setdefault(r["_file"], []).append(
            {"file": None, "line": r["r_line"], "column": r["r_column"],
             "reason": r["r_reason"], "value": r["r_value"], "row": r["r_row"]})
    return out


def _unified(files: dict[int, dict], found: list) -> dict[str, pa.Schema]:
    """Per table, the schema the embedded reader's merged table has: the files' batches'
    schemas made one as it makes them (``common_types``, then a permissive concat)."""
    by_table: dict[str, list[pa.Table]] = {}
    for k, (name, _, _) in enumerate(found):
        for s in files[k]["schemas"]:
            schema = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(s)))
            by_table.setdefault(name, []).append(schema.empty_table())
    return {name: pa.concat_tables(common_types(empty), promote_options="permissive").schema
            for name, empty in by_table.items()}


def _collect(got: pa.Table, name: str, schema: pa.Schema) -> pd.DataFrame:
    """One table's kept rows ``got`` in reading order, in the embedded reader's columns
    and types, as the embedded reader's frame. Spark gives them in reading order as a
    rule (tasks in file order, records in order within each); when not, they are put in
    order a column at a time, each of Spark's columns let go once taken."""
    key = got.column("_file").to_numpy().astype(np.int64) << 40 \
        | got.column("_record").to_numpy().astype(np.int64)
    order = None if (key[1:] >= key[:-1]).all() else np.argsort(key, kind="stable")
    del key
    names = [n for n in schema.names if n != "_record"]
    columns = {n: got.column(n) for n in names}
    del got
    arrow = {}
    for n in names:
        col = columns.pop(n)
        if order is not None:
            col = col.take(order)
        arrow[n] = pa.chunked_array(_typed(col, schema.field(n).type))
    return _to_frame(arrow, TABLES[name])


def _typed(col: pa.ChunkedArray, kind: pa.DataType) -> list[pa.Array]:
    """Spark's column back in the type the embedded reader gave it."""
    if pa.types.is_null(kind):
        return [pa.nulls(len(col))]
    if col.type == kind:
        return col.chunks
    if pa.types.is_dictionary(kind):
        return [pc.dictionary_encode(c).cast(kind) for c in col.chunks]
    return [c.cast(kind) for c in col.chunks]


def _repeated_rejects(dups: pa.Table, files: dict, found: list, schemas: dict,
                      raw: dict[int, list[dict]]) -> None:
    """The rows whose key an earlier row holds, as the embedded reader rejects them
    (:func:`graphdetect.io.repeated`), added to their files' rejects."""
    order = np.lexsort((dups.column("_record").to_numpy(), dups.column("_file").to_numpy())) \
        if dups.num_rows else []
    for i in order:
        row = dups.slice(int(i), 1)
        k = row.column("_file")[0].as_py()
        name, rel, _ = found[k]
        schema = schemas[name]
        typed = {n: _typed(row.column(n), schema.field(n).type)[0][0].as_py()
                 for n in schema.names if n != "_record"}
        key = TABLES[name].key
        _, reason, value, text = repeated(typed, key)
        raw.setdefault(k, []).append(
            {"file": None, "line": row.column("_line")[0].as_py(),
             "column": files[k]["key_header"], "reason": reason, "value": value,
             "row": text})
    for k, part in raw.items():
        for r in part:
            r["file"] = found[k][1]


def _data_error(error: dict) -> DataError:
    """An executor's DataError, made again in the driver with the same words."""
    args = {k: (lambda lang, v=v: v[lang]) if k in error["rendered"] else v
            for k, v in error["args"].items()}
    return DataError(error["file"], error["key"], **args)
