"""Case identity across runs: keys, lineage, the runs collection, the hash chain, diff."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import lineage_support
import pytest
from click.testing import CliRunner
from lineage_support import ring

from graphdetect.cli import main
from graphdetect.errors import RunError
from graphdetect.lineage import core_members, diff, link, mint_key
from graphdetect.run import detect_folder, read_cases
from graphdetect.runs import Runs

monthly_data = lineage_support.monthly_data     # session fixtures, used as arguments
monthly_runs = lineage_support.monthly_runs

OLD, NEW = "run-aaaaaaaa0000", "run-bbbbbbbb0000"


def linked(new, old, **kw):
    return {c["case_id"]: c for c in link(new, old, previous_run_id=OLD, run_id=NEW, **kw)}


def cases_of(run: Path) -> list[dict]:
    return read_cases(run)


# --- link() on hand-made cases ------------------------------------------------------------

def test_without_previous_every_case_is_new_with_a_minted_key():
    out = link([ring("R-0001", "ab"), ring("K-0002", "cd", pattern="card_pooling")], None,
               previous_run_id=None, run_id="run-277ef379eb95")
    assert [c["case_key"] for c in out] == ["277ef379-R-0001", "277ef379-K-0002"]
    assert list(out[0])[:2] == ["case_id", "case_key"] and list(out[0])[-1] == "lineage"
    assert out[0]["lineage"] == {"state": "new", "previous": None, "merged_from": [],
                                 "split_from": None, "delta": None}


@pytest.mark.parametrize("run_id, key", [("run-277ef379eb95", "277ef379-R-1"),
                                         ("march/2024!", "march202-R-1"),
                                         ("----", hashlib.sha256(b"----").hexdigest()[:8]
                                          + "-R-1")])
def test_mint_key(run_id, key):
    assert mint_key(run_id, "R-1") == key


def test_institutions_are_not_core_members_unless_alone():
    assert core_members(ring("R-1", "ab")) == {("patient", "a"), ("patient", "b")}
    only = {"members": [{"kind": "institution", "id": "H1", "role": "host"}]}
    assert core_members(only) == {("institution", "H1")}


def test_states_and_deltas():
    old = [ring("R-0001", "abcd", amount=100), ring("R-0002", "efgh", amount=50),
           ring("R-0003", "ijkl", amount=70)]
    new = [ring("R-0001", "abcdxy", claims=[f"C-{p}" for p in "abcdxy"], amount=160),
           ring("R-0002", "efgh", amount=50),
           ring("R-0003", "ijk", claims=["C-i", "C-j", "C-k"], amount=60)]
    out = linked(new, old)
    grown, same, shrunk = out["R-0001"], out["R-0002"], out["R-0003"]
    assert grown["case_key"] == "aaaaaaaa-R-0001"
    assert grown["lineage"]["state"] == "grown"
    assert grown["lineage"]["previous"] == {"run_id": OLD, "case_id": "R-0001"}
    assert grown["lineage"]["delta"] == {"members": 2, "lost_members": 0, "claims": 2,
                                         "amount": 60.0}
    assert same["lineage"]["state"] == "recurring"
    assert same["lineage"]["delta"] == {"members": 0, "lost_members": 0, "claims": 0,
                                        "amount": 0.0}
    assert shrunk["lineage"]["state"] == "shrunk"
    assert shrunk["lineage"]["delta"]["lost_members"] == 1


def test_new_claims_alone_make_a_case_grown():
    out = linked([ring("R-0009", "ab", claims=["C-a", "C-b", "C-z"])], [ring("R-0001", "ab")])
    assert out["R-0009"]["lineage"]["state"] == "grown"
    assert out["R-0009"]["lineage"]["delta"]["claims"] == 1


def test_only_the_same_pattern_and_enough_overlap_match():
    old = [ring("R-0001", "abcd"), ring("K-0001", "wxyz", pattern="card_pooling")]
    new = [ring("R-0002", "wxyz"), ring("R-0003", "a123")]   # overlap 1/4 < 0.5
    out = linked(new, old)
    assert all(c["lineage"]["state"] == "new" for c in out.values())
    assert linked(new, old, min_overlap=0.25)["R-0003"]["case_key"] == "aaaaaaaa-R-0001"


def test_merge_two_earlier_rings_joined_by_a_new_one():
    old = [ring("R-0001", "abcd"), ring("R-0002", "efg")]
    out = linked([ring("R-0001", "abcdefg")], old)["R-0001"]
    assert out["case_key"] == "aaaaaaaa-R-0001"        # best first: 4 of 4 before 3 of 3 by jaccard
    assert out["lineage"]["merged_from"] == ["aaaaaaaa-R-0002"]
    assert out["lineage"]["state"] == "grown"


def test_merge_lists_every_earlier_key_it_absorbed():
    old = [ring("R-0001", "abcd"), ring("R-0002", "efg"), ring("R-0003", "hij")]
    out = linked([ring("R-0001", "abcdefghij")], old)["R-0001"]
    assert out["lineage"]["merged_from"] == ["aaaaaaaa-R-0002", "aaaaaaaa-R-0003"]


def test_split_one_keeps_the_key_the_other_says_split_from():
    old = [ring("R-0001", "abcdefgh")]
    out = linked([ring("R-0001", "abcde"), ring("R-0002", "fgh")], old)
    assert out["R-0001"]["case_key"] == "aaaaaaaa-R-0001"
    assert out["R-0001"]["lineage"]["split_from"] is None
    assert out["R-0002"]["case_key"] == "bbbbbbbb-R-0002"
    assert out["R-0002"]["lineage"] == {"state": "new", "previous": None, "merged_from": [],
                                        "split_from": "aaaaaaaa-R-0001", "delta": None}


def test_ties_are_resolved_the_same_way_in_any_input_order():
    # Two new cases continue one earlier case equally well: the lower case id keeps the key.
    old = [ring("R-0001", "abcd")]
    new = [ring("R-0007", "abcd"), ring("R-0003", "abcd")]
    for order in (new, new[::-1]):
        out = linked(order, old)
        assert out["R-0003"]["case_key"] == "aaaaaaaa-R-0001"
        assert out["R-0007"]["lineage"]["split_from"] == "aaaaaaaa-R-0001"
    # One new case continues two earlier cases equally well: the lower earlier key passes.
    old = [ring("R-0002", "abcd"), ring("R-0001", "abcd")]
    for order in (old, old[::-1]):
        out = linked([ring("R-0005", "abcd")], order)["R-0005"]
        assert out["case_key"] == "aaaaaaaa-R-0001"
        assert out["lineage"]["merged_from"] == ["aaaaaaaa-R-0002"]


def test_earlier_keys_carry_over_and_old_runs_get_minted_keys():
    older = [dict(ring("R-0001", "abcd"), case_key="11111111-R-0004")]
    out = linked([ring("R-0002", "abcd")], older)["R-0002"]
    assert out["case_key"] == "11111111-R-0004"
    out = linked([ring("R-0002", "abcd")], [ring("R-0001", "abcd")])["R-0002"]
    assert out["case_key"] == "aaaaaaaa-R-0001"


def test_link_does_not_change_its_input():
    new, old = [ring("R-0001", "ab")], [ring("R-0001", "ab")]
    before = json.dumps([new, old])
    linked(new, old)
    assert json.dumps([new, old]) == before


def test_diff_of_hand_made_runs():
    old = [ring("R-0001", "abcdefgh"), ring("R-0002", "mn"), ring("R-0003", "pq"),
           ring("R-0004", "uv"), ring("R-0005", "xy")]
    new = [ring("R-0001", "abcde"), ring("R-0002", "fgh"), ring("R-0003", "mnpq"),
           ring("R-0004", "uv"), ring("R-0006", "z1")]
    d = diff(old, new, old_run_id=OLD, new_run_id=NEW)
    assert d["counts"] == {"new": 1, "grown": 0, "shrunk": 1, "recurring": 1, "merged": 1,
                           "split": 1, "vanished": 1}
    by = {r["change"]: r for r in d["cases"]}
    assert by["merged"]["merged_from"] == ["aaaaaaaa-R-0003"]
    assert by["split"]["split_from"] == "aaaaaaaa-R-0001"
    assert by["vanished"] == {"change": "vanished", "case_key": "aaaaaaaa-R-0005",
                              "pattern": "collusion_ring", "case_id": None,
                              "previous_case_id": "R-0005", "state": None, "delta": None,
                              "merged_from": [], "split_from": None}


# --- three monthly runs of generated data -------------------------------------------------

def test_every_run_links_to_the_one_before(monthly_runs):
    summaries = [json.loads((r / "summary.json").read_text()) for r in monthly_runs]
    assert summaries[0]["previous_run"] is None
    for before, s in zip(monthly_runs, summaries[1:], strict=False):
        assert s["previous_run"] == {
            "run_id": json.loads((before / "summary.json").read_text())["run_id"],
            "folder": str(before.resolve()),
            "cases_sha256": hashlib.sha256((before / "cases.jsonl").read_bytes()).hexdigest()}
    assert all(c["lineage"]["state"] == "new" for c in cases_of(monthly_runs[0]))


def test_keys_are_unique_within_each_run(monthly_runs):
    for run in monthly_runs:
        keys = [c["case_key"] for c in cases_of(run)]
        assert keys and len(keys) == len(set(keys))


def test_a_ring_that_keeps_admitting_keeps_its_key_and_grows(monthly_data, monthly_runs):
    """A planted ring found cleanly in consecutive runs, with more claims: one key, grown."""
    truth = json.loads((monthly_data[0].parent / "city" / "truth.json").read_text())
    runs = [cases_of(run) for run in monthly_runs]
    followed: dict[str, int] = {}
    for group in truth["groups"]:
        if group["kind"] != "collusion_ring":
            continue
        planted = set(group["claim_ids"])
        found = [_best(cases, "collusion_ring", planted) for cases in runs]
        for a, b in zip(found, found[1:], strict=False):
            if a is None or b is None or not (_covers(a, planted) < _covers(b, planted)):
                continue
            assert b["case_key"] == a["case_key"], group["id"]
            assert b["lineage"]["state"] == "grown"
            assert b["lineage"]["previous"]["case_id"] == a["case_id"]
            assert b["lineage"]["delta"]["claims"] >= _covers(b, planted) - _covers(a, planted)
            followed[group["id"]] = followed.get(group["id"], 0) + 1
    assert sum(followed.values()) >= 3
    assert 2 in followed.values()           # one ring followed through all three runs


def test_a_case_with_no_new_claims_is_recurring(monthly_runs):
    before = {c["case_key"]: c for c in cases_of(monthly_runs[0])}
    same = [c for c in cases_of(monthly_runs[1]) if c["case_key"] in before
            and c["claim_ids"] == before[c["case_key"]]["claim_ids"]
            and core_members(c) == core_members(before[c["case_key"]])]
    assert same
    assert all(c["lineage"]["state"] == "recurring" for c in same)
    assert all(c["lineage"]["delta"] == {"members": 0, "lost_members": 0, "claims": 0,
                                         "amount": 0.0} for c in same)


def test_same_input_and_previous_give_the_same_bytes(monthly_data, monthly_runs, tmp_path):
    again = tmp_path / "run2"
    detect_folder(monthly_data[1], again, previous=monthly_runs[0])
    for name in ("cases.jsonl", "entity_scores.csv", "rejects.csv"):
        assert (again / name).read_bytes() == (monthly_runs[1] / name).read_bytes()
    a, b = (json.loads((p / "summary.json").read_text()) for p in (again, monthly_runs[1]))
    a.pop("timings"), b.pop("timings")
    assert a == b


def test_a_linked_run_has_its_own_run_id(monthly_data, monthly_runs, tmp_path):
    alone = detect_folder(monthly_data[1], tmp_path / "alone")
    linked_id = json.loads((monthly_runs[1] / "summary.json").read_text())["run_id"]
    assert alone["run_id"] != linked_id and alone["previous_run"] is None


def test_previous_may_be_a_folder_of_runs_and_never_the_output(monthly_data, monthly_runs,
                                                                  tmp_path):
    root = tmp_path / "runs"
    for run in monthly_runs:
        shutil.copytree(run, root / run.name)
    out = root / "run4"
    s = detect_folder(monthly_data[2], out, previous=root)
    assert s["previous_run"]["folder"] == str((root / "run3").resolve())
    s = detect_folder(monthly_data[2], out, previous=root)   # run4 is there now: skipped
    assert s["previous_run"]["folder"] == str((root / "run3").resolve())
    with pytest.raises(RunError, match="being written"):
        detect_folder(monthly_data[2], out, previous=out)
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunError, match="no graphdetect run folders"):
        detect_folder(monthly_data[0], tmp_path / "x", previous=tmp_path / "empty")


def test_runs_are_ordered_by_their_chain(monthly_runs, tmp_path):
    for n, run in enumerate(monthly_runs):           # copies, newest mtime on the oldest run
        shutil.copytree(run, tmp_path / f"z{3 - n}")
    os.utime(tmp_path / "z3" / "summary.json", (4e9, 4e9))
    runs = Runs([tmp_path])
    assert [r.folder.name for r in runs] == ["z3", "z2", "z1"]
    assert runs.newest.folder.name == "z1"
    rid = json.loads((monthly_runs[1] / "summary.json").read_text())["run_id"]
    assert runs.get(rid).folder.name == "z2"
    assert runs.cases(rid) == cases_of(monthly_runs[1])
    with pytest.raises(RunError, match="no run run-nope"):
        runs.get("run-nope")


def test_history_of_a_key(monthly_runs):
    runs = Runs(monthly_runs)
    last = [c for c in runs.newest.cases if c["lineage"]["state"] == "grown"
            and c["case_key"].startswith(runs.runs[0].run_id[4:12])][0]
    rows = runs.history(last["case_key"])
    assert [r["run_id"] for r in rows] == [r.run_id for r in runs]
    assert rows[-1] == {"run_id": runs.newest.run_id, "case_id": last["case_id"],
                        "score": last["score"], "members": len(last["members"]),
                        "claims": len(last["claim_ids"]),
                        "total_amount": last["metrics"]["total_amount"],
                        "state": "grown", "delta": last["lineage"]["delta"],
                        "merged_from": last["lineage"]["merged_from"], "split_from": None}
    assert rows[0]["state"] == "new" and rows[0]["delta"] is None
    assert runs.history("nobody-R-0001") == []


def test_an_old_run_without_keys_reads_with_minted_keys(monthly_runs, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(monthly_runs[0], old)
    with open(old / "cases.jsonl", "w", encoding="utf-8") as f:
        for c in cases_of(monthly_runs[0]):
            c.pop("case_key"), c.pop("lineage")
            f.write(json.dumps(c, ensure_ascii=False) + "\n")
    assert [c["case_key"] for c in Runs([old]).newest.cases] == \
        [c["case_key"] for c in cases_of(monthly_runs[0])]


# --- the hash chain and the CLI -----------------------------------------------------------

def test_the_chain_verifies(monthly_runs):
    assert Runs(monthly_runs).verify_chain() == []
    res = CliRunner().invoke(main, ["verify-chain", str(monthly_runs[0].parent)])
    assert res.exit_code == 0, res.output
    assert "chain holds: 3 runs, 2 links checked" in res.output


def test_the_chain_breaks_when_an_old_cases_file_is_altered(monthly_runs, tmp_path):
    for run in monthly_runs:
        shutil.copytree(run, tmp_path / run.name)
    cases = tmp_path / "run1" / "cases.jsonl"
    cases.write_bytes(cases.read_bytes().replace(b'"score": 0.', b'"score": 1.', 1))
    res = CliRunner().invoke(main, ["verify-chain", str(tmp_path)])
    assert res.exit_code == 1
    broken = [line for line in res.output.splitlines() if "broken link" in line]
    assert len(broken) == 1
    assert broken[0].startswith(f"{(tmp_path / 'run1').resolve()} (")
    assert str((tmp_path / "run2").resolve()) in broken[0]


def test_a_previous_run_that_is_not_here_is_named(monthly_runs):
    res = CliRunner().invoke(main, ["verify-chain", str(monthly_runs[2])])
    assert res.exit_code == 1
    assert "is not here, so that link is not checked" in res.output
    assert "broken" not in res.output


def test_detect_previous_on_the_command_line(monthly_data, monthly_runs, tmp_path):
    out = tmp_path / "run2"
    res = CliRunner().invoke(main, ["detect", str(monthly_data[1]), "--out", str(out),
                                    "--previous", str(monthly_runs[0])])
    assert res.exit_code == 0, res.output
    assert "continues: run-" in res.output
    assert (out / "cases.jsonl").read_bytes() == (monthly_runs[1] / "cases.jsonl").read_bytes()
    res = CliRunner().invoke(main, ["detect", str(monthly_data[1]), "--out", str(out),
                                    "--previous", str(tmp_path / "missing")])
    assert res.exit_code == 2
    assert res.output.strip().splitlines() == [
        f"Error: {tmp_path / 'missing'}: not a run folder nor a folder of run folders"]


def test_diff_json_matches_the_linked_run(monthly_runs):
    res = CliRunner().invoke(main, ["diff", str(monthly_runs[0]), str(monthly_runs[1]),
                                    "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    run2 = cases_of(monthly_runs[1])
    assert d["old"]["run_id"] == json.loads((monthly_runs[0] / "summary.json").read_text())[
        "run_id"]
    rows = {r["case_id"]: r for r in d["cases"] if r["case_id"]}
    assert {k: r["case_key"] for k, r in rows.items()} == {c["case_id"]: c["case_key"]
                                                           for c in run2}
    assert all(rows[c["case_id"]]["state"] == c["lineage"]["state"] for c in run2)
    assert sum(d["counts"].values()) == len(d["cases"])
    assert d["counts"]["grown"] >= 1
    vanished = {r["case_key"] for r in d["cases"] if r["change"] == "vanished"}
    kept = {c["case_key"] for c in run2} | {k for c in run2 for k in c["lineage"]["merged_from"]}
    assert vanished == {c["case_key"] for c in cases_of(monthly_runs[0])} - kept


def test_diff_table(monthly_runs):
    res = CliRunner().invoke(main, ["diff", str(monthly_runs[1]), str(monthly_runs[2])])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].startswith("run-") and " -> run-" in lines[0]
    assert lines[1].split(", ")[0].endswith(" new") and "vanished" in lines[1]
    assert lines[2].split() == ["change", "case", "key", "case", "was", "members", "claims",
                                "amount", "note"]
    grown = [c for c in cases_of(monthly_runs[2]) if c["lineage"]["state"] == "grown"
             and not c["lineage"]["merged_from"]][0]
    row = [line for line in lines if grown["case_key"] in line][0].split()
    d = grown["lineage"]["delta"]
    assert row[:4] == ["grown", grown["case_key"], grown["case_id"],
                       grown["lineage"]["previous"]["case_id"]]
    assert row[4:7] == [f"+{d['members']}/-{d['lost_members']}", f"+{d['claims']}",
                        f"{d['amount']:+,.2f}"]


def _covers(case: dict, planted: set[str]) -> int:
    return len(planted.intersection(case["claim_ids"]))


def _best(cases: list[dict], pattern: str, planted: set[str]) -> dict | None:
    """The case of ``pattern`` holding most of ``planted``, if it is mostly (80%) planted."""
    scored = [(_covers(c, planted), c["case_id"], c) for c in cases if c["pattern"] == pattern]
    scored = [s for s in scored if s[0] >= 0.8 * len(s[2]["claim_ids"])]
    return max(scored, key=lambda s: (s[0], s[1]))[2] if scored else None
