"""collusion_ring as rings are run: partial-attendance pools, weekly trickles, several sites,
and the look-alikes it must leave alone (rehabilitation courses, households, hubs).

Each situation is planted by hand into a generated city's ordinary year of claims (no
planted groups of the generator's own are used, they are removed), then swept over the
range of its parameters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ring_support import (
    attended,
    cases_of,
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
from graphdetect.explain import explain


@pytest.fixture(scope="module")
def world() -> dict:
    return load_world()


@pytest.mark.parametrize("attendance", [0.25, 0.4, 1.0])
def test_partial_attendance_pool_is_one_case(world, attendance):
    rng = np.random.default_rng(int(attendance * 100))
    planted, hosts = plant(world, rng, pool_size=100, occasions=8, attendance=attendance,
                            gap=40, spread=3)
    case = only_case(cases_of(graph_with(world, planted)), planted)
    mine = {m["id"] for m in case["members"] if m["kind"] == "patient"}
    assert len(mine & attended(planted)) >= 0.9 * len(attended(planted))
    assert case["metrics"]["occasions"] == 8
    assert len(set(case["claim_ids"]) & set(planted["claim_id"])) >= 0.9 * len(planted)
    assert case["details"]["host"] == hosts[0]


@pytest.mark.parametrize("jitter", [0, 1])
def test_weekly_trickle_is_many_short_occasions(world, jitter):
    rng = np.random.default_rng(7 + jitter)
    host = pick_hosts(world, 1, rng)[0]
    pool = rng.choice(world["free"], 15, replace=False)
    days = 40 + np.cumsum([0] + [7 + int(rng.integers(-jitter, jitter + 1)) for _ in range(13)])
    planted = ring_rows(rng, "T", pool, [(int(d), host, 4 / 15) for d in days],
                        doctors={host: pick_staff(world, host, 1, rng)}, stay=4)
    case = only_case(cases_of(graph_with(world, planted)), planted)
    occ = case["details"]["occasions"]
    assert len(occ) >= 12
    for o in occ:
        span = (pd.Timestamp(o["last_day"]) - pd.Timestamp(o["first_day"])).days
        assert span <= 6 and 2 <= o["patients"] <= 8, o
    m = case["metrics"]
    assert m["per_occasion_min"] == min(o["patients"] for o in occ)
    assert m["per_occasion_max"] == max(o["patients"] for o in occ)
    assert m["longest_occasion_days"] <= 7
    text = case["explanation_en"]
    assert f"on {len(occ)} occasions" in text and f"at most {m['longest_occasion_days']} days" \
        in text


@pytest.mark.parametrize("sites", [2, 3])
def test_ring_over_several_sites_names_every_site(world, sites):
    rng = np.random.default_rng(20 + sites)
    planted, hosts = plant(world, rng, pool_size=20, occasions=3 * sites, attendance=0.7,
                            gap=35, spread=2, sites=sites)
    case = only_case(cases_of(graph_with(world, planted)), planted)
    named = {m["id"] for m in case["members"] if m["kind"] == "institution"}
    assert named == set(hosts) == set(case["details"]["institutions"])
    assert all(m["role"] == "host" for m in case["members"] if m["kind"] == "institution")
    evidence = set(case["claim_ids"])
    for h in hosts:
        mine = set(planted["claim_id"][planted["institution_id"] == h])
        assert len(mine & evidence) >= 0.9 * len(mine), h
    assert {o["institution"] for o in case["details"]["occasions"]} == set(hosts)


def test_rehabilitation_courses_are_scored_low_and_say_why(world):
    rng = np.random.default_rng(3)
    inst = world["institutions"]
    county = sorted(inst[(inst["kind"] == "hospital") & (inst["ownership"] == "public")]
                    ["institution_id"])[0]
    pool = rng.choice(world["free"], 25, replace=False)
    schedule = [(15 + 90 * k + int(rng.integers(-2, 3)), county, 0.9) for k in range(4)]
    planted = ring_rows(rng, "R", pool, schedule,
                        doctors={county: pick_staff(world, county, 3, rng)}, stay=13,
                        codes=("I69.3", "I69.4", "I69.8"), cv=0.1)
    found = collusion_ring(graph_with(world, planted))
    assert not matching(build_cases(found), attended(planted))
    course = [f for f in found if f.details["routine"]]
    assert course and all(f.score < 0.5 for f in course)
    case = build_cases(course, min_score=0)[0]
    assert "routine course programme" in case["explanation_en"]
    assert "常规疗程" in case["explanation"]


def test_rehabilitation_courses_with_a_few_other_stays_are_still_a_course(world):
    """Five of a ward's course patients admitted together once more, for a short stay
    between courses: the course's stays are still of one length but for those five (the
    spread by median absolute deviation); before, they took the lengths' CV over 10 %
    and the ward's programme was a ring case (10.19M claims, seventeenth session)."""
    rng = np.random.default_rng(3)
    inst = world["institutions"]
    county = sorted(inst[(inst["kind"] == "hospital") & (inst["ownership"] == "public")]
                    ["institution_id"])[0]
    pool = rng.choice(world["free"], 25, replace=False)
    staff = {county: pick_staff(world, county, 3, rng)}
    schedule = [(15 + 90 * k + int(rng.integers(-2, 3)), county, 0.9) for k in range(4)]
    course = ring_rows(rng, "R", pool, schedule, doctors=staff, stay=13, stay_jitter=0,
                       codes=("I69.3", "I69.4", "I69.8"), cv=0.1)
    other = ring_rows(rng, "S", pool[:5], [(150, county, 1.0)],
                      doctors={county: staff[county][:1]}, stay=4, stay_jitter=0,
                      codes=("I69.3",), cv=0.1)
    found = collusion_ring(graph_with(world, course, other))
    assert not matching(build_cases(found), attended(course))
    held = [f for f in found if f.details["routine"]]
    assert held and all(f.score < 0.5 for f in held)
    assert any(f.metrics["course_stay_cv"] > 0.1 for f in held)


@pytest.mark.parametrize("size", [2, 3])
def test_households_are_not_rings(world, size):
    rng = np.random.default_rng(size)
    planted, _ = plant(world, rng, pool_size=size, occasions=6, attendance=1.0, gap=30)
    assert not matching(cases_of(graph_with(world, planted)), attended(planted))


@pytest.mark.parametrize("attendance", [0.25, 0.35, 0.5, 0.7, 0.9])
@pytest.mark.parametrize("gap", [21, 35, 60])
def test_sweep_attendance_and_spacing(world, attendance, gap):
    rng = np.random.default_rng(int(attendance * 1000) + gap)
    pool = int(rng.integers(20, 90))
    planted, _ = plant(world, rng, pool_size=pool, occasions=int(min(10, 300 // gap)),
                        attendance=attendance, gap=gap, spread=int(rng.integers(1, 6)))
    case = only_case(cases_of(graph_with(world, planted)), planted)
    assert case["score"] >= 0.5


def test_without_doctor_and_diagnosis_columns(world):
    rng = np.random.default_rng(11)
    planted, _ = plant(world, rng, pool_size=80, occasions=8, attendance=0.3, gap=40,
                        spread=2)
    graph = graph_with(world, planted, drop_columns=("doctor_id", "diagnosis_code"))
    case = only_case(cases_of(graph), planted)
    assert case["details"]["doctors"] == []


def test_explanation_numbers_match_the_evidence(world):
    rng = np.random.default_rng(5)
    planted, _ = plant(world, rng, pool_size=60, occasions=6, attendance=0.4, gap=45,
                        spread=4)
    case = only_case(cases_of(graph_with(world, planted)), planted)
    occ = case["details"]["occasions"]
    assert sum(o["claims"] for o in occ) == len(case["claim_ids"])
    assert case["details"]["first_day"] == occ[0]["first_day"]
    for lang in ("zh", "en"):
        assert explain(case, lang) == case["explanation" if lang == "zh" else
                                           "explanation_en"]


# -- on the generator's own plantings, with the drawn parameters pinned across their range


def test_rehabilitation_courses_without_doctor_ids_are_scored_low_and_say_so(world):
    rng = np.random.default_rng(4)
    planted = rehab_rows(world, rng, "N", 22, [15 + 90 * k for k in range(5)])
    found = collusion_ring(graph_with(world, planted, drop_columns=("doctor_id",)))
    assert not matching(build_cases(found), attended(planted))
    course = [f for f in found if f.details["routine"] and matching(
        build_cases([f], min_score=0), attended(planted))]
    assert course and all(f.score < 0.5 for f in course)
    case = build_cases(course, min_score=0)[0]
    assert "were under" not in case["explanation_en"]
    assert "no doctor ids" in case["explanation_en"] and "无医师编码" in case["explanation"]
    assert "routine course programme" in case["explanation_en"]


@pytest.mark.parametrize("spacing", [6, 7, 8])
def test_rotating_trickle_without_doctor_ids_is_one_case(world, spacing):
    rng = np.random.default_rng(40 + spacing)
    host = pick_hosts(world, 1, rng)[0]
    people = rng.choice(world["free"], 20, replace=False)
    weeks = 16
    rows = [ring_rows(rng, f"W{k}", people[5 * (k % 4):5 * (k % 4) + 5],
                      [(30 + spacing * k, host, 0.8)], doctors={host: ["D"]}, stay=4,
                      bill=2600.0, cv=0.04) for k in range(weeks)]
    planted = pd.concat(rows, ignore_index=True)
    cases = cases_of(graph_with(world, planted, drop_columns=("doctor_id",)))
    case = only_case(cases, planted)
    assert case["metrics"]["occasions"] >= 0.75 * weeks
    mine = {m["id"] for m in case["members"] if m["kind"] == "patient"}
    assert len(mine & attended(planted)) >= 0.75 * len(attended(planted))
    assert not [c for c in cases if c is not case and matching([c], attended(planted), 0.1)]
