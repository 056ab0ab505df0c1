"""Stays settled on a settlement day and resumed (跨年度结算 on 31 December, 中途结算 each
month): an export shows each as a discharge and a readmission the next day. They are one
stay: split_stay does not flag them, collusion_ring and concurrent_stay take the parts
together, and a real split beside them is still found."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from graphdetect.cases import build_cases
from graphdetect.detectors import concurrent_stay, split_stay
from graphdetect.evaluate import evaluate
from graphdetect.graph import ClaimsGraph
from graphdetect.run import detect_folder


def _frame(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["claim_id", "patient_id", "institution_id",
                                        "start_time", "end_time", "diagnosis_code"])
    return frame.assign(visit_type="inpatient", doctor_id="D1", total_amount=5000.0,
                        diagnosis_code=pd.Categorical(frame["diagnosis_code"]),
                        start_time=pd.to_datetime(frame["start_time"]),
                        end_time=pd.to_datetime(frame["end_time"]))


def _ward(place: str, n: int, day: str, prefix: str) -> list[tuple]:
    """``n`` patients in bed at ``place`` over the night after ``day``, each stay settled
    at 16:30 that day and resumed at midnight."""
    end = pd.Timestamp(day)
    rows = []
    for k in range(n):
        pid = f"{prefix}{k}"
        rows += [(f"{pid}a", pid, place, end - pd.Timedelta(days=3 + k), end + pd.Timedelta(
            hours=16.5), "I63.9"),
                 (f"{pid}b", pid, place, end + pd.Timedelta(days=1),
                  end + pd.Timedelta(days=4 + k, hours=9), "I63.9")]
    return rows


def _cases(rows, detector=split_stay) -> list[dict]:
    return build_cases(detector(ClaimsGraph(_frame(rows))))


def test_a_year_end_settlement_is_no_split_and_a_real_split_that_day_is():
    """Five patients in bed over New Year's Eve at H1 and three at H2 are settled; at H1
    P9 was discharged on the morning of 31 December, readmitted that afternoon and settled
    with the rest; P8 is a split in March. Both splits are cases, P9's holding the two
    parts of the later stay as one stay; nobody settled is one."""
    rows = _ward("H1", 5, "2024-12-31", "W") + _ward("H2", 3, "2024-12-31", "V")
    rows += [("P9a", "P9", "H1", "2024-12-20 09:00", "2024-12-31 10:00", "J18.9"),
             ("P9b", "P9", "H1", "2024-12-31 15:00", "2024-12-31 16:30", "J18.9"),
             ("P9c", "P9", "H1", "2025-01-01 00:00", "2025-01-06 10:00", "J18.9"),
             ("P8a", "P8", "H2", "2025-03-01 09:00", "2025-03-08 10:00", "K29.7"),
             ("P8b", "P8", "H2", "2025-03-09 09:00", "2025-03-15 10:00", "K29.7")]
    cases = {c["details"]["patient"]: c for c in _cases(rows)}
    assert sorted(cases) == ["P8", "P9"]
    p9 = cases["P9"]
    assert p9["claim_ids"] == ["P9a", "P9b", "P9c"] and p9["metrics"]["stays"] == 2
    assert p9["details"]["settled_in_parts"] == 1
    assert p9["details"]["readmitted"] == "2024-12-31"
    assert "1 of them settled in parts on a settlement day" in p9["explanation_en"]
    assert "在结算日分段结算" in p9["explanation"]
    assert "settled_in_parts" not in cases["P8"]["details"]


def test_one_hospital_settling_each_month_on_its_own():
    """H1 settles its long stays at each month's end, H2 (ten patients in bed) does not:
    the day is no settlement day across the city, but it is at H1."""
    rows = _ward("H1", 3, "2024-05-31", "W")
    rows += [(f"N{k}", f"N{k}", "H2", "2024-05-28 09:00", "2024-06-04 10:00", "J18.9")
             for k in range(10)]
    assert _cases(rows) == []


@pytest.mark.parametrize("in_bed", [1, 3])
def test_a_lone_readmission_is_a_split_whatever_the_day(in_bed):
    """One patient discharged on 31 December and readmitted on 1 January, with others in
    bed who were not: one cut is no settlement day, whatever its date."""
    rows = [("Aa", "A", "H1", "2024-12-25 09:00", "2024-12-31 10:00", "I63.9"),
            ("Ab", "A", "H1", "2025-01-01 09:00", "2025-01-05 10:00", "I63.9")]
    rows += [(f"N{k}", f"N{k}", "H1", "2024-12-28 09:00", "2025-01-04 10:00", "J18.9")
             for k in range(in_bed)]
    [case] = _cases(rows)
    assert case["claim_ids"] == ["Aa", "Ab"]


def test_stays_settled_in_parts_at_two_places_at_once_are_one_case():
    """P1 in bed at H1 and at H2 over New Year's Eve, both stays settled with their wards:
    one concurrent-stay case holding the four parts (two cases, each of a part at each
    place, before)."""
    rows = _ward("H1", 3, "2024-12-31", "W") + _ward("H2", 3, "2024-12-31", "V")
    rows += [("P1a", "P1", "H1", "2024-12-27 09:00", "2024-12-31 16:30", "I63.9"),
             ("P1b", "P1", "H1", "2025-01-01 00:00", "2025-01-08 10:00", "I63.9"),
             ("P1x", "P1", "H2", "2024-12-29 09:00", "2024-12-31 16:30", "J18.9"),
             ("P1y", "P1", "H2", "2025-01-01 00:00", "2025-01-05 10:00", "J18.9")]
    [case] = _cases(rows, concurrent_stay)
    assert sorted(case["claim_ids"]) == ["P1a", "P1b", "P1x", "P1y"]


@pytest.mark.parametrize("settle, start", [("year", "2024-07-01"), ("year", "2024-10-15"),
                                           ("month", "2024-01-01"), ("month", "2024-03-20")])
def test_generated_cities_settling_stays_in_parts(tmp_path, settle, start):
    """A city exported with every stay in bed over a settlement night in two claims, the
    settlement day's date swept: the same cases as the city exported whole, save for the
    parts. Before the parts were taken as one stay, a year's month-end settlement gave
    about 1,100 split-stay cases of 1,114 (all but the planted 15) and four ring cases
    and three look-alikes flagged out of nothing."""
    from graphdetect.synth import generate

    found = {}
    for how in (None, settle):
        out = tmp_path / str(how)
        generate(out, patients=4000, seed=3, start=start, settle=how,
                 plant={"readmission_same_diagnosis": 6, "two_institutions": 4,
                        "batch_admission": 2, "weekly_trickle": 2})
        run = tmp_path / f"{how}-run"
        detect_folder(out, run)
        report = evaluate(out, run)
        # the rule evaluate applies, written apart from the detector's, agrees with it
        rule = report["patterns"]["split_stay"]
        assert rule["recall"] == rule["precision"] == 1.0, rule
        truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
        cases = [json.loads(x) for x in (run / "cases.jsonl").read_text().splitlines()]
        found[how] = ({p: (v["found"], v["truth"], v["cases"], v["cases_right"])
                       for p, v in report["variants"].items()},
                      report["lookalikes"]["flagged"], len(cases))
        if how:
            parts = _ids(out) - _ids(tmp_path / "None")
            assert parts, "nothing was settled in parts"
            # no case is made of a settled stay's parts alone
            for c in cases:
                if c["pattern"] == "split_stay":
                    assert c["metrics"]["stays"] >= 2 and c["details"]["first_gap_days"] <= 2
            assert any(set(g["claim_ids"]) & parts for g in truth["groups"])
    assert found[settle] == found[None], found


def _ids(folder) -> set[str]:
    return set(pd.read_csv(folder / "claims.csv", usecols=["claim_id"], dtype=str)["claim_id"])


def test_generate_names_the_settlement_days_it_knows(tmp_path):
    from graphdetect.synth import generate

    with pytest.raises(ValueError, match=r"The 'settle' parameter of generate must be None, "
                                         r"'year' or 'month'; got 'week'\."):
        generate(tmp_path / "x", patients=100, settle="week")
