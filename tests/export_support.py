"""Helpers and fixtures shared by the evidence-package tests."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from graphdetect.export import ExportError, export_case
from graphdetect.export._fonts import font_path
from graphdetect.run import detect_folder

SAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "sample"
CI = os.environ.get("CI") == "true"


def need(tool: str) -> None:
    """Skip without a tool the setup installs; fail instead on CI."""
    if shutil.which(tool) is None:
        message = f"{tool} is missing: apt-get install -y poppler-utils"
        if CI:
            pytest.fail(message)
        pytest.skip(message)


def need_font() -> None:
    try:
        font_path()
    except ExportError as exc:
        if CI:
            pytest.fail(str(exc))
        pytest.skip(str(exc))


def pdf_text(pdf: Path) -> str:
    need("pdftotext")
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout


def case_of(run: Path, case_id: str) -> dict:
    for line in (run / "cases.jsonl").read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        if case["case_id"] == case_id:
            return case
    raise KeyError(case_id)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "run"
    detect_folder(SAMPLE, out)
    return out


@pytest.fixture(scope="module")
def package(run, tmp_path_factory) -> Path:
    need_font()
    return export_case(run, "R-0001", tmp_path_factory.mktemp("pkg"), user="li")


def copy(folder: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(folder, tmp_path / folder.name))


def problems(result) -> set[tuple[str, str]]:
    return {(what, name) for what, name, _ in result.problems}


#: Hostile values planted by :func:`hostile_run` (finding 8 and 9 of issue 10).
HUGE_NAME = "长溪镇卫生院" + "甲" * (100_000 - 6)
RLO_NAME = "\u202egpj.exe陈兰"
MATH_NAME = "$\\frac{x$郑飞"  # matplotlib would typeset $...$, and fail on this one
LONG_CODE = "I67." + "Z" * (5000 - 4)


def _rewrite(path: Path, edit) -> None:
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    rows[1:] = [edit(dict(zip(header, r, strict=True))) for r in rows[1:]]
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows([r[h] for h in header] if isinstance(r, dict) else r for r in rows[1:])


def hostile_run(run: Path, tmp_path: Path, case_id: str = "R-0001") -> Path:
    """Detect afresh a copy of the sample in which case ``case_id`` (of the sample's run
    ``run``) has a host institution named with 100 000 characters, a doctor whose name
    holds a right-to-left override, another named like mathematics, and an evidence
    claim with a 5 000-character diagnosis code. Returns the new run folder."""
    case = case_of(run, case_id)
    host = next(m["id"] for m in case["members"] if m["kind"] == "institution")
    doctors = [m["id"] for m in case["members"] if m["kind"] == "doctor"]
    names = dict(zip(doctors, (RLO_NAME, MATH_NAME), strict=False))
    data = Path(shutil.copytree(SAMPLE, tmp_path / "hostile"))
    _rewrite(data / "institutions.csv",
             lambda r: dict(r, name=HUGE_NAME) if r["institution_id"] == host else r)
    _rewrite(data / "doctors.csv",
             lambda r: dict(r, name=names[r["doctor_id"]]) if r["doctor_id"] in names else r)
    first = case["claim_ids"][0]
    _rewrite(data / "claims.csv",
             lambda r: dict(r, diagnosis_code=LONG_CODE) if r["claim_id"] == first else r)
    out = tmp_path / "hostile_run"
    detect_folder(data, out)
    return out


# -- contents ---------------------------------------------------------------------------


def decide(store, run: Path, case_id: str, **fields) -> dict:
    """Record a review decision on a case of ``run``, under its case key (the key it
    carries, or the one minted for a run made without --previous)."""
    from graphdetect.lineage import with_keys

    run_id = json.loads((run / "summary.json").read_text(encoding="utf-8"))["run_id"]
    key = with_keys([case_of(run, case_id)], run_id)[0]["case_key"]
    return store.decide(key, run_id=run_id, case_id=case_id, **fields)
