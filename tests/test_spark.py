"""The Spark engine (``detect --engine spark``) on a real local[2] Spark: the same bytes as
the embedded engine, and its errors as one line.

One SparkSession serves every Spark test (a JVM takes seconds to start; the ``spark``
fixture in conftest.py); ``detect_folder`` uses the session already active. Without PySpark
or Java these tests skip on a bare machine and FAIL when CI=true: ``make test`` installs
both (tests/spark_support.py).
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from conftest import good_row, write_csv
from generator_support import SMALL
from spark_support import MASTER, SAME, SAMPLE, need_spark

from graphdetect.cli import main
from graphdetect.engines.spark.session import check_master, java, parse_conf, require
from graphdetect.errors import EngineError
from graphdetect.run import detect_folder

need_spark()



def both(data: Path, tmp: Path, spark, **options) -> tuple[dict, dict]:
    """Run both engines on ``data``; their outputs must be the same bytes."""
    embedded = detect_folder(data, tmp / "embedded", **options)
    on_spark = detect_folder(data, tmp / "spark", engine="spark", master=MASTER, **options)
    for name in SAME:
        assert (tmp / "spark" / name).read_bytes() == (tmp / "embedded" / name).read_bytes(), name
    a, b = (json.loads((tmp / run / "summary.json").read_text()) for run in ("embedded", "spark"))
    # the Spark read's steps, timed within the read stage (the embedded read has none)
    assert [k for k in b["timings"] if k.startswith("read.")] == [
        f"read.{step}" for step in ("files", "rejects", "repeated", "window", "collect",
                                    "numbered")]
    assert not any(k.startswith("read.") for k in a["timings"])
    for s in (a, b):
        s.pop("timings")
    assert a.pop("engine") == "embedded" and "spark" not in a
    assert b.pop("engine") == "spark"
    assert b.pop("spark") == {"master": MASTER, "version": spark.version}
    assert a == b
    return embedded, on_spark


def test_sample_is_the_same_on_spark(spark, tmp_path):
    embedded, _ = both(SAMPLE, tmp_path, spark)
    assert embedded["cases"] > 0


@pytest.fixture(scope="module")
def dirty_city(tmp_path_factory) -> Path:
    """A generated city (2,000 people) whose claims.csv ends in rows that break the rules:
    one per problem of the contract, a row over several lines, a repeated claim id."""
    from graphdetect.synth import generate

    out = tmp_path_factory.mktemp("dirty")
    generate(out, **SMALL)
    claims = out / "claims.csv"
    header = claims.read_text(encoding="utf-8").splitlines()[0].split(",")
    with claims.open(encoding="utf-8") as f:
        first = next(csv.DictReader(f))
    bad = [dict(first, total_amount="-4"),  # repeated claim id and a negative amount
           dict(first, claim_id="X1", start_time="2024-02-30"),
           dict(first, claim_id="X2", patient_id=""),
           dict(first, claim_id="X3", total_amount="1.234,50", fund_amount="NaN"),
           dict(first, claim_id="X4", visit_type="inpatient", end_time=""),
           dict(first, claim_id="X5", visit_type="teleport"),
           dict(first, claim_id="X6", total_amount="20000000"),
           dict(first, claim_id="X7", diagnosis_code="line one\nline two"),
           dict(first),  # repeated claim id, otherwise good
           dict(first, claim_id="X8", start_time="1900-01-01")]
    with claims.open("a", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, header, lineterminator="\n")
        w.writerows(bad)
        f.write("X9,too,few\n")
    return out


def test_generated_city_with_bad_rows_is_the_same_on_spark(spark, dirty_city, tmp_path):
    embedded, _ = both(dirty_city, tmp_path, spark)
    assert embedded["rows"]["rejected"] == 10  # the row over two lines is good
    assert "claims: repeated claim_id; the first row is kept" in embedded["rejected_by_reason"]


@pytest.fixture(scope="module")
def monthly(dirty_city, tmp_path_factory) -> Path:
    """The dirty city's claims as a folder of files: CSV and Parquet mixed, one month with
    Chinese headers and without terminal ids, a claim id repeated across files."""
    out = tmp_path_factory.mktemp("monthly")
    for name in ("patients", "institutions", "doctors"):
        shutil.copy(dirty_city / f"{name}.csv", out / f"{name}.csv")
    header = (dirty_city / "claims.csv").read_text(encoding="utf-8").splitlines()[0]
    options = pacsv.ConvertOptions(strings_can_be_null=False,
                                   column_types={n: pa.string() for n in header.split(",")})
    claims = pacsv.read_csv(dirty_city / "claims.csv", convert_options=options,
                            parse_options=pacsv.ParseOptions(
                                newlines_in_values=True, invalid_row_handler=lambda r: "skip"))
    n = claims.num_rows
    part = [claims.slice(0, n // 3), claims.slice(n // 3, n // 3), claims.slice(2 * (n // 3))]
    folder = out / "claims"
    (folder / "2024-02").mkdir(parents=True)
    pacsv.write_csv(part[0], folder / "2024-01.csv")
    pq.write_table(part[1], folder / "2024-02" / "part-0.parquet")
    chinese = part[2].drop_columns(["terminal_id"]).rename_columns(
        ["结算流水号" if c == "claim_id" else "医疗总费用" if c == "total_amount" else c
         for c in part[2].drop_columns(["terminal_id"]).column_names])
    repeated = part[0].slice(5, 2).drop_columns(["terminal_id"]).rename_columns(
        chinese.column_names)
    pq.write_table(pa.concat_tables([repeated, chinese.slice(0, 1000)]),
                   folder / "2024-03.parquet")
    pacsv.write_csv(chinese.slice(1000), folder / "2024-04.csv")
    (folder / "_SUCCESS").write_text("")
    return out


def test_folder_of_csv_and_parquet_is_the_same_on_spark(spark, monthly, tmp_path):
    embedded, _ = both(monthly, tmp_path, spark)
    assert len(embedded["inputs"]) == 7
    rejects = (tmp_path / "spark" / "rejects.csv").read_text(encoding="utf-8")
    assert "claims/2024-03.parquet,1,结算流水号,repeated claim_id" in rejects


@pytest.fixture(scope="module")
def row_groups(dirty_city, tmp_path_factory) -> Path:
    """The dirty city's claims as one Parquet file of small row groups (1,000 rows), its
    bad rows spread over several of them, beside the city's side tables."""
    out = tmp_path_factory.mktemp("row_groups")
    for name in ("patients", "institutions", "doctors"):
        shutil.copy(dirty_city / f"{name}.csv", out / f"{name}.csv")
    header = (dirty_city / "claims.csv").read_text(encoding="utf-8").splitlines()[0]
    claims = pacsv.read_csv(dirty_city / "claims.csv", convert_options=pacsv.ConvertOptions(
        strings_can_be_null=False, column_types={n: pa.string() for n in header.split(",")}),
        parse_options=pacsv.ParseOptions(newlines_in_values=True,
                                         invalid_row_handler=lambda row: "skip"))
    n = claims.num_rows
    bad = claims.slice(n - 10)
    good = claims.slice(0, n - 10)
    step = good.num_rows // 10
    pieces = [t for i in range(10) for t in (good.slice(i * step, step), bad.slice(i, 1))]
    pieces.append(good.slice(10 * step))
    pq.write_table(pa.concat_tables(pieces), out / "claims.parquet", row_group_size=1000)
    return out


def test_a_parquet_file_read_in_parts_is_the_same_on_spark(spark, row_groups, tmp_path,
                                                           monkeypatch):
    """A large Parquet file is read by several tasks, each some whole row groups (here
    parts of 2,500 rows or more): its rows keep their numbers in the file, and its
    rejects, its hash and its counts are the file's, as the embedded engine gives them."""
    from graphdetect.engines.spark import parts as cut

    path = str(row_groups / "claims.parquet")
    meta = pq.ParquetFile(path).metadata
    assert cut.of(path) == [(-1, -1)]            # under PART_ROWS: one task
    monkeypatch.setattr(cut, "PART_ROWS", 2500)
    parts = cut.of(path)
    assert len(parts) >= 4 and parts[0][0] == 0 and parts[-1][1] == meta.num_row_groups
    assert all(a[1] == b[0] for a, b in zip(parts, parts[1:], strict=False))
    assert all(sum(meta.row_group(g).num_rows for g in range(lo, hi)) >= 2500
               for lo, hi in parts[:-1])
    embedded, _ = both(row_groups, tmp_path, spark)
    assert embedded["rows"]["rejected"] == 9   # the dirty city's, less its row of 3 fields
    with (tmp_path / "spark" / "rejects.csv").open(encoding="utf-8") as f:
        lines = {r["line"] for r in csv.DictReader(f)}
    assert len({(int(x) - 2) // 2500 for x in lines}) >= 4   # rejects from several parts


def test_claims_numbered_where_they_were_read_or_not_at_all(spark):
    """The claims are numbered in the tasks that read them, a file's parts one after
    another, records in order; a part whose rows a step spread over several tasks is
    an error, never wrong rows."""
    from graphdetect.engines.spark.keys import numbered

    rows = [("claims", 1, 0, 4, "a"), ("claims", 1, 0, 9, "b"), ("patients", 0, 0, 1, "x"),
            ("claims", 0, 0, 2, "c"), ("claims", 0, 1, 7, "d"), ("claims", 0, 1, 8, "e")]
    kept = spark.createDataFrame(rows, "_table string, _file int, _part int, _record long, "
                                       "patient_id string").coalesce(1)
    got = numbered(spark, kept, ("patient_id",))
    try:
        assert sorted(tuple(r) for r in got.collect()) == [
            (0, "c"), (1, "d"), (2, "e"), (3, "a"), (4, "b")]
    finally:
        got.unpersist()
    spread = spark.createDataFrame(rows * 40, kept.schema).repartition(7, "_record")
    with pytest.raises(RuntimeError, match="not numbered in one run"):
        numbered(spark, spread, ("patient_id",))


def test_tables_whose_keys_rise_part_by_part_are_not_searched_for_repeats():
    """A table every part of which has rising keys, no two parts' ranges meeting, holds
    no key twice (the usual export, sorted by its id): Spark need not count its keys.
    Keys that fall back anywhere, or two parts' ranges that meet, are counted."""
    from graphdetect.engines.spark.keys import held_once

    def rising(first, last):
        return {"rising": True, "first": first, "last": last}

    found = [("claims", "a.csv", ""), ("claims", "b.parquet", ""), ("patients", "p.csv", ""),
             ("doctors", "d1.csv", ""), ("doctors", "d2.csv", ""), ("institutions", "i.csv", "")]
    files = {0: {"keys": [rising("C0005", "C0009")]},
             1: {"keys": [rising("C0001", "C0004"), rising("C0010", "C0020"), None]},
             2: {"keys": [{"rising": False}]},
             3: {"keys": [rising("D1", "D5")]}, 4: {"keys": [rising("D5", "D7")]},
             5: {"keys": [None]}}
    assert held_once(files, found) == {"claims", "institutions", "regions"}


def test_window_is_the_same_on_spark(spark, monthly, tmp_path):
    embedded, _ = both(monthly, tmp_path, spark, since="2024-01-20", until="2024-03-10")
    assert embedded["rows"]["outside_window"] > 0


def test_unreadable_file_is_the_same_error_on_spark(spark, folder, tmp_path):
    write_csv(folder / "claims" / "a.csv", [good_row(1)])
    (folder / "claims" / "b.csv").write_text("结算流水号,patient_id\nC1,P1\n", encoding="utf-8")
    with pytest.raises(Exception) as embedded:
        detect_folder(folder, tmp_path / "e")
    with pytest.raises(type(embedded.value)) as on_spark:
        detect_folder(folder, tmp_path / "s", engine="spark", master=MASTER)
    assert on_spark.value.text("zh") == embedded.value.text("zh")
    assert str(on_spark.value) == str(embedded.value)
    assert "claims/b.csv: missing required column" in str(on_spark.value)


def test_cli_runs_on_spark(spark, folder, tmp_path):
    write_csv(folder / "claims.csv", [good_row(1), good_row(2, total_amount="-4"), good_row(1)])
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["detect", str(folder), "--out", str(out), "--engine",
                                    "spark", "--master", MASTER, "--spark-conf",
                                    "spark.sql.shuffle.partitions=4"])
    assert res.exit_code == 0, res.output
    assert "3 rows read, 1 accepted, 2 rejected" in res.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["engine"] == "spark" and summary["spark"]["master"] == MASTER


@pytest.mark.parametrize("args, words", [
    (["--master", "nowhere://x"], "Error: --master nowhere://x: not a Spark master URL"),
    (["--master", "local[0]"], "Error: --master local[0]: not a Spark master URL"),
    (["--spark-conf", "spark.executor.memory"],
     "Error: --spark-conf spark.executor.memory: expected KEY=VALUE"),
])
def test_cli_engine_errors_are_one_line_and_exit_2(folder, tmp_path, args, words):
    write_csv(folder / "claims.csv", [good_row(1)])
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["detect", str(folder), "--out", str(out),
                                    "--engine", "spark", *args])
    assert res.exit_code == 2
    assert res.output.startswith(words) and res.output.strip().count("\n") == 0
    assert not out.exists() and list(tmp_path.iterdir()) == [folder]


def test_missing_pyspark_or_java_says_what_to_install(tmp_path):
    with pytest.raises(EngineError) as exc:
        require(find_spec=lambda name: None)
    assert "pip install 'graphdetect[spark]'" in str(exc.value)
    assert "graphdetect[spark]" in exc.value.text("zh")
    with pytest.raises(EngineError) as exc:
        require(java_path=lambda: None)
    assert "openjdk-17-jre-headless" in str(exc.value)
    assert java({"JAVA_HOME": str(tmp_path)}) is None  # a JAVA_HOME without bin/java


def test_master_and_conf_are_checked():
    for good in ("local", "local[*]", "local[4]", "local[2,3]", "spark://h1:7077,h2:7077",
                 "yarn", "k8s://https://10.0.0.1:443"):
        assert check_master(good) == good
    for bad in ("", "local[]", "spark://", "mesos", "yarn-client"):
        with pytest.raises(EngineError):
            check_master(bad)
    assert parse_conf(["a=b=c"]) == {"a": "b=c"}
    with pytest.raises(EngineError):
        parse_conf(["=x"])


def test_a_failed_spark_job_is_one_line():
    from pyspark.errors import PySparkRuntimeError

    from graphdetect.engines.spark.read import _job_errors

    with pytest.raises(EngineError) as exc, _job_errors():
        raise PySparkRuntimeError("Traceback (most recent call last):\n  File x\n"
                                  "MemoryError: executor 3 ran out of memory")
    assert str(exc.value) == ("the Spark job failed (MemoryError: executor 3 ran out of "
                              "memory); nothing was written")
    with pytest.raises(ZeroDivisionError), _job_errors():  # a bug stays a bug
        raise ZeroDivisionError
