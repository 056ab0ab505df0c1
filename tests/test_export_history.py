"""Evidence packages of a case across monthly runs: history.json, chain.json, verify.

The three monthly runs of ``lineage_support`` (run1 <- run2 <- run3) hold a collusion ring
that grows from month to month; its package from run 3 carries its three rows and the
hash chain of the three runs, and ``graphdetect verify`` checks that chain, inside the
package and (``--runs``) against the run folders.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from export_support import copy, need_font, pdf_text, problems
from lineage_support import monthly_data, monthly_runs  # noqa: F401 (fixtures)

from graphdetect.export import ExportError, export_case, verify_package
from graphdetect.export.cli import export_command, verify_command
from graphdetect.run import detect_folder
from graphdetect.runs import Run, Runs


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def ring(monthly_runs) -> dict:
    """The run-3 collusion ring that grew and whose key was minted in run 1."""
    first = Run(monthly_runs[0]).run_id
    for case in Run(monthly_runs[2]).cases:
        if (case["pattern"] == "collusion_ring" and case["lineage"]["state"] == "grown"
                and case["case_key"].startswith(first[4:12] + "-")):
            return case
    raise AssertionError("the monthly runs hold no ring grown since run 1")


@pytest.fixture(scope="module")
def grown(monthly_runs, ring, tmp_path_factory) -> Path:
    """The ring's package from run 3, the earlier runs found where run 3 recorded them."""
    need_font()
    return export_case(monthly_runs[2], ring["case_id"], tmp_path_factory.mktemp("hist"),
                       user="li")


def test_history_holds_the_ring_in_each_run_under_one_key(grown, ring, monthly_runs):
    history = read_json(grown / "history.json")
    rows = history["runs"]
    assert history["case_key"] == ring["case_key"]
    assert [r["run_id"] for r in rows] == [Run(r).run_id for r in monthly_runs]
    for row, run in zip(rows, monthly_runs, strict=True):
        case = Run(run).case(ring["case_key"])
        assert case is not None
        assert row["case_id"] == case["case_id"] and row["score"] == case["score"]
        assert row["members"] == len(case["members"])
        assert row["claims"] == len(case["claim_ids"])
        assert row["total_amount"] == case["metrics"]["total_amount"]
    assert [r["state"] for r in rows] == ["new", "grown", "grown"]
    assert rows[0]["delta"] is None and rows[-1]["delta"] == ring["lineage"]["delta"]
    assert rows[-1]["claims"] > rows[0]["claims"]
    assert all(r["merged_from"] == [] and r["split_from"] is None for r in rows)


def test_chain_holds_each_runs_hash_and_the_link_it_recorded(grown, monthly_runs):
    chain = read_json(grown / "chain.json")
    runs = [Run(r) for r in monthly_runs]
    assert chain["complete"] is True
    assert [e["run_id"] for e in chain["runs"]] == [r.run_id for r in runs]
    for entry, run in zip(chain["runs"], monthly_runs, strict=True):
        assert entry["cases_sha256"] == sha256(run / "cases.jsonl")
    assert chain["runs"][0]["previous_run"] is None
    for older, newer in zip(chain["runs"], chain["runs"][1:], strict=False):
        assert newer["previous_run"] == {"run_id": older["run_id"],
                                         "cases_sha256": older["cases_sha256"]}


def test_manifest_lists_history_and_chain_and_verify_passes(grown):
    listed = {f["path"]: f["sha256"] for f in read_json(grown / "manifest.json")["files"]}
    for name in ("history.json", "chain.json"):
        assert listed[name] == sha256(grown / name)
    result = verify_package(grown)
    assert result.ok, result.lines()
    assert len(result.chain) == 3 and result.runs == {}
    assert "; the hash chain of 3 run(s) holds (run-" in result.lines()[-1]


def test_verify_with_the_runs_checks_every_run(grown, monthly_runs):
    folder = monthly_runs[0].parent
    out = CliRunner().invoke(verify_command, [str(grown), "--runs", str(folder)])
    assert out.exit_code == 0, out.output
    for run in monthly_runs:
        assert f"run {Run(run).run_id}: cases.jsonl matches the package" in out.output
    result = verify_package(grown, runs=[monthly_runs[1], monthly_runs[2]])
    assert result.ok  # run 1 not among them: not checked, no failure
    assert result.runs[Run(monthly_runs[0]).run_id] == "not checked"
    assert "not checked" in "\n".join(result.lines())


def test_an_altered_run_fails_verify_naming_it(grown, monthly_runs, tmp_path):
    runs = Path(shutil.copytree(monthly_runs[0].parent, tmp_path / "runs"))
    first = Run(runs / "run1").run_id
    with open(runs / "run1" / "cases.jsonl", "a", encoding="utf-8") as f:
        f.write("\n")  # one byte more: the case lines read the same
    out = CliRunner().invoke(verify_command, [str(grown), "--runs", str(runs)])
    assert out.exit_code == 1
    assert f"RUN       {first}: cases.jsonl in" in out.output
    assert f"run {first}: cases.jsonl differs from the package" in out.output
    result = verify_package(grown, runs=[runs])
    assert problems(result) == {("run", first)}


def test_an_altered_chain_in_the_package_fails_verify(grown, tmp_path):
    pkg = copy(grown, tmp_path)
    chain = read_json(pkg / "chain.json")
    chain["runs"][0]["cases_sha256"] = "0" * 64
    (pkg / "chain.json").write_text(json.dumps(chain, indent=2) + "\n", encoding="utf-8")
    assert problems(verify_package(pkg)) == {("changed", "chain.json"),
                                            ("chain", "chain.json")}
    # the manifest rewritten to match (an unsigned package): the chain itself does not hold
    manifest = read_json(pkg / "manifest.json")
    for f in manifest["files"]:
        if f["path"] == "chain.json":
            f.update(sha256=sha256(pkg / "chain.json"), size=(pkg / "chain.json").stat().st_size)
    (pkg / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    result = verify_package(pkg)
    assert problems(result) == {("chain", "chain.json")}
    assert "hash chain of" not in "\n".join(result.lines())
    out = CliRunner().invoke(verify_command, [str(pkg)])
    assert out.exit_code == 1 and "CHAIN     chain.json:" in out.output


def test_a_package_without_run_history_still_verifies(grown, tmp_path):
    """A package made before chain.json existed: its files verify, and it says so."""
    pkg = copy(grown, tmp_path)
    manifest = read_json(pkg / "manifest.json")
    manifest["files"] = [f for f in manifest["files"]
                         if f["path"] not in ("history.json", "chain.json")]
    for name in ("history.json", "chain.json"):
        (pkg / name).unlink()
    (pkg / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    result = verify_package(pkg, runs=[grown.parent])
    assert result.ok and result.chain is None
    assert "; no run history in this package (" in result.lines()[-1]


def test_pdf_shows_the_runs_of_the_case(grown, monthly_runs, ring):
    text = pdf_text(grown / "report.pdf")
    assert "六、案件历次批次" in text and "检测批次哈希链" in text
    assert ring["case_key"] in text
    for run in monthly_runs:
        assert Run(run).run_id in text
        assert sha256(run / "cases.jsonl")[:12] in text
    assert "扩大" in text and "七、复核记录" in text and "八、检测方法与数据来源" in text


def test_runs_given_or_followed_give_the_same_package(grown, monthly_runs, ring, tmp_path):
    out = CliRunner().invoke(export_command, [
        str(monthly_runs[2]), ring["case_id"], "--out", str(tmp_path), "--user", "li",
        "--runs", str(monthly_runs[0].parent)])
    assert out.exit_code == 0, out.output
    assert ", its history over 3 run(s)" in out.output
    again = tmp_path / grown.name
    for name in sorted(p.name for p in grown.iterdir()):
        if name != "manifest.json":
            assert (again / name).read_bytes() == (grown / name).read_bytes(), name


def test_a_chain_whose_older_run_changed_is_not_exported(monthly_runs, ring, tmp_path):
    runs = Path(shutil.copytree(monthly_runs[0].parent, tmp_path / "runs"))
    with open(runs / "run2" / "cases.jsonl", "a", encoding="utf-8") as f:
        f.write("\n")
    with pytest.raises(ExportError, match=f"{Run(runs / 'run3').run_id} recorded cases.jsonl "
                                          f"of {Run(runs / 'run2').run_id}"):
        export_case(runs / "run3", ring["case_id"], tmp_path / "out", user="li",
                    runs=Runs([runs]))  # as the review UI passes the runs it serves


def test_history_stops_where_an_earlier_run_is_gone(monthly_data, ring, tmp_path):
    """Run 1 deleted: the package holds runs 2 and 3, says it is incomplete, verifies."""
    need_font()
    runs, previous = [], None
    for n, data in enumerate(monthly_data, 1):
        detect_folder(data, tmp_path / f"run{n}", previous=previous)
        previous = tmp_path / f"run{n}"
        runs.append(previous)
    shutil.rmtree(runs[0])
    folder = export_case(runs[2], ring["case_id"], tmp_path / "out", user="li")
    chain = read_json(folder / "chain.json")
    assert chain["complete"] is False
    assert [e["run_id"] for e in chain["runs"]] == [Run(r).run_id for r in runs[1:]]
    assert [r["state"] for r in read_json(folder / "history.json")["runs"]] == ["grown"] * 2
    assert verify_package(folder, runs=[tmp_path]).ok
    assert "更早批次的检测运行导出时未找到" in pdf_text(folder / "report.pdf")


def test_a_run_without_lineage_has_a_one_run_history(monthly_data, tmp_path):
    """A run made without --previous: its case is new, its chain that run alone."""
    need_font()
    run = tmp_path / "run"
    detect_folder(monthly_data[0], run)
    case = next(c for c in Run(run).cases if c["pattern"] == "collusion_ring")
    folder = export_case(run, case["case_id"], tmp_path / "out", user="li")
    assert [r["state"] for r in read_json(folder / "history.json")["runs"]] == ["new"]
    chain = read_json(folder / "chain.json")
    assert chain["complete"] and len(chain["runs"]) == 1
    assert chain["runs"][0]["previous_run"] is None
    assert verify_package(folder).ok


def test_review_of_an_earlier_run_carries_into_the_package(grown, monthly_runs, ring,
                                                          tmp_path):
    """Confirmed on run 1, exported from run 3: the status and notes of the case key."""
    from graphdetect.review.store import ReviewStore

    store = ReviewStore(tmp_path / "review.sqlite")
    store.add_user("li", "investigator", "a long passphrase")
    first = Run(monthly_runs[0])
    old_id = first.case(ring["case_key"])["case_id"]
    for status, reason in (("in_review", "开始核查"), ("confirmed", "一月已核实串通住院")):
        store.decide(ring["case_key"], run_id=first.run_id, case_id=old_id, user="li",
                     status=status, reason=reason)
    folder = export_case(monthly_runs[2], ring["case_id"], tmp_path / "out", db=store,
                         user="li")
    manifest = read_json(folder / "manifest.json")
    assert manifest["review_status"] == "confirmed"
    assert manifest["case_key"] == ring["case_key"]
    assert "一月已核实串通住院" in pdf_text(folder / "report.pdf")
    for name in ("history.json", "chain.json"):  # the review does not change the history
        assert (folder / name).read_bytes() == (grown / name).read_bytes()
    exported, total = store.audit_log(action="export")
    assert total == 1 and json.loads(exported[0]["detail"])["case_key"] == ring["case_key"]


def test_verify_refuses_runs_that_are_not_run_folders(grown, tmp_path):
    out = CliRunner().invoke(verify_command, [str(grown), "--runs", str(tmp_path / "none")])
    assert out.exit_code == 2
    assert out.output.startswith("Error: ") and out.output.count("\n") == 1
