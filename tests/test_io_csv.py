"""CSV files as they arrive: damaged text, blank lines, line breaks in quotes, an unclosed
quote, a header without a final newline.

Every test reads real files with the real reader (and, where the promise is about what a
user sees, runs the real command line), and checks the contract's count: rows read equal
rows accepted plus rows rejected.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import HEADER, good_row, write_csv
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphdetect import DataError, read_folder

GRAPHDETECT = Path(sys.executable).with_name("graphdetect")
#: Rows of about 100 bytes: 12,600 of them make a file of ~1.2 MiB, past the first MiB.
PAD = "T" * 34


def counts_hold(data) -> None:
    """The contract's promise: every row read is accepted or rejected."""
    assert data.rows_read == len(data.claims) + data.rows_rejected
    assert data.rows_rejected == data.rejects["line"].nunique()


def lines_of(rows: list[dict], header=HEADER) -> list[str]:
    return [",".join(header), *(",".join(r.get(h, "") for h in HEADER) for r in rows)]


def write_lines(path: Path, lines: list[bytes | str], end: bytes = b"\n") -> Path:
    path.write_bytes(end.join(x if isinstance(x, bytes) else x.encode() for x in lines) + end)
    return path


def detect(folder: Path, out: Path, *args: str) -> subprocess.CompletedProcess:
    """The real command line in a subprocess, in English."""
    return subprocess.run([str(GRAPHDETECT), "--lang", "en", "detect", str(folder), "--out",
                           str(out), *args], capture_output=True, text=True, timeout=300)


def rejects_at(data) -> list[tuple[int, str]]:
    return data.rejects[["line", "reason"]].values.tolist()


# 1. Damaged text: one decision per file, a bad row rejected, never a stop or a traceback

def zh_row(i: int, **over) -> dict:
    return good_row(i, visit_type="门诊", diagnosis_code="高血压", terminal_id=PAD, **over)


@pytest.mark.parametrize("short", [False, True])
def test_invalid_utf8_past_the_first_megabyte_is_one_rejected_row(folder, tmp_path, short):
    rows = [good_row(i, terminal_id=PAD) for i in range(1, 12_601)]
    lines = [x.encode() for x in lines_of(rows)]
    assert sum(len(x) + 1 for x in lines[:12_000]) > 1 << 20
    # file line 12,001: a bad byte in a field, or in a row that is also short
    lines[12_000] = b"C12000,P\xff,H1" if short else lines[12_000].replace(b"I10", b"I1\xff")
    write_lines(folder / "claims.csv", lines)
    data = read_folder(folder)
    counts_hold(data)
    assert data.rows_read == 12_600 and data.rows_rejected == 1
    assert set(data.rejects["line"]) == {12_001}
    assert "undecodable text" in set(data.rejects["reason"])
    assert data.files["claims.csv"]["encoding"] == "utf-8"
    assert "C12000" not in set(data.claims["claim_id"])
    res = detect(folder, tmp_path / "run")
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""
    assert "12,600 rows read, 12,599 accepted, 1 rejected" in res.stdout


@pytest.mark.parametrize("at", [5, 12_000])
def test_a_gbk_row_in_a_utf8_file_is_rejected_not_the_file(folder, at):
    rows = [zh_row(i) for i in range(1, 12_601)]
    lines = lines_of(rows)
    raw = [x.encode() for x in lines]
    raw[at] = lines[at].encode("gbk")  # one row written by another system
    write_lines(folder / "claims.csv", raw)
    data = read_folder(folder)
    counts_hold(data)
    assert data.files["claims.csv"]["encoding"] == "utf-8"
    assert rejects_at(data) == [[at + 1, "undecodable text"]]
    assert len(data.claims) == 12_599
    assert set(data.claims["diagnosis_code"]) == {"高血压"}
    assert set(data.claims["visit_type"].astype(str)) == {"outpatient"}


@pytest.mark.parametrize("damage", [
    b"OP\xff,",  # not GB18030 either
    b"OP1,\x81\x30",  # a four-byte character broken off by the line's end, not joining lines
])
def test_a_gbk_file_with_a_damaged_row_stays_gbk(folder, damage):
    lines = lines_of([zh_row(i) for i in range(1, 301)])
    raw = [x.encode("gbk") for x in lines]
    raw[150] = raw[150].replace(b"OP1,", damage)
    write_lines(folder / "claims.csv", raw)
    data = read_folder(folder)
    counts_hold(data)
    assert data.files["claims.csv"]["encoding"] == "gb18030"
    assert rejects_at(data) == [[151, "undecodable text"]]
    assert set(data.claims["diagnosis_code"]) == {"高血压"}


def test_a_damaged_row_that_also_breaks_the_fields_is_one_row(folder):
    lines = [x.encode() for x in lines_of([good_row(i) for i in range(1, 6)])]
    lines[3] = lines[3] + b",\xff"
    write_lines(folder / "claims.csv", lines)
    data = read_folder(folder)
    counts_hold(data)
    assert data.rows_read == 5 and data.rows_rejected == 1
    assert set(data.rejects["line"]) == {4}


def test_a_file_that_is_not_text_still_stops_with_one_message(folder):
    zipped = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)) * 8  # an .xlsx
    (folder / "claims.csv").write_bytes(zipped)
    with pytest.raises(DataError, match="claims.csv: unknown text encoding"):
        read_folder(folder)


# 2. Line numbers are the file's lines

def test_line_numbers_count_blank_lines(folder):
    lines = lines_of([good_row(i) for i in range(1, 400)])
    lines[302] = lines[302].replace("120.50", "-1")  # file line 303
    lines[350] += ",surplus"  # file line 351
    lines[200:200] = ["", ""]  # two blank lines before both
    write_lines(folder / "claims.csv", lines)
    data = read_folder(folder)
    counts_hold(data)
    assert data.rows_read == 399
    assert rejects_at(data) == [[305, "negative amount"], [353, "wrong number of fields"]]


@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"])
def test_line_numbers_through_line_breaks_in_quotes(folder, end):
    nl = end.decode()
    header = ",".join(HEADER).replace("diagnosis_code", f'"diagnosis_code{nl}(ICD-10)"')
    rows = [",".join(r[h] for h in HEADER) for r in (good_row(i) for i in range(1, 9))]
    rows[1] = rows[1].replace("I10", f'"I10{nl}I11{nl}I12"')  # record on lines 5-7
    rows[3] = rows[3].replace("120.50", "-1")  # line 9
    rows[4] += ",surplus"  # line 10
    rows[6] = rows[6].replace("OP1", f'"OP1{nl}"')  # lines 12-13
    rows[7] = rows[7].replace("120.50", "abc")  # line 14
    # the header on lines 1-2, a blank line 3, the first row on line 4
    write_lines(folder / "claims.csv", [header, "", *rows], end)
    data = read_folder(folder)
    counts_hold(data)
    assert data.rows_read == 8
    assert rejects_at(data) == [[9, "negative amount"], [10, "wrong number of fields"],
                                [14, "unreadable amount"]]


# 3. A line break in a quoted header name is one record

def test_a_line_break_in_a_quoted_header_invents_no_row(folder):
    header = ",".join(HEADER).replace("claim_id", '"claim_id\n"')
    lines = [header, *lines_of([good_row(i) for i in range(1, 51)])[1:]]
    write_lines(folder / "claims.csv", lines)
    data = read_folder(folder)
    counts_hold(data)
    assert data.rows_read == 50 and data.rows_rejected == 0
    assert data.claims["claim_id"].iloc[0] == "C1"


# 4. An unclosed quote is reported as such

@pytest.mark.parametrize("column", ["diagnosis_code", "card_id"])
def test_an_unclosed_quote_is_reported_with_its_line_and_what_it_swallowed(
        folder, tmp_path, column):
    rows = [good_row(i) for i in range(1, 301)]
    rows[99][column] = '"A' + rows[99][column]  # file line 101, never closed
    write_lines(folder / "claims.csv", lines_of(rows))
    data = read_folder(folder)
    counts_hold(data)
    assert data.rows_read == 100 and data.rows_rejected == 1  # CSV's rules: one record
    assert rejects_at(data) == [[101, "unclosed quote"]]
    [rej] = data.rejects.to_dict("records")
    assert len(rej["row"]) < 200  # the line where the quote opened, not the rest of the file
    assert data.files["claims.csv"]["unclosed_quote"] == {"line": 101, "lines": 200}
    res = detect(folder, tmp_path / "run")
    assert res.returncode == 0 and res.stderr == "", res.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["inputs"]["claims.csv"]["unclosed_quote"] == {"line": 101, "lines": 200}
    assert "claims.csv: a quote opened on line 101 is never closed" in res.stdout


def test_a_closed_multiline_last_row_is_not_an_unclosed_quote(folder):
    lines = lines_of([good_row(i) for i in range(1, 4)])
    lines[3] = lines[3].replace("I10", '"I10\nI11"')
    write_lines(folder / "claims.csv", lines)
    data = read_folder(folder)
    counts_hold(data)
    assert data.rows_rejected == 0 and "unclosed_quote" not in data.files["claims.csv"]


# 5. A header without rows, with or without a final newline

@pytest.mark.parametrize("end", [b"", b"\n", b"\r\n"])
def test_a_header_only_file_has_no_rows_and_runs(folder, tmp_path, end):
    (folder / "claims.csv").write_bytes(",".join(HEADER).encode() + end)
    data = read_folder(folder)
    counts_hold(data)
    assert data.rows_read == 0 and len(data.claims) == 0
    res = detect(folder, tmp_path / "run")
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stderr == ""


def test_utf8_and_gbk_files_read_as_before(folder):
    rows = [zh_row(i) for i in range(1, 20)]
    write_csv(folder / "claims.csv", rows, encoding="gbk")
    data = read_folder(folder)
    counts_hold(data)
    assert data.files["claims.csv"]["encoding"] == "gb18030" and data.rejects.empty
    write_csv(folder / "claims.csv", rows, encoding="utf-8-sig")
    data = read_folder(folder)
    assert data.files["claims.csv"]["encoding"] == "utf-8" and data.rejects.empty
    assert list(data.claims["diagnosis_code"].unique()) == ["高血压"]


# Every damage at once, on any file: the counts hold and every line is a line of the file

def test_each_file_of_a_folder_keeps_its_own_lines(folder):
    (folder / "claims").mkdir()
    write_csv(folder / "claims" / "2024-01.csv", [good_row(i) for i in range(1, 4)])
    lines = [x.encode() for x in lines_of([good_row(i) for i in range(4, 9)])]
    lines[2] = lines[2].replace(b"OP1", b"OP\xff")  # line 3, then line 5 after two blanks
    lines[3:3] = [b"", b""]
    lines[5] = lines[5].replace(b"120.50", b"-1")
    write_lines(folder / "claims" / "2024-02.csv", lines, b"\r\n")
    data = read_folder(folder)
    counts_hold(data)
    assert data.rows_read == 8
    assert data.rejects[["file", "line", "reason"]].values.tolist() == [
        ["claims/2024-02.csv", 3, "undecodable text"], ["claims/2024-02.csv", 6, "negative amount"]]


pieces = st.sampled_from([b"a", b"C9", b",", b'"', b"\n", b"\r\n", b"\r", b"\xff", "门诊".encode(),
                          "门诊".encode("gbk"), b"2024-03-02", b"1.5"])


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(pieces, max_size=30), max_size=20))
def test_damaged_files_never_crash_and_count_every_record(tmp_path_factory, rows):
    folder = tmp_path_factory.mktemp("damaged")
    body = b"".join(b"".join(r) + b"\n" for r in rows)
    data = ",".join(HEADER).encode() + b"\n" + lines_of([good_row(1)])[1].encode() + b"\n" + body
    (folder / "claims.csv").write_bytes(data)
    try:
        read = read_folder(folder)
    except DataError as exc:  # only a file that is mostly not text stops
        assert "unknown text encoding" in str(exc)
        return
    counts_hold(read)
    text = data.decode(read.files["claims.csv"]["encoding"], "graphdetect.replace")
    records = [r for r in csv.reader(io.StringIO(text, newline="")) if r]
    assert read.rows_read == len(records) - 1
    last_line = len(io.StringIO(text, newline="").readlines())
    assert all(2 <= line <= last_line for line in read.rejects["line"])
