"""Collusion rings in the wards of a busy county hospital.

The generator plants rings at private hospitals and township health centres, where a
ring's morning is a burst of the place's own admissions. Moved into the county's largest
public hospital, admitting a dozen to sixty patients a day under a hundred doctors
(:func:`graphdetect.synth.busy.busy_hospital`), a ring is a few more admissions on a busy
day: with bursts looked for in the places' admissions alone, 0 to 3 of the 8 rings
moved into each of six 8,000-person cities were found. A ring's doctors' own
admissions still burst (:func:`~graphdetect.detectors._ring_occasions.stream_occasions`).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from generator_support import variant_figures

from graphdetect.synth import generate
from graphdetect.synth.busy import RING_VARIANTS, busy_hospital


@pytest.mark.parametrize(("seed", "per_day"), [(4, 30), (6, 60)])
def test_rings_in_a_busy_county_hospital_are_found(tmp_path, seed, per_day):
    """The rings that admit their recruits together (in a morning, or a part of a large
    pool over a few days) are found in the wards, and the rest of the city as before;
    every ring case is a ring's, and none names a look-alike."""
    city = tmp_path / "city"
    generate(city, patients=8000, seed=seed)
    busy = busy_hospital(city, tmp_path / "busy", per_day=per_day, seed=seed)
    assert busy["rings"] == 2 * len(RING_VARIANTS)
    figures, flagged = variant_figures(tmp_path / "busy", tmp_path / "run", RING_VARIANTS)
    assert flagged == 0
    for variant, (groups, found, cases, right) in figures.items():
        assert cases == right, (variant, figures)
        if variant in ("batch_admission", "partial_pool"):
            assert found == groups, (variant, figures)
    moved = sum(found for _, found, _, _ in figures.values())
    assert moved >= 6, figures

    # most rings in the wards were seen in their doctors' admissions only (a large
    # morning may still double the hospital's day), and their cases say so
    lines = (tmp_path / "run" / "cases.jsonl").read_text(encoding="utf-8").splitlines()
    cases = [json.loads(x) for x in lines]
    ward = [c for c in cases if c["pattern"] == "collusion_ring"
            and busy["host"] in c["details"]["institutions"]]
    seen = [c for c in ward if c["details"]["doctor_occasions"] > 0]
    assert len(ward) >= 6 and len(seen) >= 4, [c["details"]["doctor_occasions"] for c in ward]
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
