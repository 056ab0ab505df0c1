"""collusion_ring where one pool holds more than one ring: the bills that tell two rings
at one host apart, the pieces a split leaves and the groups they go back to, and a
ward's course programmes that must stay whole through it all.

Each situation is planted by hand into the committed sample city's ordinary year of
claims (its planted groups removed), over a range of its parameters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ring_support import (
    REHAB_CODES,
    attended,
    cases_of,
    county_hospital,
    graph_with,
    load_world,
    matching,
    only_case,
    pick_hosts,
    pick_staff,
    plant,
    rehab_rows,
    ring_rows,
)

from graphdetect.cases import build_cases
from graphdetect.detectors import collusion_ring
from graphdetect.detectors._ring_evidence import sites_alike
from graphdetect.detectors._ring_pieces import rejoin


@pytest.fixture(scope="module")
def world() -> dict:
    return load_world()


@pytest.mark.parametrize(("ratio", "cv"), [(1.4, 0.05), (1.6, 0.08), (2.0, 0.12), (3.0, 0.08),
                                         (5.0, 0.08)])
def test_two_rings_in_the_same_weeks_under_one_doctor_are_told_apart_by_bills(world, ratio,
                                                                              cv):
    """Two pools one host admits under one doctor on the same occasions: the occasions
    cannot tell them apart, each ring's own bill level does, down to levels about five
    spreads apart (1.4 times at a 5% spread)."""
    rng = np.random.default_rng(int(ratio * 10) + int(cv * 100))
    host = pick_hosts(world, 1, rng)[0]
    doctors = {host: pick_staff(world, host, 1, rng)}
    people = rng.choice(world["free"], 45, replace=False)
    schedule = [(20 + 45 * k, host, 0.8) for k in range(5)]
    low = ring_rows(rng, "L", people[:15], schedule, doctors=doctors, spread=4, bill=2000.0,
                    cv=cv)
    high = ring_rows(rng, "H", people[15:], schedule, doctors=doctors, spread=4,
                     bill=2000.0 * ratio, cv=cv)
    cases = cases_of(graph_with(world, low, high))
    for planted in (low, high):
        case = only_case(cases, planted)
        assert case["metrics"]["amount_cv"] < cv + 0.07
        mine = {m["id"] for m in case["members"] if m["kind"] == "patient"}
        assert len(mine & attended(planted)) >= 0.9 * len(attended(planted))


@pytest.mark.parametrize("offset", [8, 10, 12])
def test_rings_taking_turns_at_one_host_are_not_one_campaign(world, offset):
    """Three rings one host admits under one doctor, each every 30 days, ``offset`` days
    after the one before: their occasions together make a stream as dense as a weekly
    trickle's rotating sub-pools, but each bills its own amount (2,000, 4,500, 10,000
    yuan), so they are three operations, not one campaign (they came out as one case)."""
    rng = np.random.default_rng(offset)
    host = pick_hosts(world, 1, rng)[0]
    doctors = {host: pick_staff(world, host, 1, rng)}
    people = rng.choice(world["free"], 60, replace=False)
    rings = [ring_rows(rng, f"T{r}", people[20 * r:20 * r + 20],
                       [(15 + offset * r + 30 * k, host, 0.8) for k in range(8)],
                       doctors=doctors, bill=bill, cv=0.06)
             for r, bill in enumerate((2000.0, 4500.0, 10000.0))]
    cases = cases_of(graph_with(world, *rings))
    for planted in rings:
        case = only_case(cases, planted)
        mine = {m["id"] for m in case["members"] if m["kind"] == "patient"}
        assert len(mine & attended(planted)) >= 0.9 * len(mine)


@pytest.mark.parametrize("cv", [0.05, 0.15, 0.3])
def test_one_ring_with_one_bill_level_stays_whole(world, cv):
    rng = np.random.default_rng(int(cv * 100) + 1)
    planted, _ = plant(world, rng, pool_size=80, occasions=6, attendance=0.4, gap=40,
                        spread=3)
    planted["total_amount"] = (5000.0 * np.exp(rng.normal(0, cv, len(planted)))).round(2)
    cases = cases_of(graph_with(world, planted))
    case = only_case(cases, planted)
    assert len(set(case["claim_ids"]) & set(planted["claim_id"])) >= 0.9 * len(planted)
    assert not [c for c in cases if c is not case and matching([c], attended(planted), 0.05)]


@pytest.mark.parametrize(("ratio", "share"), [(1.4, 0.5), (1.6, 0.3), (2.5, 0.15)])
def test_one_ring_whose_stays_bill_two_codes_stays_whole(world, ratio, share):
    """Each stay of one ring bills one of two codes (``share`` of them the dearer): the
    two levels lie inside each patient's stays, not between two groups of patients."""
    rng = np.random.default_rng(int(ratio * 10) + int(share * 100))
    planted, _ = plant(world, rng, pool_size=60, occasions=8, attendance=0.5, gap=35,
                        spread=3)
    dear = rng.random(len(planted)) < share
    planted["total_amount"] = (3000.0 * np.where(dear, ratio, 1.0)
                               * np.exp(rng.normal(0, 0.05, len(planted)))).round(2)
    cases = cases_of(graph_with(world, planted))
    case = only_case(cases, planted)
    assert len(set(case["claim_ids"]) & set(planted["claim_id"])) >= 0.9 * len(planted)


def test_rehabilitation_course_with_another_illness_taken_in_is_still_a_course(world):
    """A few of a ward's course patients are also admitted once for something else, on
    a course day, under the same doctors and billed alike: the course is judged on its
    own diagnosis group's stays, and stays a routine."""
    rng = np.random.default_rng(12)
    planted = rehab_rows(world, rng, "C", 24, [15 + 90 * k for k in range(4)])
    # each taken-in admission starts the day before a course (one admission's span)
    extra = planted.groupby("patient_id").head(1).head(4).copy()
    extra["claim_id"] = extra["claim_id"] + "x"
    extra["start_time"] -= pd.Timedelta(days=1)
    extra["end_time"] = extra["start_time"].dt.normalize() + pd.Timedelta(days=5, hours=10)
    extra["diagnosis_code"] = "I50.9"
    found = collusion_ring(graph_with(world, planted, extra))
    course = [f for f in found if matching(build_cases([f], min_score=0), attended(planted))]
    assert course and all(f.details["routine"] and f.score < 0.5 for f in course)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_two_course_cohorts_beside_a_ring_are_not_joined(world, seed):
    """A ring and two cohorts of a ward's rehabilitation courses at one host, under the
    same doctors: the ring's occasions fall on some course days, so its pool holds one
    cohort, and the bills split it off. The cohort is a course on its own; joined to the
    other cohort (alike: same host, doctors, diagnoses and bills), no occasion would
    bring half of the two, and they would look like a ring's rotating sub-pools."""
    rng = np.random.default_rng(seed)
    county = county_hospital(world)
    staff = {county: pick_staff(world, county, 3, rng)}
    people = rng.choice(world["free"], 100, replace=False)
    a_days = [15 + 90 * k for k in range(4)]
    b_days = [60 + 90 * k for k in range(4)]
    cohort_a = ring_rows(rng, "A", people[:20], [(d, county, 0.9) for d in a_days],
                         doctors=staff, stay=13, codes=REHAB_CODES, bill=6000.0, cv=0.08)
    cohort_b = ring_rows(rng, "B", people[20:38], [(d, county, 0.9) for d in b_days],
                         doctors=staff, stay=13, codes=REHAB_CODES, bill=6000.0, cv=0.08)
    ring = ring_rows(rng, "R", people[38:], [(d, county, 0.4) for d in a_days[:3] + [200, 240]],
                     doctors=staff, stay=6, codes=("I63.9",), bill=12000.0, cv=0.05)
    found = collusion_ring(graph_with(world, cohort_a, cohort_b, ring))
    cases = build_cases(found)
    assert len(matching(cases, attended(ring))) == 1
    for cohort in (cohort_a, cohort_b):
        assert not matching(cases, attended(cohort), 0.3)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_small_ring_inside_a_large_pool_keeps_its_own_occasions(world, seed):
    """Ten recruits beside a pool of a hundred at one host, under the same doctor, their
    admission days near the pool's: the community search may put them in the large
    pool, which holds only the occasions bringing a tenth of its members, or with a few
    of its members in a small community. Split off by their bills, the ten are a ring
    on all four of their own occasions, and the large pool's members split off with
    them go back to their pool (seed 1: 14 of them were a case of their own)."""
    rng = np.random.default_rng(seed)
    host = pick_hosts(world, 1, rng)[0]
    doctors = {host: pick_staff(world, host, 1, rng)}
    people = rng.choice(world["free"], 110, replace=False)
    large = ring_rows(rng, "P", people[:100], [(20 + 37 * k, host, 0.35) for k in range(9)],
                      doctors=doctors, spread=3, bill=9900.0, cv=0.04)
    small = ring_rows(rng, "S", people[100:], [(d, host, 0.9) for d in (57, 90, 130, 160)],
                      doctors=doctors, bill=3750.0, cv=0.06)
    cases = cases_of(graph_with(world, large, small))
    case = only_case(cases, large)
    mine = {m["id"] for m in case["members"] if m["kind"] == "patient"}
    assert len(mine & attended(large)) >= 0.9 * len(attended(large))
    case = only_case(cases, small)
    mine = {m["id"] for m in case["members"] if m["kind"] == "patient"}
    assert mine == attended(small) and case["metrics"]["occasions"] == 4


def _stays(patients, occasions, host_of, doctor=7, dx=3):
    """Stays as the ring detector's arrays: each patient on each occasion."""
    pat, occ = (np.array(v).ravel() for v in np.meshgrid(patients, occasions))
    n = len(pat)
    return {"row": np.arange(n), "patient": pat, "occasion": occ,
            "institution": np.array([host_of[o] for o in occ]), "start": 30 * occ,
            "end": 30 * occ + 7, "doctor": np.full(n, doctor), "diagnosis": np.full(n, dx)}


@pytest.mark.parametrize(("shared", "joined"), [(3, True), (2, True), (1, False)])
def test_a_split_part_joins_the_group_holding_half_its_occasions(shared, joined):
    """A ring working three sites, whose four recruits at one site another pool took in
    (split off it by their bills): the part is joined to the ring's group, which holds
    ``shared`` of its four occasions, though its commonest site is not that group's."""
    # the ring's occasions 0-3 at site 1 and 4-7 at site 2; 8-10 at site 3
    host_of = {o: 1 if o < 4 else 2 if o < 8 else 3 for o in range(11)}
    ring = _stays(range(20), range(8), host_of)
    part = _stays(range(20, 24), [4, 5, 6, 7][:shared] + [8, 9, 10][:4 - shared], host_of)
    part["row"] = part["row"] + len(ring["row"])
    n = len(ring["row"]) + len(part["row"])
    amount = 3000.0 * (1 + 0.03 * np.sin(np.arange(n)))
    out = rejoin([(ring, 0), (part, 1)], amount, 4, lambda g: False)
    assert (len(out) == 1) == joined
    if joined:
        assert sorted(set(out[0]["patient"].tolist())) == list(range(24))


@pytest.mark.parametrize("seed", [1, 3, 4])
def test_two_course_cohorts_of_one_ward_in_one_group_are_a_course(world, seed):
    """A ward runs two cohorts' courses side by side (every 60 and every 90 days), two
    days together: where they come out as one group (seeds 3 and 4), no occasion brings
    half of it, yet each brings back a cohort whole (a recruited pool brings a random
    part of itself each time)."""
    rng = np.random.default_rng(seed)
    county = county_hospital(world)
    staff = {county: pick_staff(world, county, 3, rng)}
    people = rng.choice(world["free"], 50, replace=False)
    cohorts = [ring_rows(rng, tag, who, [(d, county, 0.9) for d in days], doctors=staff,
                         stay=13, codes=REHAB_CODES, bill=6000.0, cv=0.08)
               for tag, who, days in (("A", people[:26], [10, 70, 130, 190, 250, 310]),
                                      ("B", people[26:], [10, 100, 190, 280]))]
    found = collusion_ring(graph_with(world, *cohorts))
    both = attended(cohorts[0]) | attended(cohorts[1])
    mine = [f for f in found if matching(build_cases([f], min_score=0), both, 0.3)]
    assert mine and all(f.details["routine"] and f.score < 0.5 for f in mine)


@pytest.mark.parametrize(("spread", "kept"), [(0.05, True), (0.9, False)])
def test_without_doctor_ids_a_group_with_no_bill_level_keeps_to_its_main_site(spread, kept):
    """Without doctor ids only a bill level ties a group's other sites to it. Bills at
    its main site as varied as that place's own admissions' are no level, and the
    group's stays at another site (billed anywhere in that range) are left out."""
    host_of = {o: 1 if o < 4 else 2 for o in range(6)}
    sub = _stays(range(10), range(6), host_of, doctor=-1)
    rng = np.random.default_rng(7)
    amount = 3000.0 * np.exp(rng.normal(0, spread, len(sub["row"])))
    usual = np.array([0.0, 0.6, 0.6])   # each place's own bills: a spread of 0.6 in log
    sites = set(sites_alike(sub, amount, usual)["institution"].tolist())
    assert sites == ({1, 2} if kept else {1})
