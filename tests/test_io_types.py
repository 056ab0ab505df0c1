"""Every Arrow type a settlement export can write to Parquet is read or refused by rule.

Each test writes a real Parquet file with pyarrow and reads it with the real reader (or runs
the real command): a type is read to the values the contract promises, or its rows are
rejected with a reason, or the run stops with one clear line (exit 2) naming the column
and its type; never a traceback. Every read keeps the contract's promise that each row
read is accepted or rejected.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import HEADER, good_row, write_csv
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphdetect import read_folder
from graphdetect.errors import DataError

GRAPHDETECT = str(Path(sys.executable).parent / "graphdetect")
#: 2024-03-02 09:15:00 in Shanghai (UTC+8) is 01:15:00 UTC.
INSTANT = dt.datetime(2024, 3, 2, 1, 15, tzinfo=dt.UTC)
EPOCH_S = int(INSTANT.timestamp())
LOCAL = pd.Timestamp("2024-03-02 09:15:00")


def claims_columns(n: int = 3) -> dict[str, pa.Array]:
    rows = [good_row(i) for i in range(n)]
    return {h: pa.array([r[h] or None for r in rows], pa.string()) for h in HEADER}


def write_claims(folder: Path, **columns) -> Path:
    """claims.parquet of good rows, with the given columns in place of their text."""
    table = claims_columns(len(next(iter(columns.values()))) if columns else 3)
    table.update(columns)
    path = folder / "claims.parquet"
    pq.write_table(pa.table(table), path)
    return path


def read(folder: Path):
    """Read a folder and check that every row read was accepted or rejected."""
    data = read_folder(folder)
    for count in data.files.values():
        assert count["rows_read"] == count["accepted"] + count["rejected"]
    claims = [c for c in data.files.values() if c["table"] == "claims"]
    assert sum(c["accepted"] for c in claims) == len(data.claims)
    return data


def detect(folder: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([GRAPHDETECT, "detect", str(folder), "--out", str(tmp_path / "run"),
                           "--quiet"], capture_output=True, text=True,
                          env={**os.environ, "GRAPHDETECT_LANG": "en"})


def assert_refused(folder: Path, tmp_path: Path, *words: str) -> None:
    """The command stops with exit 2 and one line naming the problem, no traceback."""
    res = detect(folder, tmp_path)
    assert res.returncode == 2, res.stderr
    assert res.stderr.startswith("Error: ") and res.stderr.count("\n") == 1, res.stderr
    assert "Traceback" not in res.stderr
    for word in words:
        assert word in res.stderr
    assert not (tmp_path / "run").exists()


# --- dates and times -------------------------------------------------------------------

@pytest.mark.parametrize("values", [
    pa.array([EPOCH_S] * 3, pa.int64()),                      # seconds
    pa.array([EPOCH_S * 1000] * 3, pa.int64()),               # milliseconds
    pa.array([EPOCH_S * 10**6] * 3, pa.int64()),              # microseconds
    pa.array([EPOCH_S * 10**9] * 3, pa.int64()),              # nanoseconds
    pa.array([EPOCH_S] * 3, pa.uint32()),
    pa.array([EPOCH_S + 0.25] * 3, pa.float64()),             # seconds with a fraction
    pa.array([EPOCH_S * 1000.0] * 3, pa.float64()),           # whole milliseconds as floats
], ids=["s", "ms", "us", "ns", "uint32", "float s", "float ms"])
def test_epochs_are_instants_read_in_local_time(folder, values):
    write_claims(folder, start_time=values)
    data = read(folder)
    assert data.claims["start_time"].tolist() == [LOCAL] * 3
    assert data.claims["has_time"].all()


def test_epoch_nulls_are_missing_and_nonsense_is_unreadable(folder):
    write_claims(folder, start_time=pa.array([EPOCH_S, None, float("nan"), float("inf")]))
    data = read(folder)
    assert data.claims["start_time"].tolist() == [LOCAL]
    rejects = dict(zip(data.rejects["line"], data.rejects["reason"], strict=True))
    assert rejects[2] == rejects[3] == "missing required value"
    assert rejects[4] == "unreadable date/time"
    assert data.rejects["value"].tolist()[-1] == "inf"


@pytest.mark.parametrize("far", [-6.213562594300001e+16, -9.0e16, 9.9e16])
def test_an_epoch_beyond_pythons_years_is_a_rejected_row_shown_as_it_was(folder, far):
    """Found by the property test below: a float epoch taken as microseconds lands in
    year 0 (or past 9999); the row is implausible, and its value must still be shown."""
    write_claims(folder, start_time=pa.array([EPOCH_S, far], pa.float64()))
    data = read(folder)
    assert data.claims["start_time"].tolist() == [LOCAL]
    assert data.rejects["line"].tolist() == [2]
    assert data.rejects["value"].tolist()[0]  # Arrow's text of the far time, not a crash


@pytest.mark.parametrize("values", [
    pa.array([20240302, 20240302, 20240302], pa.int32()),
    pa.array([20240302.0, 20240302.0, 20240302.0], pa.float64()),
])
def test_whole_dates_as_yyyymmdd_numbers(folder, values):
    write_claims(folder, start_time=values)
    data = read(folder)
    assert data.claims["start_time"].tolist() == [pd.Timestamp("2024-03-02")] * 3
    assert not data.claims["has_time"].any()


@pytest.mark.parametrize("values", [pa.array([20240302091507, 20240230091507] * 2, pa.int64()),
                                    pa.array([20240302091507.0, 20240230091507.0] * 2)])
def test_whole_times_as_yyyymmddhhmmss_numbers(folder, values):
    """Local wall-clock times, not instants (as milliseconds since 1970: the year 2611);
    30 February is rejected as its text would be."""
    write_claims(folder, start_time=values)
    data = read(folder)
    assert data.claims["start_time"].tolist() == [pd.Timestamp("2024-03-02 09:15:07")] * 2
    assert data.claims["has_time"].all()
    assert data.rejects[["line", "reason", "value"]].values.tolist() == [
        [2, "unreadable date/time", "20240230091507"], [4, "unreadable date/time",
                                                         "20240230091507"]]


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_naive_timestamps_are_wall_clock_times_as_today(folder, unit):
    write_claims(folder, start_time=pa.array([LOCAL.to_pydatetime()] * 3, pa.timestamp(unit)))
    assert read(folder).claims["start_time"].tolist() == [LOCAL] * 3


@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai", "Europe/Berlin", "+08:00"])
@pytest.mark.parametrize("unit", ["s", "ms", "ns"])
def test_zoned_timestamps_become_local_wall_clock(folder, zone, unit):
    early = dt.datetime(2024, 3, 1, 23, 30, tzinfo=dt.UTC)  # 07:30 in Shanghai
    values = pa.array([early] * 3, pa.timestamp(unit, "UTC")).cast(pa.timestamp(unit, zone))
    write_claims(folder, start_time=values)
    data = read(folder)
    assert data.claims["start_time"].tolist() == [pd.Timestamp("2024-03-02 07:30")] * 3


def test_instants_follow_the_time_zone_given(folder):
    write_claims(folder, start_time=pa.array([EPOCH_S] * 3),
                 end_time=pa.array([INSTANT] * 3, pa.timestamp("ms", "Asia/Shanghai")))
    claims = read_folder(folder, time_zone="UTC").claims
    assert claims["start_time"].tolist() == claims["end_time"].tolist() == [
        pd.Timestamp("2024-03-02 01:15")] * 3


@pytest.mark.parametrize("kind", [pa.date32(), pa.date64()])
def test_dates_have_no_time_of_day(folder, kind):
    write_claims(folder, start_time=pa.array([dt.date(2024, 3, 2)] * 3, kind))
    data = read(folder)
    assert data.claims["start_time"].tolist() == [pd.Timestamp("2024-03-02")] * 3
    assert not data.claims["has_time"].any()


@pytest.mark.parametrize("kind", [pa.time64("us"), pa.time32("s")])
def test_a_time_of_day_is_not_a_date(folder, tmp_path, kind):
    write_claims(folder, start_time=pa.array([dt.time(9, 15)] * 3, kind))
    with pytest.raises(DataError, match="start_time"):
        read_folder(folder)
    assert_refused(folder, tmp_path, "claims.parquet", "start_time", str(kind)[:6])


@pytest.mark.parametrize("values, born", [
    (pa.array([19800101, None, 19991231], pa.int32()), ["1980-01-01", None, "1999-12-31"]),
    (pa.array([19800101.0, None, 19991231.0]), ["1980-01-01", None, "1999-12-31"]),
    (pa.array([1980, None, 1999], pa.int64()), ["1980-01-01", None, "1999-01-01"]),
    (pa.array([19800101, 20240230, None], pa.int32()), ["1980-01-01", None]),
], ids=["yyyymmdd", "yyyymmdd as floats", "years", "a day that does not exist"])
def test_birth_dates_as_numbers(folder, values, born):
    write_claims(folder)
    pq.write_table(pa.table({"patient_id": ["P1", "P2", "P3"], "出生日期": values}),
                   folder / "patients.parquet")
    data = read(folder)
    got = data.patients["birth_date"].tolist()
    assert [None if pd.isna(b) else b for b in got] == [b and pd.Timestamp(b) for b in born]
    assert data.files["patients.parquet"]["rejected"] == 3 - len(born)
    if len(born) < 3:
        assert data.rejects[["column", "reason", "value"]].values.tolist() == [
            ["出生日期", "unreadable date/time", "20240230"]]


# --- amounts ----------------------------------------------------------------------------

def test_a_true_false_amount_stops_the_run(folder, tmp_path):
    write_claims(folder, total_amount=pa.array([True, False, None]))
    with pytest.raises(DataError, match="total_amount"):
        read_folder(folder)
    assert_refused(folder, tmp_path, "total_amount", "bool")


def test_a_time_in_an_amount_column_stops_the_run(folder, tmp_path):
    write_claims(folder, **{"total_amount": pa.array([LOCAL.to_pydatetime()] * 3)})
    assert_refused(folder, tmp_path, "total_amount", "timestamp")


# --- text: ids and codes ----------------------------------------------------------------

def test_numbers_in_id_columns_read_as_their_decimal_text(folder):
    write_claims(folder,
                 claim_id=pa.array([1, 2, 3], pa.int64()),
                 patient_id=pa.array([3399000000000001.0, 12.0, None]),
                 institution_id=pa.array([7, 7, 8], pa.uint8()),
                 doctor_id=pa.array([1.5, float("nan"), 2.0]),
                 diagnosis_code=pa.array([101, 102, 103], pa.int32()).dictionary_encode())
    data = read(folder)
    claims = data.claims
    assert claims["claim_id"].tolist() == ["1", "2"]
    assert claims["patient_id"].tolist() == ["3399000000000001", "12"]
    assert claims["institution_id"].tolist() == ["7", "7"]
    assert claims["doctor_id"].isna().tolist() == [False, True]
    assert claims["doctor_id"].tolist()[0] == "1.5"
    assert claims["diagnosis_code"].tolist() == ["101", "102"]
    assert data.rejects["reason"].tolist() == ["missing required value"]


STRINGS = {
    "large_string": pa.large_string(), "string_view": pa.string_view(),
    "binary": pa.binary(), "large_binary": pa.large_binary(),
}


@pytest.mark.parametrize("kind", list(STRINGS))
def test_every_text_type_reads_as_text(tmp_path, kind):
    plain, other = tmp_path / "plain", tmp_path / "other"
    plain.mkdir(), other.mkdir()
    columns = claims_columns(6)
    columns["patient_id"] = pa.array(["P1", " P2", None, "", "P1", "人员"])
    columns["start_time"] = pa.array(["2024-03-02 09:15:00", "x", None, "2024-03-03",
                                      "2024-03-02", "2024-03-04"])
    pq.write_table(pa.table(columns), plain / "claims.parquet")
    pq.write_table(pa.table({k: v.cast(STRINGS[kind]) for k, v in columns.items()}),
                   other / "claims.parquet")
    expected, got = read(plain), read(other)
    pd.testing.assert_frame_equal(got.claims, expected.claims)
    pd.testing.assert_frame_equal(got.rejects.drop(columns="row"),
                                  expected.rejects.drop(columns="row"))


def test_bytes_that_are_not_utf8_stop_the_run(folder, tmp_path):
    write_claims(folder, doctor_id=pa.array([b"D1", b"\xff\xfe", None]))
    assert_refused(folder, tmp_path, "doctor_id", "binary", "UTF-8")


def test_categorical_columns_read_as_their_values(tmp_path):
    """What pandas writes for categoricals: dictionaries of text, of numbers, of times."""
    rows = [good_row(i, start_time=["2024-03-02 09:15:00", "2024-03-03"][i % 2],
                     total_amount=["120.50", "99"][i % 2]) for i in range(8)]
    plain, coded = tmp_path / "plain", tmp_path / "coded"
    write_csv(plain / "claims.csv", rows)
    frame = pd.DataFrame(rows, columns=HEADER).replace({"": None})
    categorical = frame.astype("category")
    coded.mkdir()
    pq.write_table(pa.Table.from_pandas(categorical, preserve_index=False),
                   coded / "claims.parquet")
    expected, got = read(plain), read(coded)
    pd.testing.assert_frame_equal(got.claims, expected.claims)
    typed = frame.assign(total_amount=frame["total_amount"].astype(float),
                         start_time=pd.to_datetime(frame["start_time"], format="mixed"),
                         institution_id=frame["institution_id"].str[1:].astype(int))
    pq.write_table(pa.Table.from_pandas(typed.astype(
        {"total_amount": "category", "start_time": "category", "institution_id": "category"}),
        preserve_index=False), coded / "claims.parquet")
    got = read(coded)
    assert got.claims["total_amount"].tolist() == expected.claims["total_amount"].tolist()
    assert got.claims["start_time"].tolist() == expected.claims["start_time"].tolist()
    assert got.claims["institution_id"].tolist() == [
        v[1:] for v in expected.claims["institution_id"]]


@pytest.mark.parametrize("values", [
    pa.array([["P1"], ["P2"], None]),
    pa.array([{"id": "P1"}, {"id": "P2"}, None]),
    pa.array([[("k", "v")], [], None], pa.map_(pa.string(), pa.string())),
], ids=["list", "struct", "map"])
@pytest.mark.parametrize("column", ["patient_id", "start_time", "fund_amount"])
def test_nested_values_in_a_mapped_column_stop_the_run(folder, tmp_path, values, column):
    write_claims(folder, **{column: values})
    with pytest.raises(DataError, match=column):
        read_folder(folder)
    assert_refused(folder, tmp_path, "claims.parquet", column, str(values.type).split("<")[0])


def test_nested_values_in_an_unmapped_column_are_ignored(folder):
    write_claims(folder, notes=pa.array([["a"], ["b"], None]))
    assert len(read(folder).claims) == 3


def test_the_message_speaks_chinese(folder, tmp_path):
    write_claims(folder, total_amount=pa.array([True, False, None]))
    res = subprocess.run([GRAPHDETECT, "--lang", "zh", "detect", str(folder), "--out",
                          str(tmp_path / "run")], capture_output=True, text=True)
    assert res.returncode == 2 and res.stderr.startswith("错误：")
    assert "total_amount" in res.stderr and "bool" in res.stderr


# --- side tables that are not files ----------------------------------------------------

def test_a_side_table_that_is_a_folder_named_like_a_file_stops_the_run(folder, tmp_path):
    write_claims(folder)
    (folder / "patients.csv").mkdir()
    with pytest.raises(DataError, match="patients.csv"):
        read_folder(folder)
    assert_refused(folder, tmp_path, "patients.csv")


def test_a_side_table_that_is_a_link_loop_stops_the_run(folder, tmp_path):
    write_claims(folder)
    (folder / "doctors.csv").symlink_to(folder / "doctors.csv")
    assert_refused(folder, tmp_path, "doctors.csv")


def test_a_broken_link_in_a_table_folder_stops_the_run(folder, tmp_path):
    (folder / "claims").mkdir()
    write_claims(folder / "claims")
    (folder / "claims" / "2024-02.parquet").symlink_to(folder / "nowhere.parquet")
    assert_refused(folder, tmp_path, "claims/2024-02.parquet")


def test_a_linked_side_table_file_is_read(folder):
    write_claims(folder)
    target = folder.parent / "elsewhere.csv"
    target.write_text("patient_id,sex\nP1,M\n")
    (folder / "patients.csv").symlink_to(target)
    assert read(folder).patients["sex"].tolist() == ["M"]


# --- any schema: read by rule or refused, never a crash --------------------------------

TIMES = [dt.datetime(2024, 3, 2, 9, 15), dt.datetime(1899, 1, 1), dt.datetime(2024, 3, 3)]
TYPES = {
    "string": (pa.string(), st.sampled_from(["P1", " P2 ", "", "2024-03-02", "12.5", "x"])),
    "large_string": (pa.large_string(), st.sampled_from(["P1", "2024-03-02 09:15", "-3"])),
    "dictionary": (pa.dictionary(pa.int32(), pa.string()),
                   st.sampled_from(["P1", "住院", "outpatient", "2024-03-02", "7"])),
    "int32": (pa.int32(), st.integers(-2**31, 2**31 - 1)),
    "int64": (pa.int64(), st.one_of(st.integers(-2**63, 2**63 - 1),
                                    st.sampled_from([20240302, EPOCH_S, EPOCH_S * 1000]))),
    "float64": (pa.float64(), st.floats(allow_nan=True, allow_infinity=True)),
    "bool": (pa.bool_(), st.booleans()),
    "null": (pa.null(), st.none()),
    "date32": (pa.date32(), st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31))),
    "date64": (pa.date64(), st.dates(dt.date(1800, 1, 1), dt.date(2200, 1, 1))),
    **{f"timestamp[{u}{', ' + z if z else ''}]": (
        pa.timestamp(u, z), st.sampled_from(TIMES).map(
            lambda t, z=z: t.replace(tzinfo=dt.UTC) if z else t))
       for u in ("s", "ms", "us", "ns") for z in (None, "UTC", "Asia/Shanghai")},
}
MAPPED = ["claim_id", "patient_id", "institution_id", "visit_type", "start_time", "end_time",
          "total_amount", "fund_amount", "card_id"]


@st.composite
def claims_tables(draw) -> pa.Table:
    n = draw(st.integers(1, 6))
    columns = claims_columns(n)
    for name in draw(st.lists(st.sampled_from(MAPPED), min_size=1, max_size=4, unique=True)):
        kind, values = TYPES[draw(st.sampled_from(sorted(TYPES)))]
        cells = draw(st.lists(st.one_of(st.none(), values), min_size=n, max_size=n))
        columns[name] = pa.array(cells, kind.value_type if pa.types.is_dictionary(kind)
                                 else kind)
        if pa.types.is_dictionary(kind):
            columns[name] = columns[name].dictionary_encode()
    return pa.table(columns)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(table=claims_tables())
def test_any_schema_is_read_by_rule_or_refused(tmp_path, table):
    pq.write_table(table, tmp_path / "claims.parquet")
    try:
        data = read_folder(tmp_path)
    except DataError as exc:
        assert "\n" not in str(exc)
        return
    assert data.rows_read == table.num_rows == len(data.claims) + data.rows_rejected
    assert len({line for line in data.rejects["line"]}) == data.rows_rejected
