"""split_stay on data without diagnosis codes: the same doctor stands in for the diagnosis,
and without doctor ids the gap alone is left; the case says what it did not check."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from graphdetect import read_folder
from graphdetect.cases import build_cases
from graphdetect.detectors import split_stay
from graphdetect.graph import ClaimsGraph
from graphdetect.run import capabilities, limitations


def _claims(doctors: bool, diagnoses: bool) -> pd.DataFrame:
    """P1 discharged and readmitted a day later by the same doctor for the same disease;
    P2 readmitted a day later by another ward's doctor for another disease (say, a fall
    on the way home); P3 readmitted after five days."""
    rows = [("A", "P1", "D1", "2024-03-01 09:00", "2024-03-08", "I63.9", 6000.0),
            ("B", "P1", "D1", "2024-03-09 10:00", "2024-03-15", "I63.9", 4000.0),
            ("C", "P2", "D1", "2024-04-01 09:00", "2024-04-06", "I63.9", 5000.0),
            ("D", "P2", "D7", "2024-04-07 15:00", "2024-04-12", "S72.0", 9000.0),
            ("E", "P3", "D1", "2024-05-01 09:00", "2024-05-06", "I63.9", 5000.0),
            ("F", "P3", "D1", "2024-05-11 09:00", "2024-05-16", "I63.9", 5000.0)]
    frame = pd.DataFrame(rows, columns=["claim_id", "patient_id", "doctor_id", "start_time",
                                        "end_time", "diagnosis_code", "total_amount"])
    frame = frame.assign(institution_id="H1", visit_type="inpatient",
                         diagnosis_code=pd.Categorical(frame["diagnosis_code"]),
                         start_time=pd.to_datetime(frame["start_time"]),
                         end_time=pd.to_datetime(frame["end_time"]))
    drop = [c for c, keep in (("doctor_id", doctors), ("diagnosis_code", diagnoses)) if not keep]
    return frame.drop(columns=drop)


def _split(doctors: bool, diagnoses: bool) -> list[dict]:
    return build_cases(split_stay(ClaimsGraph(_claims(doctors, diagnoses))))


def test_with_diagnoses_only_the_same_disease_is_a_split():
    [case] = _split(doctors=True, diagnoses=True)
    assert case["claim_ids"] == ["A", "B"]
    assert case["details"]["diagnosis"] == "I63.9" and "doctor" not in case["details"]
    assert "with the same diagnosis I63.9;" in case["explanation_en"]


def test_without_diagnoses_the_same_doctor_stands_in_for_the_disease():
    [case] = _split(doctors=True, diagnoses=False)
    assert case["claim_ids"] == ["A", "B"]        # P2's other ward's admission is left alone
    assert case["details"]["diagnosis"] is None and case["details"]["doctor"] == "D1"
    assert "by the same doctor D1 (the data has no diagnosis codes: not checked);" \
        in case["explanation_en"]
    assert "由同一医生D1再次入院（数据无诊断编码，未核对诊断）；" in case["explanation"]
    [with_dx] = _split(doctors=True, diagnoses=True)
    assert case["score"] == pytest.approx(0.9 * with_dx["score"], abs=1e-4)


def test_without_diagnoses_or_doctors_the_gap_is_all_there_is():
    cases = _split(doctors=False, diagnoses=False)
    # P2's readmission for another disease cannot be told from a split: it is flagged,
    # lower, and its case says so; P3's five days are still too long
    assert sorted(c["claim_ids"] for c in cases) == [["A", "B"], ["C", "D"]]
    [with_dx] = _split(doctors=True, diagnoses=True)
    for case in cases:
        assert case["score"] == pytest.approx(0.8 * with_dx["score"], abs=1e-4)
        assert "readmitted 1 day(s) later (2024-03-09) (the data has no diagnosis codes" \
            in case["explanation_en"] or "(2024-04-07) (the data has no diagnosis codes" \
            in case["explanation_en"]


@pytest.mark.parametrize("gap", [0, 1, 2])
@pytest.mark.parametrize("omit", [("diagnosis_code",), ("diagnosis_code", "doctor_id")])
def test_generated_splits_are_found_without_diagnosis_codes(tmp_path, gap, omit):
    """Planted splits at each gap, with stays of drawn lengths, in a city exported without
    diagnosis codes (and doctor ids): every one is a case, and the run says what it could
    not check. The city's readmissions for another illness (look-alikes, admitted by
    another department's doctor) are told apart by the doctor; without doctor ids they are
    cases too, which is what the gap alone can say."""
    from graphdetect.synth import generate

    out = tmp_path / "city"
    generate(out, patients=4000, seed=gap + 10 * len(omit), omit_columns=omit,
             plant={"readmission_same_diagnosis": 6},
             fix={"readmission_same_diagnosis.gap_days": gap})
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    planted = {tuple(sorted(g["claim_ids"])) for g in truth["groups"]
               if g["kind"] == "split_stay"}
    other = {tuple(sorted(g["claim_ids"])) for g in truth["lookalikes"]
             if g["kind"] == "readmission"}
    data = read_folder(out)
    graph = ClaimsGraph.from_data(data)
    found = {tuple(sorted(f.claim_ids)) for f in split_stay(graph)}
    assert len(planted) == 6 and len(other) >= 2
    assert found == (planted if "doctor_id" not in omit else planted | other)
    assert "claims.diagnosis_code" not in capabilities(data, graph)
    assert any(line.startswith("split_stay: no diagnosis codes, so readmissions were "
                               "matched on the doctor") for line in limitations(data, graph))


def test_evaluate_scores_splits_without_diagnosis_codes_by_the_same_rule(tmp_path):
    """``graphdetect evaluate`` applies the rule to the data itself: without diagnosis
    codes, readmissions by the same doctor are the truth the run is scored against."""
    from graphdetect.evaluate import evaluate
    from graphdetect.run import detect_folder
    from graphdetect.synth import generate

    generate(tmp_path / "city", patients=3000, seed=5, omit_columns=("diagnosis_code",),
             plant={"readmission_same_diagnosis": 4})
    detect_folder(tmp_path / "city", tmp_path / "run")
    got = evaluate(tmp_path / "city", tmp_path / "run")
    assert got["patterns"]["split_stay"] == {"truth": 4, "found": 4, "cases": 4,
                                             "cases_right": 4, "recall": 1.0,
                                             "precision": 1.0}
    assert got["variants"]["readmission_same_diagnosis"]["recall"] == 1.0
    # the city's readmissions for another illness were another doctor's: none flagged
    looks = got["lookalikes"]
    assert looks["by_kind"]["readmission"] >= 2 and looks["flagged_by_kind"]["readmission"] == 0


def test_evaluate_counts_readmissions_for_another_illness_flagged_by_the_gap_alone(tmp_path):
    """Without diagnosis codes or doctor ids a readmission for another illness is a case
    (the rule the data allows), and evaluate reports it as a look-alike flagged."""
    from graphdetect.evaluate import evaluate
    from graphdetect.run import detect_folder
    from graphdetect.synth import generate

    generate(tmp_path / "city", patients=3000, seed=6,
             omit_columns=("diagnosis_code", "doctor_id"),
             plant={"readmission_same_diagnosis": 3})
    detect_folder(tmp_path / "city", tmp_path / "run")
    looks = evaluate(tmp_path / "city", tmp_path / "run")["lookalikes"]
    assert looks["flagged_by_kind"]["readmission"] == looks["by_kind"]["readmission"] >= 2
    assert looks["flagged"] == looks["flagged_by_kind"]["readmission"]


def _coded(first: str, second: str) -> list[dict]:
    """P1 discharged on 8 March and readmitted the next day, the stays coded so."""
    frame = _claims(doctors=True, diagnoses=True).iloc[:2].assign(
        diagnosis_code=pd.Categorical([first, second]))
    return build_cases(split_stay(ClaimsGraph(frame)))


def test_one_icd10_category_under_two_codes_is_one_illness():
    """The insurance edition's extension codes (J18.000x001) and a coder's choice of
    detail put one illness under several codes: the stays share the ICD-10 category.
    The case names both codes; a local numbering's codes are compared whole."""
    [case] = _coded("J18.900", "J18.000x001")
    assert case["claim_ids"] == ["A", "B"]
    assert case["details"]["diagnosis"] == "J18.900"
    assert case["details"]["diagnoses"] == ["J18.900", "J18.000x001"]
    assert "with diagnoses of one category (J18.900, J18.000x001);" in case["explanation_en"]
    assert "以同类诊断（J18.900、J18.000x001）再次入院" in case["explanation"]
    [same] = _coded("I63.9", "I63.9")
    assert "diagnoses" not in same["details"]
    assert _coded("J18.900", "J44.100") == []
    assert _coded("1234567", "1239999") == []
    assert len(_coded("1234567", "1234567")) == 1
    whole = split_stay(ClaimsGraph(_claims(True, True).iloc[:2].assign(
        diagnosis_code=pd.Categorical(["J18.900", "J18.000x001"]))), diagnosis_prefix=0)
    assert whole == []


@pytest.mark.parametrize("seed", [2, 5])
def test_generated_splits_coded_at_several_levels_of_detail_are_found(tmp_path, seed):
    """A city whose coders write each diagnosis at a level of detail of their own
    (habit diagnosis_subcodes): every planted split is found, as in the city as made, and
    no readmission for another illness is flagged; compared on whole codes, most splits
    are lost."""
    from graphdetect.evaluate import evaluate
    from graphdetect.run import detect_folder
    from graphdetect.settings import resolve
    from graphdetect.synth import generate
    from graphdetect.synth.habits import diagnosis_subcodes

    plant = {"readmission_same_diagnosis": 6}
    generate(tmp_path / "city", patients=3000, seed=seed, days=180, plant=plant)
    diagnosis_subcodes(tmp_path / "city", tmp_path / "coded", seed=seed)
    found = {}
    for prefix in (3, 0):
        run = tmp_path / f"run{prefix}"
        detect_folder(tmp_path / "coded", run, settings=resolve(
            overrides=[f"split_stay.diagnosis_prefix={prefix}"]))
        report = evaluate(tmp_path / "coded", run)
        v = report["variants"]["readmission_same_diagnosis"]
        found[prefix] = v["found"]
        if prefix == 3:
            assert v["found"] == v["truth"] == 6 and v["cases"] == v["cases_right"]
            assert report["lookalikes"]["flagged"] == 0
    assert found[0] <= 4
