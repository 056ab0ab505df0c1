"""concurrent_stay names where the person's other claims during the stays were made."""

from __future__ import annotations

import pandas as pd

from graphdetect.cases import build_cases
from graphdetect.detectors import concurrent_stay
from graphdetect.explain import explain
from graphdetect.graph import ClaimsGraph


def _claims() -> pd.DataFrame:
    rows = [("A", "H1", "inpatient", "2024-03-01 09:00", "2024-03-10", 5000.0),
            ("B", "H2", "inpatient", "2024-03-05 09:00", "2024-03-12", 4000.0),
            ("C", "PH1", "pharmacy", "2024-03-07 20:15", None, 180.0),     # during both
            ("D", "PH1", "pharmacy", "2024-03-08 09:00", None, 90.0),      # the same place
            ("E", "CL9", "outpatient", "2024-03-11 10:00", None, 60.0),    # during the second
            ("F", "PH2", "pharmacy", "2024-03-20 10:00", None, 50.0)]      # after both
    frame = pd.DataFrame(rows, columns=["claim_id", "institution_id", "visit_type",
                                        "start_time", "end_time", "total_amount"])
    return frame.assign(patient_id="P1", start_time=pd.to_datetime(frame["start_time"]),
                        end_time=pd.to_datetime(frame["end_time"]))


def test_places_of_the_claims_during_the_stays_are_named():
    [f] = concurrent_stay(ClaimsGraph(_claims()))
    assert sorted(f.claim_ids) == ["A", "B", "C", "D", "E"]
    assert [m for m in f.members if m[2] == "elsewhere"] == [
        ("institution", "CL9", "elsewhere"), ("institution", "PH1", "elsewhere")]
    assert f.details["elsewhere"] == [
        {"institution": "PH1", "day": "2024-03-07", "visit": "pharmacy"},
        {"institution": "PH1", "day": "2024-03-08", "visit": "pharmacy"},
        {"institution": "CL9", "day": "2024-03-11", "visit": "outpatient"}]
    [case] = build_cases([f])
    assert case["explanation_en"].endswith(
        "3 other claim(s) elsewhere during the stays, at PH1, CL9.")
    assert case["explanation"].endswith("住院期间另有3笔他处门诊或购药记录，在PH1、CL9。")


def test_many_places_are_counted_after_the_first_three():
    extra = pd.DataFrame({"claim_id": [f"X{k}" for k in range(4)],
                          "institution_id": [f"PX{k}" for k in range(4)],
                          "visit_type": "pharmacy", "total_amount": 30.0, "patient_id": "P1",
                          "start_time": pd.to_datetime("2024-03-06 12:00"),
                          "end_time": pd.NaT})
    [f] = concurrent_stay(ClaimsGraph(pd.concat([_claims(), extra], ignore_index=True)))
    [case] = build_cases([f])
    assert case["explanation_en"].endswith(
        "7 other claim(s) elsewhere during the stays, at PX0, PX1, PX2 and 3 more places.")
    assert case["explanation"].endswith("在PX0、PX1、PX2等6家机构。")


def test_a_case_written_before_the_places_were_named_still_explains_itself():
    [case] = build_cases(concurrent_stay(ClaimsGraph(_claims())))
    del case["details"]["elsewhere"]
    assert explain(case, "en").endswith("3 other claim(s) elsewhere during the stays.")
