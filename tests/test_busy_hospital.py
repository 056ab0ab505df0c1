"""Collusion rings in the wards of a busy county hospital.

The generator plants rings at private hospitals and township health centres, where a
ring's morning is a burst of the place's own admissions. Moved into the county's largest
public hospital, admitting a dozen to sixty patients a day under a hundred doctors
(:func:`graphdetect.synth.busy.busy_hospital`), a ring is a few more admissions on a busy
day: with bursts looked for in the places' admissions alone, 0 to 3 of the 8 rings
moved into each of six 8,000-person cities were found. A ring's doctors' own
admissions still burst (:func:`~graphdetect.detectors._ring_occasions.stream_occasions`),
each against that doctor's usual admissions on that day of the week: a surgeon's
operating day is no burst of hers.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from generator_support import variant_figures

from graphdetect.synth import generate
from graphdetect.synth.busy import RING_VARIANTS, busy_hospital


def _cases(run) -> list[dict]:
    return [json.loads(x) for x in
            (run / "cases.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize(("seed", "per_day"), [(4, 30), (6, 60)])
def test_rings_in_a_busy_county_hospital_are_found(tmp_path, seed, per_day):
    """The rings that admit their recruits together (in a morning, or a part of a large
    pool over a few days) are found in the wards, and the rest of the city as before;
    at most one ring case is a fragment, none names a look-alike. (The thin rings, a few a
    week or spread over a week under two or three doctors, are mostly missed: README.)"""
    city = tmp_path / "city"
    generate(city, patients=8000, seed=seed)
    busy = busy_hospital(city, tmp_path / "busy", per_day=per_day, seed=seed)
    assert busy["rings"] == 2 * len(RING_VARIANTS)
    figures, flagged = variant_figures(tmp_path / "busy", tmp_path / "run", RING_VARIANTS)
    assert flagged == 0
    for variant in ("batch_admission", "partial_pool"):
        assert figures[variant][1] == figures[variant][0], (variant, figures)
    assert sum(cases - right for _, _, cases, right in figures.values()) <= 1, figures
    assert sum(found for _, found, _, _ in figures.values()) >= 5, figures

    # most rings in the wards were seen in their doctors' admissions only (a large
    # morning may still double the hospital's day), and their cases say so
    cases = _cases(tmp_path / "run")
    ward = [c for c in cases if c["pattern"] == "collusion_ring"
            and busy["host"] in c["details"]["institutions"]]
    seen = [c for c in ward if c["details"]["doctor_occasions"] > 0]
    assert len(ward) >= 5 and len(seen) >= 4, [c["details"]["doctor_occasions"] for c in ward]
    assert all("what the admitting doctors usually admit" in c["explanation_en"]
               and "按收治医师本人的常规入院量计" in c["explanation"] for c in seen)


@pytest.mark.parametrize("omit", [(), ("doctor_id",)])
def test_a_busy_hospital_is_a_city_with_more_admissions(tmp_path, omit):
    """The wards' admissions come each with a new patient, at the host, under its new
    doctors, at the city's kinds of stay; the rings' claims are all at the host (a city
    exported without doctor ids as well)."""
    city = tmp_path / "city"
    generate(city, patients=2000, seed=2, days=120, plant={"spread_week": 2},
             omit_columns=omit)
    busy = busy_hospital(city, tmp_path / "busy", per_day=10, seed=2)
    import pandas as pd

    before = pd.read_csv(city / "claims.csv", dtype=str, keep_default_na=False)
    after = pd.read_csv(tmp_path / "busy" / "claims.csv", dtype=str, keep_default_na=False)
    patients = pd.read_csv(tmp_path / "busy" / "patients.csv", dtype=str)
    doctors = pd.read_csv(tmp_path / "busy" / "doctors.csv", dtype=str)
    added = after[~after["claim_id"].isin(before["claim_id"])]
    assert len(added) == busy["admissions"] == 1200
    assert (added["institution_id"] == busy["host"]).all()
    assert added["patient_id"].is_unique and added["patient_id"].isin(patients["patient_id"]).all()
    ward = set(doctors.loc[doctors["institution_id"] == busy["host"], "doctor_id"])
    assert "doctor_id" not in after if omit else set(added["doctor_id"]) <= ward
    days = (pd.to_datetime(added["end_time"]).dt.normalize()
            - pd.to_datetime(added["start_time"]).dt.normalize()).dt.days
    assert days.min() >= 0 and np.median(days) > 2
    truth = json.loads((tmp_path / "busy" / "truth.json").read_text(encoding="utf-8"))
    rings = [g for g in truth["groups"] if g["variant"] == "spread_week"]
    for g in rings:
        assert g["institutions"] == [busy["host"]]
        mine = after[after["claim_id"].isin(g["claim_ids"])]
        assert (mine["institution_id"] == busy["host"]).all()
        if not omit:
            assert set(mine["doctor_id"]) == set(g["doctors"]) and set(g["doctors"]) <= ward


@pytest.mark.parametrize("per_week", [8, 16])
def test_a_surgeons_operating_day_in_the_wards_is_no_ring(tmp_path, per_week):
    """An eye surgeon in the busy hospital operates every Tuesday on ``per_week``
    elderly patients, each twice (one eye, then the other four to eight weeks later),
    for a fixed price: the same doctor, the same few days of stay, the same diagnosis,
    patients coming back. Judged against her usual admissions on any day she admitted
    16 every Tuesday and 8 on another's; judged against her Tuesdays, none is a burst."""
    import pandas as pd

    city = tmp_path / "city"
    generate(city, patients=4000, seed=5, days=240, plant={"batch_admission": 2})
    busy = busy_hospital(city, tmp_path / "busy", per_day=30, seed=5)
    folder = tmp_path / "busy"
    claims = pd.read_csv(folder / "claims.csv", dtype=str, keep_default_na=False)
    people = pd.read_csv(folder / "patients.csv", dtype=str, keep_default_na=False)
    rng = np.random.default_rng(per_week)
    stayed = set(claims.loc[claims["visit_type"] == "inpatient", "patient_id"])
    old = [p for p, born in zip(people["patient_id"], people["birth_date"], strict=True)
           if born < "1960" and p not in stayed]
    first = pd.Timestamp("2024-01-02")      # a Tuesday
    rows, later, new = [], {}, iter(rng.permutation(old))
    for week in range(28):
        again = later.pop(week, [])
        fresh = [next(new) for _ in range(per_week - len(again))]
        for p in fresh:
            later.setdefault(week + int(rng.integers(4, 9)), []).append(p)
        for p in again + fresh:
            t = first + pd.Timedelta(weeks=week, seconds=int(rng.integers(8 * 3600, 11 * 3600)))
            bill = round(float(rng.normal(4200, 120)), 2)
            rows.append({"claim_id": f"EYE{len(rows):06d}", "patient_id": p,
                         "institution_id": busy["host"], "doctor_id": "EYE-SURGEON",
                         "visit_type": "inpatient", "start_time": str(t),
                         "end_time": str(t.normalize() + pd.Timedelta(days=2, hours=10)),
                         "total_amount": f"{bill:.2f}", "fund_amount": f"{0.7 * bill:.2f}",
                         "diagnosis_code": "H25.9"})
    pd.concat([claims, pd.DataFrame(rows)]).fillna("").to_csv(folder / "claims.csv",
                                                              index=False)
    figures, flagged = variant_figures(folder, tmp_path / "run", ("batch_admission",))
    assert figures["batch_admission"][1] == 2 and flagged == 0
    named = [c["case_id"] for c in _cases(tmp_path / "run")
             if "EYE-SURGEON" in json.dumps(c)]
    assert named == []
