"""Parquet files, in every way they store text, read to the same data as the CSV of their rows.

Columns of repeated words are read as dictionaries, and ids of one width are sorted as
integers (``graphdetect.io._encode``): these paths must give what the text path gives.
"""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import HEADER, good_row, write_csv

from graphdetect import read_folder
from graphdetect.io._encode import led_categorical, sorted_categorical

ODD = ["", " ", "  P1 ", "P1", "\u3000P2", "P2\u00a0", "P3\t", "x", "人员1", " 人员1", "Ｐ1"]


def messy_rows(n: int = 400, seed: int = 3) -> list[dict]:
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        patient = rnd.choice(ODD) if rnd.random() < 0.1 else f"3399{rnd.randrange(99):012d}"
        rows.append(good_row(
            i, patient_id=patient,
            institution_id=rnd.choice(["H1", " H1", "H2 ", "", "医院1"]),
            doctor_id=rnd.choice(["D1", "", " ", "D2 "]),
            visit_type=rnd.choice(["outpatient"] * 6 + [" 住院", "INPATIENT", "", "x", "购药 "]),
            start_time=rnd.choice(["2024-03-02 09:15:00"] * 6 + ["2024-03-03", "", "2024-02-30"]),
            end_time=rnd.choice(["", "", "2024-03-06", "2024-03-01"]),
            diagnosis_code=rnd.choice(["I10", " I10", "", "高血压"]),
            card_id=rnd.choice(["", "", "K1", " K2", "  "])))
    rows += [good_row(7, patient_id="P9"), good_row(11, patient_id="P8")]  # repeated claim ids
    return rows


def frame_of(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=HEADER)


def as_categories(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.replace({"": None}).astype({c: "category" for c in (
        "patient_id", "institution_id", "doctor_id", "visit_type", "card_id")})


WRITERS = {
    "dictionary pages": lambda f, p: pq.write_table(pa.Table.from_pandas(f), p),
    "plain pages": lambda f, p: pq.write_table(pa.Table.from_pandas(f), p, use_dictionary=False),
    "dictionary fallback": lambda f, p: pq.write_table(
        pa.Table.from_pandas(f), p, row_group_size=150, data_page_size=512,
        dictionary_pagesize_limit=128),
    "nulls for blanks": lambda f, p: pq.write_table(pa.Table.from_pandas(f.replace({"": None})), p),
    "categorical columns": lambda f, p: pq.write_table(pa.Table.from_pandas(as_categories(f)), p),
    "large strings": lambda f, p: pq.write_table(pa.Table.from_pandas(f).cast(
        pa.schema([pa.field(c, pa.large_string()) for c in HEADER])), p),
}


def assert_same_claims(got, expected):
    pd.testing.assert_frame_equal(got.claims, expected.claims, check_exact=True)
    for c in got.claims.select_dtypes("category"):
        assert list(got.claims[c].cat.categories) == list(expected.claims[c].cat.categories)
    key = ["line", "column", "reason"]
    csv_lines = expected.rejects.assign(line=expected.rejects["line"] - 1)  # CSV has a header
    assert got.rejects[key].values.tolist() == csv_lines[key].values.tolist()


@pytest.mark.parametrize("form", list(WRITERS))
def test_parquet_text_reads_as_its_csv(tmp_path, form):
    rows = messy_rows()
    write_csv(tmp_path / "csv" / "claims.csv", rows)
    (tmp_path / "pq").mkdir()
    WRITERS[form](frame_of(rows), tmp_path / "pq" / "claims.parquet")
    expected, got = read_folder(tmp_path / "csv"), read_folder(tmp_path / "pq")
    assert len(expected.rejects) > 20 and len(expected.claims) > 100
    assert_same_claims(got, expected)


def test_folder_of_files_storing_ids_differently(tmp_path):
    rows = messy_rows(900)
    low = [dict(r, patient_id=random.Random(i).choice(["P1", " P2", "", "P3 "]))
           for i, r in enumerate(rows[:300])]
    write_csv(tmp_path / "csv" / "claims.csv", low + rows[300:])
    months = tmp_path / "pq" / "claims"
    months.mkdir(parents=True)
    WRITERS["dictionary pages"](frame_of(low), months / "2024-01.parquet")
    WRITERS["plain pages"](frame_of(rows[300:600]), months / "2024-02.parquet")
    write_csv(months / "2024-03.csv", rows[600:])
    expected, got = read_folder(tmp_path / "csv"), read_folder(tmp_path / "pq")
    pd.testing.assert_frame_equal(got.claims, expected.claims, check_exact=True)
    assert sorted(got.rejects["reason"]) == sorted(expected.rejects["reason"])


@pytest.mark.parametrize("values", [
    ["3399000000000002", "3399000000000001", None, "3399000000000002"],  # one width
    ["A1", "B22", None, "A1", "", "é9"],  # widths differ: hashed
    ["Z9", "é9", "A1", "Z9"],  # multi-byte text: sorted bytewise, as Arrow sorts
    ["ü0", "e12", None, "é1", "e12"],  # one width in bytes, multi-byte
    [None, None],
])
def test_sorted_categorical_equals_pandas_order(values):
    col = pa.chunked_array([pa.array(values[:2], pa.string()), pa.array(values[2:], pa.string())])
    got = sorted_categorical(col)
    words = sorted({v for v in values if v is not None}, key=lambda v: v.encode())
    assert list(got.categories) == words
    assert [None if c < 0 else words[c] for c in got.codes] == values
    assert np.asarray(got.codes).dtype.kind == "i"


@pytest.mark.parametrize("seed", range(6))
def test_ids_following_a_parent_equal_their_own_sort(seed):
    """A card found from its patient's codes equals the card sorted on its own, whether
    cards follow patients, sometimes differ, are null, or their patients are."""
    rnd = random.Random(seed)
    patients = [f"P{rnd.randrange(40):02d}" if rnd.random() > 0.05 else None for _ in range(300)]
    card_of = {p: f"C{rnd.randrange(60):02d}" for p in patients}
    odd = [0.0, 0.02, 0.3, 1.0][seed % 4]
    cards = [None if rnd.random() < 0.05 * (seed % 2) else
             f"C{rnd.randrange(60):02d}" if rnd.random() < odd or p is None else card_of[p]
             for p in patients]
    _, lead = led_categorical(pa.chunked_array([patients[:100], patients[100:]], pa.string()))
    col = pa.chunked_array([cards[:7], cards[7:]], pa.string())
    got, rows = led_categorical(col, lambda: lead)
    alone, own_rows = led_categorical(col)
    assert list(got.categories) == list(alone.categories)
    assert got.codes.tolist() == alone.codes.tolist()
    assert got.tolist() == [c if c is not None else np.nan for c in cards]
    assert [cards[r] for r in rows[1]] == [cards[r] for r in own_rows[1]] == list(got.categories)


def test_side_table_files_with_and_without_a_dictionary_column(folder):
    write_csv(folder / "claims.csv", [good_row(1)])
    (folder / "patients").mkdir()
    (folder / "patients" / "a.csv").write_text("patient_id,sex\nP1,M\n")
    pq.write_table(pa.table({"patient_id": ["P2", "P3"], "region_code": ["r2", " r1"]}),
                   folder / "patients" / "b.parquet")
    (folder / "patients" / "c.csv").write_text("patient_id,region_code\nP4,r2\n")
    patients = read_folder(folder).patients
    assert list(patients["region_code"].cat.categories) == ["r1", "r2"]
    assert patients["region_code"].tolist()[1:] == ["r2", "r1", "r2"]
