"""Courses of daily treatment (physiotherapy at a township health centre, infusions at a
clinic): each patient comes every day of a course of a few days to a few weeks, at one
price, and new patients start as others finish, so a morning's cards are mostly the day
before's. The lockstep engine links such mornings; before the course rule, six
8,000-person cities of the generator's version 5 gave 32 card_pooling cases made of
course rooms, 5 of the 6 rooms flagged.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from graphdetect.detectors._lockstep_features import calendar, place_walk
from graphdetect.evaluate import evaluate
from graphdetect.graph import ClaimsGraph
from graphdetect.run import detect_folder
from graphdetect.synth import generate

LOCKSTEP = ("card_pooling", "outpatient_gathering")


@pytest.mark.parametrize("course_days, in_course, seed", [(3, 25, 1), (8, 15, 2), (14, 25, 3)])
def test_course_rooms_are_no_case(tmp_path, course_days, in_course, seed):
    """Course rooms of every length, full, at one price for everyone: none flagged, and
    the pooling and gatherings planted beside them still found."""
    generate(tmp_path, patients=5000, seed=seed, days=200,
             plant={"pharmacy_daytime": 2, "phantom_billing": 2, "bussed_elderly": 2},
             fix={"treatment_course.course_days": course_days,
                  "treatment_course.in_course": in_course, "treatment_course.price_cv": 0})
    detect_folder(tmp_path, tmp_path / "run")
    report = evaluate(tmp_path, tmp_path / "run")
    assert report["lookalikes"]["by_kind"]["treatment_course"] >= 1
    assert report["lookalikes"]["flagged"] == 0, report["lookalikes"]["flagged_ids"]
    for pattern in LOCKSTEP:
        r = report["patterns"][pattern]
        assert r["found"] == r["truth"] and r["cases"] == r["cases_right"], (pattern, r)
    # the courses' cards did make lockstep groups, scored low and saying why
    truth = json.loads((tmp_path / "truth.json").read_text())
    ids = {x for g in truth["lookalikes"] if g["kind"] == "treatment_course"
           for x in g["claim_ids"]}
    cases = [json.loads(x) for x in (tmp_path / "run" / "cases.jsonl").read_text().splitlines()]
    assert not [c for c in cases if c["pattern"] in LOCKSTEP
                and 2 * len(ids.intersection(c["claim_ids"])) >= len(c["claim_ids"])]


def _graph(visits: dict[str, list[str]]) -> ClaimsGraph:
    rows = [(f"{p}{k}", p, pd.Timestamp(d) + pd.Timedelta(hours=8))
            for p, days in visits.items() for k, d in enumerate(days)]
    claims = pd.DataFrame(rows, columns=["claim_id", "patient_id", "start_time"])
    return ClaimsGraph(claims.assign(institution_id="H1", visit_type="outpatient",
                                     total_amount=60.0))


def test_a_course_is_three_visit_days_in_a_row_weekends_aside():
    # 2024-01-04 is a Thursday
    graph = _graph({
        "thu_fri_mon": ["2024-01-04", "2024-01-05", "2024-01-08"],      # a course
        "mon_wed_fri": ["2024-01-08", "2024-01-10", "2024-01-12"],      # every other day
        "two_days": ["2024-01-09", "2024-01-10"],                       # too short
        "six_weeks": [str(d.date()) for d in pd.date_range("2024-01-01", periods=42)],
    })
    n = len(graph)
    patient = graph.codes("patient")
    names = list(graph.index("patient"))
    # one group per patient, of all its rows
    gid = patient.astype(np.int64)
    share = calendar(graph, np.arange(n), gid, np.zeros(len(names), np.int64),
                     place_walk(graph, np.zeros(1, np.int64)), len(names))[3]
    assert dict(zip(names, share.tolist(), strict=True)) == {
        "mon_wed_fri": 0.0, "six_weeks": 0.0, "thu_fri_mon": 1.0, "two_days": 0.0}


def _clinic_with_a_bus(with_diagnoses: bool) -> pd.DataFrame:
    """120 days of a clinic whose infusion room sees 60 people every morning (5-day
    courses at 90 yuan, 7:30-11:30), and a bus of 15 elderly brought in every 14 days at
    8:30, six minutes apart, for 800 yuan each under one diagnosis, seen by the clinic's
    one doctor: no denser than the clinic's usual mornings."""
    rng = np.random.default_rng(5)
    day0 = pd.Timestamp("2024-01-01")
    rows = []
    for day in range(120):
        for k in range(60):
            who = f"I{(day // 5) * 60 + (k + day) % 60}"
            t = day0 + pd.Timedelta(days=day, seconds=int(rng.uniform(7.5, 11.5) * 3600))
            rows.append((f"i{day}-{k}", who, t, 90.0, "J06.9", "D1"))
    for occasion, day in enumerate(range(3, 120, 14)):
        for k in range(15):
            t = day0 + pd.Timedelta(days=day, hours=8.5, minutes=6 * k + int(rng.integers(-1, 2)))
            rows.append((f"b{occasion}-{k}", f"B{k}", t, 800.0 + k % 3, "I10", "D1"))
    claims = pd.DataFrame(rows, columns=["claim_id", "patient_id", "start_time",
                                         "total_amount", "diagnosis_code", "doctor_id"])
    claims = claims.assign(institution_id="C1", visit_type="outpatient",
                           diagnosis_code=pd.Categorical(claims["diagnosis_code"]))
    return claims if with_diagnoses else claims.drop(columns="diagnosis_code")


def test_a_bus_at_a_clinic_busy_with_infusions_stands_out_in_its_diagnosis():
    """The clinic's stream (its doctor's is the same) sees no window twice as dense as
    usual; the bus's diagnosis's stream does, so the gathering is found where the data has
    diagnosis codes (and, without them, not)."""
    from graphdetect.detectors import REGISTRY

    def bus_cases(claims):
        graph = ClaimsGraph(claims)
        found = REGISTRY["outpatient_gathering"].func(graph) + \
            REGISTRY["card_pooling"].func(graph)
        return [f for f in found if sum(x.startswith("b") for x in f.claim_ids) >= 60]

    found = bus_cases(_clinic_with_a_bus(True))
    assert [f.pattern for f in found] == ["outpatient_gathering"]
    assert found[0].score >= 0.5 and "diagnosis" in found[0].details["streams"]
    assert all(x.startswith("b") for x in found[0].claim_ids)
    assert bus_cases(_clinic_with_a_bus(False)) == []
    # coders who write I10, I10.00, I10.x001 or I10.00x002 for one hypertension: the
    # category's stream still holds the whole bus (each code's alone was too thin)
    claims = _clinic_with_a_bus(True)
    dx = claims["diagnosis_code"].astype(str)
    detail = np.array(["", "00", "x001", "00x002"])[np.arange(len(claims)) % 4]
    dot = np.where(dx.str.contains(".", regex=False) | (detail == ""), "", ".")
    claims["diagnosis_code"] = pd.Categorical(dx + dot + detail)
    [coded] = bus_cases(claims)
    assert coded.pattern == "outpatient_gathering" and set(coded.claim_ids) == \
        set(found[0].claim_ids)
