from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import HEADER, good_row, write_csv
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphdetect import DataError, read_folder
from graphdetect.schema import TABLES


def read_rows(folder, rows, **kw):
    write_csv(folder / "claims.csv", rows, **kw)
    return read_folder(folder)


@pytest.mark.parametrize("over, column, reason", [
    ({"claim_id": ""}, "claim_id", "missing required value"),
    ({"patient_id": "  "}, "patient_id", "missing required value"),
    ({"institution_id": ""}, "institution_id", "missing required value"),
    ({"visit_type": ""}, "visit_type", "missing required value"),
    ({"visit_type": "surgery"}, "visit_type", "unknown visit_type value"),
    ({"start_time": ""}, "start_time", "missing required value"),
    ({"start_time": "2024-02-30"}, "start_time", "unreadable date/time"),
    ({"start_time": "yesterday"}, "start_time", "unreadable date/time"),
    ({"start_time": "20240230"}, "start_time", "unreadable date/time"),
    ({"start_time": "2024030209"}, "start_time", "unreadable date/time"),
    ({"start_time": "1024-01-01"}, "start_time",
     "implausible date (before 1950 or after 2100)"),
    ({"visit_type": "inpatient", "end_time": ""}, "end_time", "inpatient claim needs an end_time"),
    ({"visit_type": "inpatient", "end_time": "2024-03-01"}, "end_time",
     "end_time precedes start_time"),
    ({"end_time": "soon"}, "end_time", "unreadable date/time"),
    ({"total_amount": ""}, "total_amount", "missing required value"),
    ({"total_amount": "abc"}, "total_amount", "unreadable amount"),
    ({"total_amount": "-1"}, "total_amount", "negative amount"),
    ({"fund_amount": "-0.5"}, "fund_amount", "negative amount"),
    ({"fund_amount": "1e999"}, "fund_amount", "unreadable amount"),
])
def test_each_contract_rule_rejects_with_reason(folder, over, column, reason):
    data = read_rows(folder, [good_row(1), good_row(2, **over), good_row(3)])
    assert list(data.claims["claim_id"]) == ["C1", "C3"]
    [rej] = data.rejects.to_dict("records")
    assert (rej["file"], rej["line"], rej["column"], rej["reason"]) == \
        ("claims.csv", 3, column, reason)
    assert json.loads(rej["row"])["claim_id"] == over.get("claim_id", "C2")
    assert data.rows_read == 3


@pytest.mark.parametrize("value, expected, timed", [
    ("2024-03-02", "2024-03-02 00:00:00", False),
    ("2024-03-02 09:15:00", "2024-03-02 09:15:00", True),
    ("2024-03-02 09:15", "2024-03-02 09:15:00", True),
    ("2024-03-02T09:15:07", "2024-03-02 09:15:07", True),
    ("2024-03-02 09:15:07.250", "2024-03-02 09:15:07", True),
    ("2024/3/2", "2024-03-02 00:00:00", False),
    ("2024/3/2 9:05", "2024-03-02 09:05:00", True),
    ("20240302", "2024-03-02 00:00:00", False),
    ("202403020915", "2024-03-02 09:15:00", True),
    ("20240302091507", "2024-03-02 09:15:07", True),
    ("20240302T091507", "2024-03-02 09:15:07", True),
    ("20240302 09:15:07", "2024-03-02 09:15:07", True),
])
def test_date_and_datetime_forms(folder, value, expected, timed):
    data = read_rows(folder, [good_row(1, start_time=value)])
    assert str(data.claims["start_time"].iloc[0]) == expected
    assert bool(data.claims["has_time"].iloc[0]) is timed


def test_repeated_claim_id_keeps_first(folder):
    data = read_rows(folder, [good_row(1, patient_id="A"), good_row(2),
                              good_row(1, patient_id="B")])
    assert list(data.claims["claim_id"]) == ["C1", "C2"]
    assert data.claims["patient_id"].iloc[0] == "A"
    [rej] = data.rejects.to_dict("records")
    assert rej["line"] == 4 and rej["column"] == "claim_id"
    assert json.loads(rej["row"])["patient_id"] == "B"


def test_malformed_row_keeps_line_numbers(folder):
    p = write_csv(folder / "claims.csv", [good_row(1), good_row(2), good_row(3)])
    lines = p.read_text().splitlines()
    lines[2] += ",surplus"
    lines.append(lines[3].replace("C3", "C4").replace("120.50", "-1"))
    p.write_text("\n".join(lines) + "\n")
    data = read_folder(folder)
    assert data.rejects[["line", "reason"]].values.tolist() == [
        [3, "wrong number of fields"], [5, "negative amount"]]
    assert len(data.claims) + len(data.rejects) == data.rows_read == 4


def test_card_defaults_to_patient_and_visit_words(folder):
    rows = [good_row(1, card_id="K9", visit_type="门诊"), good_row(2, visit_type="住院",
            start_time="2024-03-01", end_time="2024-03-05"), good_row(3, visit_type="药店购药",
                                                                     doctor_id="")]
    c = read_rows(folder, rows).claims
    assert list(c["card_id"].astype(str)) == ["K9", "P2", "P3"]
    assert list(c["visit_type"].astype(str)) == ["outpatient", "inpatient", "pharmacy"]
    assert c["doctor_id"].isna().tolist() == [False, False, True]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_encodings_with_chinese_headers(folder, encoding):
    aliases = {c.name: c.aliases[0] if c.aliases else c.name for c in TABLES["claims"].columns}
    header = [aliases[h] for h in HEADER]
    rows = [good_row(1, visit_type="门诊", diagnosis_code="高血压"),
            good_row(2, visit_type="购药")]
    path = folder / "claims.csv"
    write_csv(path, rows, header=header, encoding=encoding)
    data = read_folder(folder)
    assert len(data.claims) == 2 and data.rejects.empty
    assert data.claims["diagnosis_code"].iloc[0] == "高血压"
    expected = "gb18030" if encoding in ("gb18030", "gbk") else "utf-8"
    assert data.files["claims.csv"]["encoding"] == expected


def test_parquet_with_typed_columns_equals_csv(folder, tmp_path):
    rows = [good_row(i) for i in range(1, 6)]
    rows[2].update(visit_type="inpatient", start_time="2024-03-01 08:00:00",
                   end_time="2024-03-04 10:00:00")
    csv_data = read_rows(folder, rows)
    pq_dir = tmp_path / "pq"
    pq_dir.mkdir()
    frame = pd.DataFrame(rows)
    frame["start_time"] = pd.to_datetime(frame["start_time"])
    frame["end_time"] = pd.to_datetime(frame["end_time"].replace("", None))
    frame["total_amount"] = frame["total_amount"].astype(float)
    frame["fund_amount"] = frame["fund_amount"].astype(float)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), pq_dir / "claims.parquet")
    pq_data = read_folder(pq_dir)
    pd.testing.assert_frame_equal(
        csv_data.claims.astype({c: str for c in ["patient_id", "card_id"]}),
        pq_data.claims.astype({c: str for c in ["patient_id", "card_id"]}), check_dtype=False)
    assert pq_data.files["claims.parquet"]["format"] == "parquet"


@pytest.mark.parametrize("content, problem", [
    (b"", "empty file"),
    (b"claim_id,patient_id\nC1,P1\n", "missing required column 'institution_id'"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\xfd", "unknown text encoding"),
    (b"just some words\n", "not a comma-separated table"),
])
def test_unreadable_file_is_one_clear_error(folder, content, problem):
    (folder / "claims.csv").write_bytes(content)
    with pytest.raises(DataError, match=problem) as info:
        read_folder(folder)
    assert str(info.value).startswith("claims.csv: ")


def test_missing_claims_table_and_bad_parquet(folder):
    with pytest.raises(DataError, match="no claims.csv or claims.parquet"):
        read_folder(folder)
    (folder / "claims.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(DataError, match="not a readable Parquet file"):
        read_folder(folder)


def test_optional_tables(folder):
    write_csv(folder / "claims.csv", [good_row(1)])
    (folder / "patients.csv").write_text(
        "个人编号,出生日期,性别,行政区划\nP1,1950-02-01,男,330102001\nP2,1960,X,\nP1,1951-01-01,女,\n",
        encoding="utf-8")
    (folder / "institutions.csv").write_text(
        "institution_id,name,kind,level,ownership\nH1,某某县人民医院,医院,3,公立\nH2,x,药店,7,private\n",
        encoding="utf-8")
    data = read_folder(folder)
    assert list(data.patients["patient_id"]) == ["P1"]
    assert data.patients["sex"].iloc[0] == "M"
    assert list(data.institutions["kind"].astype(str)) == ["hospital"]
    assert sorted(data.rejects["reason"]) == [
        "level must be 0-3", "repeated patient_id; the first row is kept",
        "unknown sex value", "unreadable date/time"]
    # P2 has two bad fields: two problems on one line, by the file's own headers; one row
    two = data.rejects[(data.rejects["file"] == "patients.csv") & (data.rejects["line"] == 3)]
    assert two[["file", "column", "value"]].values.tolist() == [
        ["patients.csv", "出生日期", "1960"], ["patients.csv", "性别", "X"]]
    assert data.files["patients.csv"]["rejected"] == 2 and data.rows_rejected == 3


cells = st.one_of(st.text(max_size=12), st.sampled_from(
    ["", "inpatient", "门诊", "2024-01-01", "2024/13/1", "-3", "1e3", "NaN", "\"", ",", "\n"]))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(cells, min_size=10, max_size=14), max_size=25))
def test_arbitrary_rows_never_crash_or_vanish(tmp_path_factory, rows):
    folder = tmp_path_factory.mktemp("prop")
    path = folder / "claims.csv"
    write_csv(path, [dict(zip(HEADER, r, strict=False)) for r in rows])
    data = read_folder(folder)
    assert len(data.claims) + data.rows_rejected == data.rows_read
    assert data.rows_rejected == data.rejects["line"].nunique()  # rows, not problems
    assert data.claims["claim_id"].is_unique
