from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from graphdetect import read_folder
from graphdetect.cli import main
from graphdetect.detectors import PATTERNS
from graphdetect.graph import ClaimsGraph
from graphdetect.run import detect_folder
from graphdetect.settings import markdown_table, resolve


@pytest.fixture(scope="module")
def run_pair(planted, tmp_path_factory):
    """Two runs of the same data: the detectors one after another, then side by side."""
    root = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRAPHDETECT_THREADS", "1")
        detect_folder(planted, root / "a")
        mp.setenv("GRAPHDETECT_THREADS", "4")
        detect_folder(planted, root / "b")
    return root / "a", root / "b"


@pytest.mark.parametrize("name", ["cases.jsonl", "entity_scores.csv", "rejects.csv"])
def test_same_input_same_bytes(run_pair, name):
    a, b = run_pair
    assert (a / name).read_bytes() == (b / name).read_bytes()


def test_summary_differs_only_in_timings(run_pair):
    a, b = (json.loads((p / "summary.json").read_text()) for p in run_pair)
    a.pop("timings"), b.pop("timings")
    assert a == b


def test_cases_follow_the_contract(run_pair, planted):
    lines = (run_pair[0] / "cases.jsonl").read_text(encoding="utf-8").splitlines()
    cases = [json.loads(line) for line in lines]
    assert cases
    assert [c["score"] for c in cases] == sorted((c["score"] for c in cases), reverse=True)
    assert len({c["case_id"] for c in cases}) == len(cases)
    for c in cases:
        assert {"case_id", "pattern", "score", "members", "claim_ids", "rules", "explanation",
                "explanation_en", "metrics", "details"} <= set(c)
        assert c["pattern"] in PATTERNS and 0 <= c["score"] <= 1
        assert c["case_id"].startswith(PATTERNS[c["pattern"]].prefix + "-")
        assert all(set(m) == {"kind", "id", "role"} for m in c["members"])
        assert c["claim_ids"] == sorted(set(c["claim_ids"]))
    with open(run_pair[0] / "entity_scores.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    scored = {(r["kind"], r["id"]) for r in rows}
    named = {(m["kind"], m["id"]) for c in cases for m in c["members"]}
    assert named <= scored
    graph = ClaimsGraph.from_data(read_folder(planted))
    for kind in ("institution", "doctor"):
        assert {i for k, i in scored if k == kind} == set(graph.index(kind))
        ranks = sorted(int(r["rank"]) for r in rows if r["kind"] == kind)
        assert ranks == list(range(1, len(ranks) + 1))


def test_settings_from_toml_and_set(planted, tmp_path):
    cfg = tmp_path / "gd.toml"
    cfg.write_text("[split_stay]\nmax_gap_days = 0\n[cases]\nmin_score = 0.9\n")
    values = resolve(cfg, ["collusion_ring.min_occasions=4"])
    assert values["split_stay.max_gap_days"] == 0 and values["cases.min_score"] == 0.9
    assert values["collusion_ring.min_occasions"] == 4
    res = CliRunner().invoke(main, ["detect", str(planted), "--out", str(tmp_path / "r"),
                                    "--config", str(cfg), "-q"])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["parameters"]["split_stay.max_gap_days"] == 0
    cases = [json.loads(x) for x in (tmp_path / "r" / "cases.jsonl").read_text().splitlines()]
    assert all(c["score"] >= 0.9 for c in cases)


@pytest.mark.parametrize("args, message", [
    (["--set", "split_stay.max_gap_days=-1"],
     "The 'max_gap_days' parameter of split_stay must be an int >= 0; got -1."),
    (["--set", "nope.x=1"], "unknown setting 'nope.x'"),
    (["--set", "novalue"], "--set takes NAME=VALUE"),
])
def test_bad_settings_are_one_line_errors(planted, tmp_path, args, message):
    res = CliRunner().invoke(main, ["detect", str(planted), "--out", str(tmp_path / "r"), *args])
    assert res.exit_code == 2 and message in res.output and "Traceback" not in res.output


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_bad_thread_count_is_a_one_line_error(planted, tmp_path, monkeypatch, value):
    monkeypatch.setenv("GRAPHDETECT_THREADS", value)
    result = CliRunner().invoke(main, ["detect", str(planted), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "GRAPHDETECT_THREADS" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r").exists()


def test_readme_settings_table_is_current():
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    assert markdown_table() in readme


def test_evaluate_command(planted, tmp_path):
    run = tmp_path / "run"
    detect_folder(planted, run)
    res = CliRunner().invoke(main, ["evaluate", str(planted), str(run)])
    assert res.exit_code == 0, res.output
    assert "collusion_ring" in res.output and "ROC-AUC" in res.output
    result = json.loads((run / "evaluation.json").read_text())
    assert result["patterns"]["split_stay"]["recall"] == 1.0


def test_data_unlike_the_generators(planted, tmp_path):
    """Inpatient only, dates without times, no side tables, foreign-looking ids."""
    claims = pd.read_csv(planted / "claims.csv", dtype=str, keep_default_na=False)
    claims = claims[claims["visit_type"] == "inpatient"].copy()
    for col in ("patient_id", "institution_id", "doctor_id", "card_id"):
        claims[col] = "X-" + claims[col].str[::-1] + "/é"
    claims["start_time"] = claims["start_time"].str[:10].str.replace("-", "/")
    claims["end_time"] = claims["end_time"].str[:10]
    claims = claims.drop(columns=["terminal_id", "operator_id"])
    data = tmp_path / "odd"
    data.mkdir()
    claims.rename(columns={"claim_id": "结算流水号", "visit_type": "医疗类别"}).to_csv(
        data / "claims.csv", index=False, encoding="gb18030")
    summary = detect_folder(data, tmp_path / "run")
    assert summary["rows"] == {"read": len(claims), "accepted": len(claims), "rejected": 0}
    notes = " ".join(summary["not_checked"])
    for words in ("no patients table", "no institutions table", "no time of day",
                  "no terminal ids"):
        assert words in notes
    cases = [json.loads(x) for x in (tmp_path / "run" / "cases.jsonl").read_text().splitlines()]
    assert {c["pattern"] for c in cases} >= {"collusion_ring", "concurrent_stay", "split_stay"}
    assert all(m["id"].startswith("X-") for c in cases for m in c["members"]
               if m["kind"] == "patient")


def test_empty_claims_file(tmp_path):
    data = tmp_path / "d"
    data.mkdir()
    (data / "claims.csv").write_text("claim_id,patient_id,institution_id,visit_type,start_time,"
                                     "total_amount\n")
    summary = detect_folder(data, tmp_path / "run")
    assert summary["cases"] == 0 and summary["rows"]["read"] == 0
