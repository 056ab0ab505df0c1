"""The cell policy on every CSV graphdetect writes: no live formula, no bidi override."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
from conftest import good_row, login, write_csv

from graphdetect.cells import BIDI, csv_bytes, read_cell, safe_cell
from graphdetect.run import detect_folder

PATIENT = "=cmd|' /C calc'!A0"
HOST = "@SUM(A1)"
DOCTOR = "+1+1"
DIAGNOSIS = "-2+3"
CARD = "\u202egpj.exe"
LINK = '=HYPERLINK("http://evil")'
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def cells(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def assert_inert(data: bytes, where: str) -> list[list[str]]:
    """Every cell of a CSV file is safe to open in a spreadsheet."""
    rows = cells(data)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            live = value.startswith(TRIGGERS) and safe_cell(value) != value
            assert not live, f"{where} row {r} column {c}: live formula {value!r}"
            assert not set(value) & set(BIDI), f"{where} row {r} column {c}: bidi {value!r}"
    return rows


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory) -> Path:
    """A split stay whose patient, host, doctor, diagnosis and card are formulas."""
    base = tmp_path_factory.mktemp("cells")
    stays = [("03-01", "03-05"), ("03-06", "03-10"), ("03-11", "03-15"), ("03-16", "03-20")]
    rows = [good_row(100 + k, patient_id=PATIENT, institution_id=HOST, doctor_id=DOCTOR,
                     visit_type="inpatient", start_time=f"2024-{a} 10:00:00",
                     end_time=f"2024-{b} 09:00:00", total_amount="5000",
                     diagnosis_code=DIAGNOSIS, card_id=CARD)
            for k, (a, b) in enumerate(stays)]
    rows += [good_row(i) for i in range(1, 30)]
    rows.append(good_row(999, total_amount=LINK))  # rejected: its value lands in rejects.csv
    write_csv(base / "data" / "claims.csv", rows)
    detect_folder(base / "data", base / "run")
    return base / "run"


def test_safe_cell_round_trips():
    for value in [PATIENT, HOST, DOCTOR, DIAGNOSIS, LINK, "'quoted", "\tTAB", "plain", "-12.5",
                  "+86", "1e5", "P-12", ""]:
        assert read_cell(safe_cell(value)) == value
    assert csv_bytes(["a"], [[LINK]]).decode("utf-8-sig") == 'a\n"\'=HYPERLINK(""http://evil"")"\n'


def test_run_files_are_inert_and_read_back(hostile_run):
    scores = assert_inert((hostile_run / "entity_scores.csv").read_bytes(), "entity_scores")
    ids = {(k, read_cell(i)) for k, i, *_ in scores[1:]}
    assert {("patient", PATIENT), ("institution", HOST), ("doctor", DOCTOR)} <= ids
    rejects = assert_inert((hostile_run / "rejects.csv").read_bytes(), "rejects")
    assert [read_cell(r[4]) for r in rejects[1:]] == [LINK]


def test_review_downloads_are_inert(hostile_run, review_db):
    from graphdetect.review import create_app

    app = create_app({"RUN": str(hostile_run), "DB": str(review_db), "SECRET_KEY": "t",
                      "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    # anyone can plant a user name in the audit log by failing to log in with it
    assert client.post("/login", data={"username": LINK, "password": "x" * 10}).status_code == 401
    login(client, "admin")
    res = client.get("/cases/S-0001/claims.csv")
    assert res.status_code == 200
    rows = assert_inert(res.data, "claims download")
    patient = rows[0].index("patient_id")
    assert {read_cell(r[patient]) for r in rows[1:]} == {PATIENT}
    audit = assert_inert(client.get("/admin/audit.csv").data, "audit")
    assert LINK in {read_cell(r[2]) for r in audit[1:]}


def test_package_files_are_inert(hostile_run, tmp_path):
    from graphdetect.export import export_case, zip_path

    folder = export_case(hostile_run, "S-0001", tmp_path / "exports", user="li")
    with zipfile.ZipFile(zip_path(folder)) as zf:
        names = [n for n in zf.namelist() if n.endswith(".csv")]
        assert {"claims.csv", "members.csv"} <= {n.rsplit("/", 1)[1] for n in names}
        for name in names:
            assert_inert(zf.read(name), name)
    members = cells((folder / "members.csv").read_bytes())
    assert {read_cell(r[1]) for r in members[1:]} >= {PATIENT, HOST, DOCTOR}
