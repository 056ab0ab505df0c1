"""Tests of graphdetect.evaluate on small hand-made truth and run folders."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from graphdetect.evaluate import evaluate, format_table


def _people(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{k}" for k in range(1, n + 1)]


RINGS = {"G1": ("partial_pool", _people("R", 10), ["H1"]),
         "G2": ("batch_admission", _people("Q", 8), ["H2"]),
         "G3": ("multi_site", _people("M", 6), ["H3", "H4"]),
         "G6": ("partial_pool", _people("U", 4), ["H1"])}


def _stay(cid, pat, inst, start, end) -> dict:
    return {"claim_id": cid, "patient_id": pat, "institution_id": inst, "visit_type": "inpatient",
            "start_time": start, "end_time": end, "total_amount": "3000.00",
            "diagnosis_code": "I63.9"}


def _visit(cid, pat, inst) -> dict:
    return {"claim_id": cid, "patient_id": pat, "institution_id": inst,
            "visit_type": "outpatient", "start_time": "2024-04-01 09:00:00", "end_time": "",
            "total_amount": "800.00", "diagnosis_code": "I10"}


def _case(cid: str, pattern: str, patients: list[str], insts: list[str] = (),
          claims: list[str] = ()) -> dict:
    members = [{"kind": "patient", "id": p, "role": "member"} for p in patients]
    members += [{"kind": "institution", "id": i, "role": "host"} for i in insts]
    return {"case_id": cid, "pattern": pattern, "score": 0.5, "members": members,
            "claim_ids": list(claims), "rules": [], "explanation": "", "metrics": {}}


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("evaluate")
    data, run = root / "data", root / "run"
    data.mkdir()
    run.mkdir()
    rows, groups = [], []
    for gid, (variant, pats, insts) in RINGS.items():
        ids = []
        for k, p in enumerate(pats):
            ids.append(f"{gid}-{k}")
            rows.append(_stay(ids[-1], p, insts[k % len(insts)], "2024-02-01 09:00:00",
                              "2024-02-06 10:00:00"))
        groups.append({"id": gid, "kind": "collusion_ring", "variant": variant,
                       "patients": pats, "institutions": insts, "claim_ids": ids})
    gathering = _people("O", 5)
    rows += [_visit(f"G4-{k}", p, "C1") for k, p in enumerate(gathering)]
    groups.append({"id": "G4", "kind": "outpatient_gathering", "variant": "bussed_elderly",
                   "patients": gathering, "institutions": ["C1"],
                   "claim_ids": [f"G4-{k}" for k in range(5)]})
    rows += [_stay("K1", "S1", "H5", "2024-03-01 09:00:00", "2024-03-10 09:00:00"),
             _stay("K2", "S1", "H6", "2024-03-03 09:00:00", "2024-03-06 09:00:00")]
    groups.append({"id": "G5", "kind": "concurrent_stay", "variant": "two_institutions",
                   "patients": ["S1"], "institutions": ["H5", "H6"], "claim_ids": ["K1", "K2"]})
    rehab = _people("A", 6)
    rows += [_stay(f"L1-{k}", p, "H7", "2024-05-01 09:00:00", "2024-05-12 09:00:00")
             for k, p in enumerate(rehab)]
    rows += [_visit(f"Z-{k}", p, "H1") for k, p in enumerate(_people("Z", 5))]
    pd.DataFrame(rows).to_csv(data / "claims.csv", index=False)
    looks = [{"id": "L1", "kind": "rehab_course", "variant": "ward_courses", "patients": rehab,
              "institutions": ["H7"], "claim_ids": [f"L1-{k}" for k in range(6)]},
             {"id": "L2", "kind": "chronic_followup", "variant": "monthly_clinic",
              "patients": _people("Y", 3), "institutions": ["H1"], "claim_ids": []}]
    (data / "truth.json").write_text(json.dumps({"groups": groups, "lookalikes": looks}))
    cases = [
        _case("R-1", "collusion_ring", RINGS["G1"][1][:4], ["H1"]),  # a third of a pool each
        _case("R-2", "collusion_ring", RINGS["G1"][1][4:7]),
        _case("R-3", "collusion_ring", RINGS["G1"][1][7:]),
        _case("R-4", "collusion_ring", RINGS["G2"][1][:7] + ["X1"], ["H2"]),
        _case("R-5", "collusion_ring", _people("Z", 5), ["H1"]),  # matches nothing
        _case("R-6", "collusion_ring", RINGS["G3"][1][:5], ["H3"]),  # one site of two
        _case("R-7", "collusion_ring", rehab, ["H7"]),  # flags a look-alike
        _case("R-8", "collusion_ring", RINGS["G6"][1], ["H1"]),
        _case("S-1", "concurrent_stay", ["S1"], ["H5", "H6"], ["K1", "K2"]),
    ]
    (run / "cases.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases))
    (run / "entity_scores.csv").write_text("kind,id,score,patterns\npatient,Q1,0.9,"
                                           "collusion_ring\ninstitution,H2,0.8,collusion_ring\n")
    (run / "summary.json").write_text(json.dumps({"parameters": {}}))
    return data, run


@pytest.fixture(scope="module")
def result(folders) -> dict:
    return evaluate(*folders)


def test_patterns_keep_their_keys_and_gain_the_new_kinds(result):
    assert list(result["patterns"]) == ["collusion_ring", "card_pooling",
                                        "outpatient_gathering", "concurrent_stay", "split_stay"]
    ring = result["patterns"]["collusion_ring"]
    assert (ring["truth"], ring["found"], ring["cases"], ring["cases_right"]) == (4, 3, 8, 3)
    assert ring["recall"] == 0.75 and ring["precision"] == 0.375
    assert result["patterns"]["card_pooling"]["recall"] is None
    gathering = result["patterns"]["outpatient_gathering"]
    assert (gathering["truth"], gathering["found"], gathering["precision"]) == (1, 0, None)
    assert result["patterns"]["concurrent_stay"]["recall"] == 1.0
    assert {"patterns", "lookalikes", "auc", "variants"} <= result.keys()


def test_recall_and_coverage_per_variant(result):
    v = result["variants"]
    assert set(v) == {"partial_pool", "batch_admission", "multi_site", "bussed_elderly",
                      "two_institutions"}
    pool = v["partial_pool"]
    assert pool["pattern"] == "collusion_ring"
    assert (pool["truth"], pool["found"], pool["recall"]) == (2, 1, 0.5)
    assert pool["coverage"] == pytest.approx((0.4 + 1.0) / 2)
    assert v["batch_admission"]["coverage"] == 0.875 and v["batch_admission"]["recall"] == 1.0
    assert v["multi_site"]["coverage"] == pytest.approx(5 / 6, abs=1e-4)
    assert v["multi_site"]["institutions_covered"] == 0.5
    assert v["batch_admission"]["institutions_covered"] == 1.0
    assert v["bussed_elderly"]["coverage"] == 0.0 and v["bussed_elderly"]["recall"] == 0.0
    assert v["two_institutions"]["recall"] == 1.0 and v["two_institutions"]["coverage"] == 1.0


def test_fragments_lower_variant_precision(result):
    pool = result["variants"]["partial_pool"]
    # R-1..R-3 are all inside G1 but none holds half of it; R-8 matches G6.
    assert (pool["cases"], pool["cases_right"], pool["precision"]) == (4, 1, 0.25)
    batch = result["variants"]["batch_admission"]
    assert (batch["cases"], batch["cases_right"], batch["precision"]) == (1, 1, 1.0)
    assert result["variants"]["bussed_elderly"]["precision"] is None


def test_lookalikes_flagged_per_kind(result):
    la = result["lookalikes"]
    assert la["groups"] == 2 and la["flagged"] == 1
    assert la["flagged_ids"] == {"rehab_course": ["L1"]}
    assert la["flagged_by_kind"] == {"rehab_course": 1, "chronic_followup": 0}


def test_auc_counts_every_group_pattern(result):
    assert result["auc"]["patient"] is not None and result["auc"]["institution"] is not None


def test_format_table_has_the_variants(result):
    text = format_table(result)
    assert "outpatient_gathering" in text and "partial_pool" in text
    assert "coverage" in text and "rehab_course 1/1" in text and "ROC-AUC" in text


def test_a_windowed_run_is_scored_on_the_groups_inside_its_window(folders, tmp_path):
    import shutil

    data, run = folders
    windowed = tmp_path / "windowed"
    shutil.copytree(run, windowed)
    (windowed / "summary.json").write_text(json.dumps(
        {"parameters": {}, "window": {"since": "2024-04-01", "until": "2024-04-30"}}))
    whole, inside = evaluate(data, run), evaluate(data, windowed)
    # the rings (February), the concurrent stay (March) and the rehab course (May) lie
    # outside April; the gathering (April) stays
    assert whole["patterns"]["collusion_ring"]["truth"] > 0
    assert inside["patterns"]["collusion_ring"]["truth"] == 0
    assert inside["patterns"]["outpatient_gathering"]["truth"] == \
        whole["patterns"]["outpatient_gathering"]["truth"] == 1
    assert "rehab_course" in whole["lookalikes"]["by_kind"]
    assert "rehab_course" not in inside["lookalikes"]["by_kind"]
