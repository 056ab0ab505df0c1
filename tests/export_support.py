"""Helpers and fixtures shared by the evidence-package tests."""

from __future__ import annotations

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


# -- contents ---------------------------------------------------------------------------
