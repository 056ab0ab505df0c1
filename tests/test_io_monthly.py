"""Data that arrives monthly: a table as a folder of files, and the --since/--until window.

The generated city is cut by month into ``claims/2024-01.csv``, ``claims/2024-02.parquet``,
``claims/2024-03.csv`` (Chinese headers, GB18030, columns in another order) and
``claims/2024-04.parquet``; a run over the folder must find what a run over the single
file finds.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from conftest import HEADER, good_row, write_csv
from export_support import need_font

from graphdetect import DataError, ParameterError, read_folder
from graphdetect.cells import read_cell
from graphdetect.cli import main
from graphdetect.export import ExportError, export_case, verify_package
from graphdetect.export._evidence import load_evidence
from graphdetect.review.data import RunView
from graphdetect.run import detect_folder, load_summary, read_cases
from graphdetect.schema import TABLES

ZH = {c.name: c.aliases[0] for c in TABLES["claims"].columns}
ZH_VISIT = {"outpatient": "门诊", "inpatient": "住院", "pharmacy": "购药"}
MONTHS = {"2024-01": "csv", "2024-02": "parquet", "2024-03": "zh.csv", "2024-04": "parquet"}


def write_month(path: Path, rows: pd.DataFrame, kind: str) -> None:
    """One month's claims (strings) as English CSV, Parquet, or Chinese GB18030 CSV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "parquet":
        pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), path)
    elif kind == "zh.csv":
        zh = rows.assign(visit_type=rows["visit_type"].map(ZH_VISIT).fillna(rows["visit_type"]))
        zh = zh[list(reversed(zh.columns))].rename(columns=ZH)
        path.write_bytes(zh.to_csv(index=False, lineterminator="\n").encode("gb18030"))
    else:
        rows.to_csv(path, index=False, lineterminator="\n")


def month_name(month: str) -> str:
    return f"claims/{month}.{MONTHS[month].removeprefix('zh.')}"


@pytest.fixture(scope="module")
def months(tmp_path_factory) -> tuple[Path, Path, pd.DataFrame]:
    """(the generated single-file folder, the same data cut by month, the claims as text)."""
    from graphdetect.synth import generate

    root = tmp_path_factory.mktemp("monthly")
    single = root / "single"
    generate(single, patients=3000, seed=11, days=120)
    claims = pd.read_csv(single / "claims.csv", dtype=str, keep_default_na=False)
    folder = root / "folder"
    folder.mkdir()
    for name in ("patients", "institutions", "doctors"):
        shutil.copy(single / f"{name}.csv", folder / f"{name}.csv")
    for month, rows in claims.groupby(claims["start_time"].str[:7]):
        write_month(folder / month_name(month), rows, MONTHS[month])
    return single, folder, claims


@pytest.fixture(scope="module")
def runs(months, tmp_path_factory) -> tuple[Path, Path]:
    single, folder, _ = months
    root = tmp_path_factory.mktemp("monthly_runs")
    detect_folder(single, root / "single")
    detect_folder(folder, root / "folder")
    return root / "single", root / "folder"


def case_content(run: Path) -> list[dict]:
    """A run's cases without what depends on the run itself (its key and lineage)."""
    cases = read_cases(run)
    for c in cases:
        c.pop("case_key", None)
        c.pop("lineage", None)
    return cases


def test_folder_of_months_finds_the_cases_of_the_single_file(runs):
    single, folder = runs
    cases = case_content(folder)
    assert cases and cases == case_content(single)
    assert (folder / "entity_scores.csv").read_bytes() == \
        (single / "entity_scores.csv").read_bytes()
    a, b = load_summary(single), load_summary(folder)
    assert a["rows"] == b["rows"] and b["rows"]["rejected"] == 0
    assert a["run_id"] != b["run_id"]
    assert b["window"] == {"since": None, "until": None}


def test_every_file_of_the_folder_is_hashed_under_its_relative_path(runs, months):
    _, data, claims = months
    inputs = load_summary(runs[1])["inputs"]
    assert set(inputs) == {month_name(m) for m in MONTHS} | {
        "patients.csv", "institutions.csv", "doctors.csv"}
    for name, info in inputs.items():
        assert info["sha256"] == hashlib.sha256((data / name).read_bytes()).hexdigest()
        assert info["table"] == (name.split("/")[0] if "/" in name else name.split(".")[0])
    assert inputs["claims/2024-03.csv"]["encoding"] == "gb18030"
    assert inputs["claims/2024-02.parquet"]["format"] == "parquet"
    assert sum(inputs[month_name(m)]["accepted"] for m in MONTHS) == len(claims)


def _write_months(folder: Path, months: dict[str, list[dict]], ext: str = "csv") -> None:
    for month, rows in months.items():
        path = folder / "claims" / f"{month}.{ext}"
        if ext == "parquet":
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.Table.from_pandas(pd.DataFrame(rows, columns=HEADER)), path)
        else:
            write_csv(path, rows)


@pytest.mark.parametrize("ext, line", [("csv", 3), ("parquet", 2)])
def test_bad_row_names_its_file_and_line(folder, tmp_path, ext, line):
    _write_months(folder, {"2024-01": [good_row(1), good_row(2)],
                           "2024-02": [good_row(3), good_row(4, total_amount="-4"), good_row(5)]},
                  ext)
    data = read_folder(folder)
    [rej] = data.rejects.to_dict("records")
    assert (rej["file"], rej["line"], rej["column"], rej["reason"]) == \
        (f"claims/2024-02.{ext}", line, "total_amount", "negative amount")
    assert data.reject_counts() == {"claims: negative amount": 1}
    assert data.files[f"claims/2024-02.{ext}"]["rejected"] == 1
    assert data.files[f"claims/2024-02.{ext}"]["accepted"] == 2
    detect_folder(folder, tmp_path / "run")
    with open(tmp_path / "run" / "rejects.csv", encoding="utf-8") as f:
        [row] = list(csv.DictReader(f))
    assert (row["file"], row["line"]) == (f"claims/2024-02.{ext}", str(line))


@pytest.mark.parametrize("ext, line", [("csv", 2), ("parquet", 1)])
def test_repeated_claim_id_across_months_is_rejected(folder, ext, line):
    _write_months(folder, {"2024-01": [good_row(1, patient_id="A"), good_row(2)],
                           "2024-02": [good_row(1, patient_id="B"), good_row(3)]}, ext)
    data = read_folder(folder)
    assert list(data.claims["claim_id"]) == ["C1", "C2", "C3"]
    assert data.claims["patient_id"].iloc[0] == "A"
    [rej] = data.rejects.to_dict("records")
    assert (rej["file"], rej["line"], rej["column"]) == (f"claims/2024-02.{ext}", line,
                                                          "claim_id")
    assert rej["reason"] == "repeated claim_id; the first row is kept"
    assert json.loads(rej["row"])["patient_id"] == "B"


def test_each_file_is_mapped_to_the_contract_on_its_own(folder):
    write_csv(folder / "claims" / "2024-01.csv", [good_row(1, diagnosis_code="I10")])
    # February: Chinese headers, no diagnosis_code, an extra column, GB18030
    row = good_row(2, visit_type="住院", start_time="2024-02-01", end_time="2024-02-03")
    names = [h for h in HEADER if h != "diagnosis_code"]
    text = ",".join([ZH[h] for h in names] + ["备注"]) + "\n" + ",".join(
        [row[h] for h in names] + ["x"]) + "\n"
    (folder / "claims" / "2024-02.csv").write_bytes(text.encode("gb18030"))
    (folder / "patients").mkdir()
    (folder / "patients" / "a.csv").write_text("patient_id,sex\nP1,男\n", encoding="utf-8")
    pq.write_table(pa.table({"个人编号": ["P2"], "出生年份": [1950]}),
                   folder / "patients" / "b.parquet")
    data = read_folder(folder)
    assert data.rejects.empty
    c = data.claims
    assert list(c["diagnosis_code"].isna()) == [False, True]
    assert list(c["visit_type"].astype(str)) == ["outpatient", "inpatient"]
    p = data.patients
    assert list(p["patient_id"]) == ["P1", "P2"]
    assert p["sex"].astype(str).iloc[0] == "M" and pd.isna(p["sex"].iloc[1])
    assert pd.isna(p["birth_year"].iloc[0]) and p["birth_year"].iloc[1] == 1950


def test_a_file_of_the_folder_that_cannot_be_read_is_named(folder):
    write_csv(folder / "claims" / "2024-01.csv", [good_row(1)])
    (folder / "claims" / "2024-02.csv").write_text("claim_id,patient_id\nC2,P1\n")
    with pytest.raises(DataError) as info:
        read_folder(folder)
    assert str(info.value).startswith("claims/2024-02.csv: missing required column")


def test_partitioned_parquet_dataset(folder):
    for month, ids in (("01", [1, 2]), ("02", [3])):
        part = folder / "claims" / "year=2024" / f"month={month}" / "part-0.parquet"
        part.parent.mkdir(parents=True)
        pq.write_table(pa.Table.from_pandas(pd.DataFrame([good_row(i) for i in ids])), part)
    (folder / "claims" / "_SUCCESS").write_bytes(b"")
    (folder / "claims" / ".part-0.parquet.crc").write_bytes(b"\x00")
    data = read_folder(folder)
    assert list(data.claims["claim_id"]) == ["C1", "C2", "C3"]
    assert "year" not in data.claims and "month" not in data.claims
    assert sorted(data.files) == ["claims/year=2024/month=01/part-0.parquet",
                                  "claims/year=2024/month=02/part-0.parquet"]


def test_partition_key_that_names_a_contract_column_supplies_it(folder):
    for inst, ids in (("H%2F9", [1, 2]), ("H8", [3])):
        rows = pd.DataFrame([good_row(i) for i in ids]).drop(columns="institution_id")
        part = folder / "claims" / f"定点机构编码={inst}" / "part-0.parquet"
        part.parent.mkdir(parents=True)
        pq.write_table(pa.Table.from_pandas(rows), part)
    data = read_folder(folder)
    assert data.rejects.empty
    assert list(data.claims["institution_id"].astype(str)) == ["H/9", "H/9", "H8"]


@pytest.mark.parametrize("make, problem", [
    (lambda d: write_csv(d / "claims.csv", [good_row(1)]), "both claims.csv and claims/"),
    (lambda d: None, "no .csv or .parquet file"),
    (lambda d: (d / "claims" / "_SUCCESS").write_bytes(b""), "no .csv or .parquet file"),
    (lambda d: (d / "claims" / "notes.txt").write_text("x"), "claims/notes.txt"),
])
def test_folder_problems_are_one_clear_error_and_nothing_is_written(folder, tmp_path, make,
                                                                    problem):
    (folder / "claims").mkdir()
    if "notes" in problem or "both" in problem:
        write_csv(folder / "claims" / "2024-01.csv", [good_row(2)])
    make(folder)
    with pytest.raises(DataError, match=problem):
        detect_folder(folder, tmp_path / "run")
    assert not (tmp_path / "run").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run")]


def test_an_optional_table_as_both_file_and_folder_is_an_error(folder):
    write_csv(folder / "claims.csv", [good_row(1)])
    (folder / "patients.csv").write_text("patient_id,sex\nP1,M\n")
    (folder / "patients").mkdir()
    (folder / "patients" / "a.csv").write_text("patient_id,sex\nP2,F\n")
    with pytest.raises(DataError, match="both patients.csv and patients/"):
        read_folder(folder)


def _window_folder(folder: Path) -> None:
    write_csv(folder / "claims" / "2024-01.csv",
              [good_row(1, start_time="2024-01-31 23:59:59"),
               good_row(9, patient_id="A", start_time="2024-01-15")])
    write_csv(folder / "claims" / "2024-02.csv",
              [good_row(2, start_time="2024-02-01 00:00:00"), good_row(3, start_time="2024-02-29"),
               good_row(9, patient_id="B", start_time="2024-02-10")])
    write_csv(folder / "claims" / "2024-03.csv", [good_row(4, start_time="2024-03-01")])
    (folder / "patients.csv").write_text("patient_id,sex\nP1,M\nP2,F\nP3,M\n")


def test_window_keeps_claims_of_its_days_inclusive(folder):
    _window_folder(folder)
    data = read_folder(folder, since="2024-02-01", until="2024-02-29")
    assert list(data.claims["claim_id"]) == ["C2", "C3"]
    assert data.outside_window == 3
    assert data.files["claims/2024-01.csv"]["outside_window"] == 2
    assert data.files["claims/2024-03.csv"]["outside_window"] == 1
    # a repeated id is found whatever the window: C9 of February repeats January's C9
    assert data.rejects[["file", "reason"]].values.tolist() == [
        ["claims/2024-02.csv", "repeated claim_id; the first row is kept"]]
    assert len(data.patients) == 3  # side tables are not filtered
    assert data.rows_read == len(data.claims) + len(data.rejects) + data.outside_window + 3
    assert list(read_folder(folder, since="2024-03-01").claims["claim_id"]) == ["C4"]
    assert list(read_folder(folder, until="2024-01-31").claims["claim_id"]) == ["C1", "C9"]


@pytest.mark.parametrize("window, problem", [
    ({"since": "2024-02-30"}, "'since'"),
    ({"until": "yesterday"}, "'until'"),
    ({"since": "2024-03-01", "until": "2024-02-01"}, "'until'"),
])
def test_bad_window_is_a_clear_error(folder, window, problem):
    _window_folder(folder)
    with pytest.raises(ParameterError, match=problem):
        read_folder(folder, **window)


def test_run_id_depends_on_the_window(folder, tmp_path):
    _window_folder(folder)
    ids = {}
    for name, window in (("all", {}), ("feb", {"since": "2024-02-01", "until": "2024-02-29"}),
                         ("feb2", {"since": "2024-02-01", "until": "2024-02-29"}),
                         ("from_feb", {"since": "2024-02-01"})):
        ids[name] = detect_folder(folder, tmp_path / name, **window)["run_id"]
    assert ids["feb"] == ids["feb2"]
    assert len({ids["all"], ids["feb"], ids["from_feb"]}) == 3
    s = load_summary(tmp_path / "feb")
    assert s["window"] == {"since": "2024-02-01", "until": "2024-02-29"}
    assert s["rows"] == {"read": 9, "accepted": 5, "rejected": 1, "outside_window": 3}
    assert load_summary(tmp_path / "from_feb")["window"] == {"since": "2024-02-01",
                                                            "until": None}


def test_windowed_run_and_its_review_view(months, tmp_path):
    _, folder, claims = months
    run = tmp_path / "run"
    s = detect_folder(folder, run, since="2024-02-01", until="2024-03-31")
    inside = claims["start_time"].str[:7].isin(["2024-02", "2024-03"])
    assert s["rows"]["outside_window"] == int((~inside).sum())
    assert sum(f["accepted"] for f in s["inputs"].values()
               if f["table"] == "claims") == int(inside.sum())
    assert s["claims"]["first_day"] >= "2024-02-01"
    assert s["claims"]["last_day"] <= "2024-03-31"
    allowed = set(claims["claim_id"][inside])
    cases = read_cases(run)
    assert cases and all(set(c["claim_ids"]) <= allowed for c in cases)
    view = RunView(run)
    days = view.graph.claims["start_time"].dt.strftime("%Y-%m-%d")
    assert days.min() >= "2024-02-01" and days.max() <= "2024-03-31"
    assert len(view.graph.claims) == int(inside.sum())


def test_detect_command_takes_since_and_until(folder, tmp_path):
    _window_folder(folder)
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["detect", str(folder), "--out", str(out), "--since",
                                    "2024-02-01", "--until", "2024-02-29"])
    assert res.exit_code == 0, res.output
    assert "3 outside the window 2024-02-01 to 2024-02-29" in res.output
    assert load_summary(out)["window"] == {"since": "2024-02-01", "until": "2024-02-29"}
    for args in (["--since", "2024-02-30"], ["--since", "2024-03-01", "--until", "2024-02-01"]):
        res = CliRunner().invoke(main, ["detect", str(folder), "--out", str(tmp_path / "bad"),
                                        *args])
        assert res.exit_code == 2 and "Traceback" not in res.output
        assert len(res.output.strip().splitlines()) == 1, res.output
    assert not (tmp_path / "bad").exists()


def _source_rows(folder: Path) -> dict[str, dict[str, str]]:
    """Every claim of the monthly folder as written: claim id -> {canonical column: text}."""
    out = {}
    for month, kind in MONTHS.items():
        path = folder / month_name(month)
        if kind == "parquet":
            frame = pq.read_table(path).to_pandas()
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False,
                                encoding="gb18030" if kind == "zh.csv" else "utf-8")
            frame = frame.rename(columns={v: k for k, v in ZH.items()})
        for row in frame.to_dict("records"):
            out[row["claim_id"]] = {k: str(v) for k, v in row.items()}
    return out


def test_export_of_a_folder_run_takes_rows_from_every_file(runs, months, tmp_path):
    need_font()
    _, folder, claims = months
    month_of = dict(zip(claims["claim_id"], claims["start_time"].str[:7], strict=True))
    case = max(read_cases(runs[1]), key=lambda c: (len({month_of[i] for i in c["claim_ids"]}),
                                                    "2024-03" in {month_of[i]
                                                                  for i in c["claim_ids"]}))
    assert "2024-03" in {month_of[i] for i in case["claim_ids"]}
    assert len({month_of[i] for i in case["claim_ids"]}) >= 2
    package = export_case(runs[1], case["case_id"], tmp_path / "out", user="li")
    assert verify_package(package).ok
    rows = list(csv.reader(io.StringIO((package / "claims.csv").read_text(encoding="utf-8-sig"))))
    assert rows[0] == HEADER  # one column per contract column, named as the first file names it
    source = _source_rows(folder)
    assert sorted(r[0] for r in rows[1:]) == case["claim_ids"]
    for r in rows[1:]:
        assert {h: read_cell(v) for h, v in zip(rows[0], r, strict=True)} == source[r[0]]


def test_evidence_refuses_a_month_that_changed_since_the_run(runs, months, tmp_path):
    _, folder, _ = months
    summary = load_summary(runs[1])
    case = read_cases(runs[1])[0]
    assert load_evidence(summary, case["claim_ids"]).claims["claim_id"].tolist()
    moved = Path(shutil.copytree(folder, tmp_path / "moved"))
    feb = moved / "claims" / "2024-02.parquet"
    table = pq.read_table(feb)
    pq.write_table(table.slice(0, table.num_rows - 1), feb)
    with pytest.raises(ExportError, match="2024-02.parquet: changed since run"):
        load_evidence(summary, case["claim_ids"], data=moved)


def test_evidence_refuses_an_input_name_outside_the_data_folder(runs, tmp_path):
    summary = load_summary(runs[1])
    outside = tmp_path / "claims.csv"
    outside.write_text("claim_id,patient_id\n")
    data = Path(summary["data_folder"])
    summary["inputs"] = {"../" * len(data.parts) + str(outside).lstrip("/"):
                         {"table": "claims", "sha256": hashlib.sha256(
                             outside.read_bytes()).hexdigest()}}
    with pytest.raises(ExportError, match="not a path inside the data folder"):
        load_evidence(summary, ["C1"])
