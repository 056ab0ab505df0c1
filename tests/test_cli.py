from __future__ import annotations

import json

from click.testing import CliRunner
from conftest import good_row, write_csv

from graphdetect.cli import main
from graphdetect.run import RUN_FILES


def test_detect_writes_run_folder(folder, tmp_path):
    write_csv(folder / "claims.csv", [good_row(1), good_row(2, total_amount="-4"), good_row(1)])
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["detect", str(folder), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "3 rows read, 1 accepted, 2 rejected" in res.output
    assert sorted(p.name for p in out.iterdir()) == sorted(RUN_FILES)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rows"] == {"read": 3, "accepted": 1, "rejected": 2}
    assert {"read", "graph"} <= set(summary["timings"])
    assert summary["inputs"]["claims.csv"]["sha256"]
    rejects = (out / "rejects.csv").read_text().splitlines()
    assert rejects[0] == "file,line,column,reason,value,row" and len(rejects) == 3
    scores = (out / "entity_scores.csv").read_text().splitlines()
    assert scores[0] == "kind,id,score,patterns,rank,reasons"
    assert [r.split(",")[:2] for r in scores[1:]] == [["doctor", "D1"], ["institution", "H1"]]


def test_detect_is_quiet_and_replaces_an_earlier_run(folder, tmp_path):
    write_csv(folder / "claims.csv", [good_row(1)])
    out = tmp_path / "run"
    for _ in range(2):
        res = CliRunner().invoke(main, ["detect", str(folder), "--out", str(out), "--quiet"])
        assert res.exit_code == 0 and res.output == ""
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_unreadable_input_is_one_line_and_exit_2(folder, tmp_path):
    (folder / "claims.csv").write_text("claim_id,patient_id\nC1,P1\n")
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["detect", str(folder), "--out", str(out)])
    assert res.exit_code == 2
    assert res.output.strip().count("\n") == 0
    assert res.output.startswith("Error: claims.csv: missing required column")
    assert "Traceback" not in res.output
    assert not out.exists() and list(tmp_path.iterdir()) == [folder]


def test_refuses_to_overwrite_a_folder_that_is_not_a_run(folder, tmp_path):
    write_csv(folder / "claims.csv", [good_row(1)])
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    res = CliRunner().invoke(main, ["detect", str(folder), "--out", str(out)])
    assert res.exit_code == 2 and "not a graphdetect run folder" in res.output
    assert (out / "notes.txt").read_text() == "keep me"


def test_help_on_every_command():
    runner = CliRunner()
    res = runner.invoke(main, ["--help"])
    assert res.exit_code == 0
    for name in main.commands:
        sub = runner.invoke(main, [name, "--help"])
        assert sub.exit_code == 0 and "Usage:" in sub.output
