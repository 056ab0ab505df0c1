"""Values as the contract reads them: amounts, dates and times, whole numbers, the time zone.

Every test reads real files with the real reader (or runs the real command) and checks the
contract's promise that every row read is accepted or rejected, never lost.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import good_row, write_csv

from graphdetect import ParameterError, read_folder
from graphdetect.messages import REASONS

AMOUNT_CEILING = "implausible amount (over 10 million yuan)"
CLAIM_DATE = "implausible date (before 1950 or after 2100)"
BIRTH_DATE = "implausible date (before 1900 or after 2100)"
GRAPHDETECT = str(Path(sys.executable).parent / "graphdetect")


def assert_every_row_counted(data) -> None:
    """Rows read == accepted + rejected (+ outside the window), per file and per table."""
    for info in data.files.values():
        assert info["rows_read"] == info["accepted"] + info["rejected"] + info["outside_window"]
    for table in ("claims", "patients", "institutions", "doctors"):
        frame = getattr(data, table)
        accepted = sum(f["accepted"] for f in data.files.values() if f["table"] == table)
        assert (0 if frame is None else len(frame)) == accepted
    assert data.rows_read == sum(f["accepted"] + f["rejected"] + f["outside_window"]
                                 for f in data.files.values())


def read_claims(folder: Path, rows: list[dict], **kw):
    write_csv(folder / "claims.csv", rows, **kw)
    data = read_folder(folder)
    assert_every_row_counted(data)
    return data


def rejects_of(data) -> list[tuple[str, str, str]]:
    return [(r["column"], r["reason"], r["value"]) for r in data.rejects.to_dict("records")]


def test_new_reasons_are_in_the_vocabulary():
    for words in (AMOUNT_CEILING, CLAIM_DATE, BIRTH_DATE):
        assert words in REASONS


# -- amounts ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("1234.50", 1234.5), ("1,234.50", 1234.5), ("1,234,567.89", 1234567.89),
    ("12,345", 12345.0), ("¥1,234.50", 1234.5), ("￥ 88", 88.0), ("RMB 100", 100.0),
    ("cny100.5", 100.5), ("120.50元", 120.5), ("¥120.50 元", 120.5), (" 42 ", 42.0),
    (".5", 0.5), ("7.", 7.0), ("1e3", 1000.0), ("1.5E+03", 1500.0), ("+3", 3.0),
    ("0", 0.0), ("10,000,000", 10_000_000.0), ("10000000.00", 10_000_000.0),
])
def test_amount_forms_read(folder, text, value):
    data = read_claims(folder, [good_row(1, total_amount=text, fund_amount=text)])
    assert data.rejects.empty
    assert data.claims["total_amount"].iloc[0] == value
    assert data.claims["fund_amount"].iloc[0] == value


@pytest.mark.parametrize("text", [
    "1.234,50", "12,5", "1,23,456", "1,2345", ",123", "123,", "1,,234", "1.234.5",
    "1 234", "NaN", "nan", "inf", "-inf", "Infinity", "1e999", "$5", "¥¥5", "5元元", "5 yuan",
    "0x10", "1,234e3", "--5", "¥", "元",
])
def test_unreadable_amounts_are_rejected(folder, text):
    data = read_claims(folder, [good_row(1), good_row(2, total_amount=text, fund_amount=text)])
    assert list(data.claims["claim_id"]) == ["C1"]
    assert rejects_of(data) == [("total_amount", "unreadable amount", text.strip()),
                                ("fund_amount", "unreadable amount", text.strip())]


@pytest.mark.parametrize("text", ["10000000.01", "12,345,678", "1e308", "¥99,999,999.00"])
def test_amounts_above_the_ceiling_are_implausible(folder, text):
    data = read_claims(folder, [good_row(1, total_amount=text), good_row(2, fund_amount=text)])
    assert data.claims.empty
    assert rejects_of(data) == [("total_amount", AMOUNT_CEILING, text),
                                ("fund_amount", AMOUNT_CEILING, text)]


def test_negative_amounts_keep_their_reason(folder):
    data = read_claims(folder, [good_row(1, total_amount="-5"),
                                good_row(2, fund_amount="-1,234.5")])
    assert [r[1] for r in rejects_of(data)] == ["negative amount", "negative amount"]


def write_parquet(folder: Path, columns: dict) -> None:
    rows = [good_row(i) for i in range(1, 1 + len(next(iter(columns.values()))))]
    frame = pd.DataFrame(rows)
    for name, values in columns.items():
        frame[name] = values
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, folder / "claims.parquet")


def test_typed_float_amounts_follow_the_same_rules(folder):
    totals = pa.array([12.5, math.inf, -math.inf, 1e308, 10_000_000.0, 10_000_000.5, 0.0],
                      pa.float64())
    # from_pandas would take NaN for null: a NaN written as such is a value, and unreadable
    totals = pa.concat_arrays([totals, pa.array([math.nan], pa.float64(), from_pandas=False)])
    rows = [good_row(i) for i in range(1, 9)]
    table = pa.Table.from_pylist(rows).set_column(7, "total_amount", totals)
    pq.write_table(table, folder / "claims.parquet")
    data = read_folder(folder)
    assert_every_row_counted(data)
    assert list(data.claims["claim_id"]) == ["C1", "C5", "C7"]
    assert [(r["line"], r["reason"]) for r in data.rejects.to_dict("records")] == [
        (2, "unreadable amount"), (3, "unreadable amount"), (4, AMOUNT_CEILING),
        (6, AMOUNT_CEILING), (8, "unreadable amount")]


def test_typed_integer_and_decimal_amounts(folder):
    write_parquet(folder, {"total_amount": pa.array([120, 2**62], pa.int64()),
                           "fund_amount": pa.array([None, None], pa.decimal128(38, 2))})
    data = read_folder(folder)
    assert_every_row_counted(data)
    assert list(data.claims["total_amount"]) == [120.0]
    assert [r["reason"] for r in data.rejects.to_dict("records")] == [AMOUNT_CEILING]


# -- whole numbers ------------------------------------------------------------------------

def test_whole_numbers(folder):
    write_csv(folder / "claims.csv", [good_row(i, patient_id=f"P{i}") for i in range(1, 8)])
    (folder / "patients.csv").write_text(
        "patient_id,birth_year\nP1,1960\nP2,1960.0\nP3,1e308\nP4,inf\nP5,1960.5\nP6,1850\n"
        "P7,1900\n", encoding="utf-8")
    (folder / "institutions.csv").write_text(
        "institution_id,level\nH0,2\nH1,99999999999999999999\nH2,1e400\n", encoding="utf-8")
    data = read_folder(folder)
    assert_every_row_counted(data)
    assert list(data.patients["patient_id"]) == ["P1", "P2", "P7"]
    assert list(data.patients["birth_year"]) == [1960, 1960, 1900]
    assert list(data.institutions["institution_id"]) == ["H0"]
    assert rejects_of(data) == [
        ("birth_year", "unreadable number", "1e308"), ("birth_year", "unreadable number", "inf"),
        ("birth_year", "unreadable number", "1960.5"), ("birth_year", BIRTH_DATE, "1850"),
        ("level", "unreadable number", "99999999999999999999"),
        ("level", "unreadable number", "1e400")]


# -- dates and times ----------------------------------------------------------------------

@pytest.mark.parametrize("value, reason", [
    ("1949-12-31", CLAIM_DATE), ("1900-01-01", CLAIM_DATE), ("1024-01-01", CLAIM_DATE),
    ("2101-01-01 00:00:00", CLAIM_DATE), ("9999-12-31", CLAIM_DATE),
    ("2024-02-30", "unreadable date/time"), ("2024-03-01T25:00:00", "unreadable date/time"),
])
def test_implausible_claim_dates_say_so(folder, value, reason):
    data = read_claims(folder, [good_row(1), good_row(2, start_time=value)])
    assert rejects_of(data) == [("start_time", reason, value)]


def test_claim_date_bounds_are_inclusive(folder):
    data = read_claims(folder, [good_row(1, start_time="1950-01-01"),
                                good_row(2, start_time="2100-12-31 23:59:59")])
    assert data.rejects.empty and len(data.claims) == 2


def test_birth_dates_reach_back_to_1900(folder):
    write_csv(folder / "claims.csv", [good_row(1)])
    (folder / "patients.csv").write_text(
        "patient_id,birth_date\nP1,1900-01-01\nP2,1899-12-31\nP3,1935-06-01\nP4,2101-01-01\n",
        encoding="utf-8")
    data = read_folder(folder)
    assert_every_row_counted(data)
    assert list(data.patients["patient_id"]) == ["P1", "P3"]
    assert str(data.patients["birth_date"].iloc[0]) == "1900-01-01 00:00:00"
    assert rejects_of(data) == [("birth_date", BIRTH_DATE, "1899-12-31"),
                                ("birth_date", BIRTH_DATE, "2101-01-01")]


@pytest.mark.parametrize("value, local", [
    ("2024-03-01T07:30:00+08:00", "2024-03-01 07:30:00"),
    ("2024-03-01T07:30:00+0800", "2024-03-01 07:30:00"),
    ("2024-03-01T07:30:00+08", "2024-03-01 07:30:00"),
    ("2024-03-01T07:30:00Z", "2024-03-01 15:30:00"),
    ("2024-03-01 07:30Z", "2024-03-01 15:30:00"),
    ("2024-03-01T07:30:00.250+08:00", "2024-03-01 07:30:00"),
    ("2024-02-29T23:30:00-05:00", "2024-03-01 12:30:00"),
    ("2024-03-01T07:30:00+05:45", "2024-03-01 09:45:00"),
    ("2024/3/1 7:30+00:00", "2024-03-01 15:30:00"),
])
def test_datetimes_with_an_offset_become_local_time(folder, value, local):
    data = read_claims(folder, [good_row(1, start_time=value)])
    assert data.rejects.empty
    assert str(data.claims["start_time"].iloc[0]) == local
    assert bool(data.claims["has_time"].iloc[0])


@pytest.mark.parametrize("value", [
    "2024-03-01T07:30:00+25:00", "2024-03-01T07:30:00+08:60", "2024-03-01Z",
    "2024-03-01+08:00", "2024-03-01T07:30:00 PST", "2024-03-01T07:30:00+8",
])
def test_bad_offsets_are_unreadable(folder, value):
    data = read_claims(folder, [good_row(1, start_time=value)])
    assert rejects_of(data) == [("start_time", "unreadable date/time", value)]


def test_offsets_convert_to_the_time_zone_given(folder):
    write_csv(folder / "claims.csv", [
        good_row(1, start_time="2024-03-01T07:30:00+08:00"),
        good_row(2, start_time="2024-07-01T12:00:00Z"),
        good_row(3, start_time="2024-03-01 07:30:00")])
    utc = read_folder(folder, time_zone="UTC")
    assert_every_row_counted(utc)
    assert list(utc.claims["start_time"].astype(str)) == [
        "2024-02-29 23:30:00", "2024-07-01 12:00:00", "2024-03-01 07:30:00"]
    berlin = read_folder(folder, time_zone="Europe/Berlin")  # summer time in July
    assert list(berlin.claims["start_time"].astype(str)) == [
        "2024-03-01 00:30:00", "2024-07-01 14:00:00", "2024-03-01 07:30:00"]


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../etc/passwd", "UTC+8"])
def test_an_unknown_time_zone_is_a_parameter_error(folder, zone):
    write_csv(folder / "claims.csv", [good_row(1)])
    with pytest.raises(ParameterError, match="time_zone"):
        read_folder(folder, time_zone=zone)


# -- a discharge given as a date ----------------------------------------------------------

def test_discharge_date_on_the_admission_day_is_accepted(folder):
    rows = [good_row(1, visit_type="inpatient", start_time="2024-03-01 10:00",
                     end_time="2024-03-01"),
            good_row(2, visit_type="inpatient", start_time="2024-03-01 10:00",
                     end_time="2024-02-29"),
            good_row(3, visit_type="inpatient", start_time="2024-03-01 10:00",
                     end_time="2024-03-01 09:00"),
            good_row(4, visit_type="inpatient", start_time="2024-03-01",
                     end_time="2024-03-01"),
            good_row(5, visit_type="inpatient", start_time="2024-03-01 10:00",
                     end_time="2024-03-03")]
    data = read_claims(folder, rows)
    assert list(data.claims["claim_id"]) == ["C1", "C4", "C5"]
    # a bare discharge date on the admission day: a stay of no length, at the admission
    assert list(data.claims["end_time"].astype(str)) == [
        "2024-03-01 10:00:00", "2024-03-01 00:00:00", "2024-03-03 00:00:00"]
    assert rejects_of(data) == [("end_time", "end_time precedes start_time", "2024-02-29"),
                                ("end_time", "end_time precedes start_time", "2024-03-01 09:00")]


def test_a_same_day_stay_is_a_stay_of_that_day(folder):
    from graphdetect.detectors._stays import stays
    from graphdetect.graph import ClaimsGraph

    rows = [good_row(1, visit_type="inpatient", start_time="2024-03-01 10:00",
                     end_time="2024-03-01", institution_id="H1"),
            good_row(2, visit_type="inpatient", start_time="2024-02-28 08:00",
                     end_time="2024-03-02", institution_id="H2", patient_id="P1")]
    graph = ClaimsGraph.from_data(read_claims(folder, rows))
    s = stays(graph)
    same_day = s[s["row"] == 0].iloc[0]
    assert same_day["start"] == same_day["end"] == np.datetime64("2024-03-01", "D").astype(int)
    assert same_day["end_s"] >= same_day["start_s"]


# -- the command line, strict JSON and the recorded time zone -----------------------------

def graphdetect(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([GRAPHDETECT, *args], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "GRAPHDETECT_LANG": "en",
                               "GRAPHDETECT_THREADS": "2"}, timeout=300)


def strict(text: str):
    def refuse(name):
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def test_a_bad_time_zone_stops_the_command_in_one_line(folder, tmp_path):
    write_csv(folder / "claims.csv", [good_row(1)])
    out = tmp_path / "run"
    res = graphdetect("detect", str(folder), "--out", str(out), "--time-zone", "Mars/Olympus")
    assert res.returncode == 2
    assert res.stdout == "" and res.stderr.count("\n") == 1
    assert res.stderr.startswith("Error: ") and "time_zone" in res.stderr
    assert not out.exists()


def test_run_near_the_ceiling_writes_strict_json_and_nothing_on_stderr(planted, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for f in planted.iterdir():
        if f.is_file():
            (data / f.name).write_bytes(f.read_bytes())
    claims = pd.read_csv(planted / "claims.csv", dtype=str, keep_default_na=False)
    n = len(claims)
    claims.loc[::3, "total_amount"] = "9,999,999.99"
    claims.loc[1::3, "total_amount"] = "0"
    claims.loc[::5, "fund_amount"] = "¥9,999,999.99"
    claims.loc[::7, "total_amount"] = "1e308"
    claims.to_csv(data / "claims.csv", index=False)
    out = tmp_path / "run"
    res = graphdetect("detect", str(data), "--out", str(out), "--quiet")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "" and res.stderr == ""
    for name in ("summary.json", "cases.jsonl"):
        lines = (out / name).read_text(encoding="utf-8").splitlines()
        assert lines
        if name.endswith(".jsonl"):
            for line in lines:
                strict(line)
    summary = strict((out / "summary.json").read_text(encoding="utf-8"))
    rows = summary["rows"]
    assert rows["read"] == rows["accepted"] + rows["rejected"]
    assert summary["inputs"]["claims.csv"]["rows_read"] == n
    assert summary["rejected_by_reason"]["claims: " + AMOUNT_CEILING] == len(range(0, n, 7))
    assert summary["time_zone"] == "Asia/Shanghai"


def test_the_time_zone_is_recorded_and_makes_another_run(folder, tmp_path):
    write_csv(folder / "claims.csv", [good_row(1, start_time="2024-03-01T07:30:00Z"),
                                      good_row(2)])
    runs = {}
    for zone in ("Asia/Shanghai", "UTC"):
        out = tmp_path / zone.replace("/", "-")
        res = graphdetect("detect", str(folder), "--out", str(out), "--quiet",
                          "--time-zone", zone)
        assert res.returncode == 0 and res.stderr == "", res.stderr
        runs[zone] = strict((out / "summary.json").read_text(encoding="utf-8"))
    assert runs["Asia/Shanghai"]["time_zone"] == "Asia/Shanghai"
    assert runs["UTC"]["time_zone"] == "UTC"
    assert runs["UTC"]["run_id"] != runs["Asia/Shanghai"]["run_id"]
    assert runs["UTC"]["claims"]["first_day"] == "2024-03-01"


def test_readers_of_a_run_use_its_time_zone(folder, tmp_path):
    from graphdetect.export._evidence import load_evidence
    from graphdetect.review.data import RunView

    write_csv(folder / "claims.csv", [good_row(1, start_time="2024-03-01T20:30:00Z")])
    out = tmp_path / "run"
    res = graphdetect("detect", str(folder), "--out", str(out), "--quiet", "--time-zone", "UTC")
    assert res.returncode == 0, res.stderr
    view = RunView(out)
    assert str(view.graph.claims["start_time"].iloc[0]) == "2024-03-01 20:30:00"
    evidence = load_evidence(view.summary, ["C1"])
    assert str(evidence.claims["start_time"].iloc[0]) == "2024-03-01 20:30:00"
    old = RunView(out, summary={k: v for k, v in view.summary.items() if k != "time_zone"})
    assert str(old.graph.claims["start_time"].iloc[0]) == "2024-03-02 04:30:00"
