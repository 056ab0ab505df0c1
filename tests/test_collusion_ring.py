"""collusion_ring as rings are run: partial-attendance pools, weekly trickles, several sites,
and the look-alikes it must leave alone (rehabilitation courses, households, hubs).

Each situation is planted by hand into a generated city's ordinary year of claims (no
planted groups of the generator's own are used, they are removed), then swept over the
range of its parameters.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ring_support import START, attended, cases_of, matching

from graphdetect.cases import build_cases
from graphdetect.detectors import collusion_ring
from graphdetect.explain import explain
from graphdetect.graph import ClaimsGraph

SAMPLE = Path(__file__).resolve().parent.parent / "datasets" / "sample"


def load_world(folder: Path = SAMPLE) -> dict:
    """An ordinary city year (the committed 5,000-person sample) without its planted groups."""
    claims = pd.read_csv(folder / "claims.csv", dtype=str)
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    planted = {c for g in truth["groups"] for c in g["claim_ids"]}
    taken = {p for g in truth["groups"] for p in g["patients"]}
    claims = claims[~claims["claim_id"].isin(planted)]
    patients = pd.read_csv(folder / "patients.csv", dtype=str)
    inst = pd.read_csv(folder / "institutions.csv", dtype=str)
    doctors = pd.read_csv(folder / "doctors.csv", dtype=str)
    free = np.array(sorted(set(patients["patient_id"]) - taken))
    return {"claims": claims, "patients": patients, "institutions": inst, "doctors": doctors,
            "free": free}


@pytest.fixture(scope="module")
def world() -> dict:
    return load_world()


def _hosts(world, n: int, rng) -> list[str]:
    inst = world["institutions"]
    priv = inst[(inst["kind"] == "hospital") & (inst["ownership"] == "private")]
    return sorted(rng.choice(priv["institution_id"].to_numpy(), n, replace=False))


def _staff(world, host: str, k: int, rng) -> list[str]:
    docs = world["doctors"]
    mine = docs[docs["institution_id"] == host]["doctor_id"].to_numpy()
    return list(rng.choice(mine, min(k, len(mine)), replace=False))


def ring_rows(rng, tag: str, pool: np.ndarray, schedule: list[tuple[int, str, float]], *,
              doctors: dict[str, list[str]], spread: int = 1, stay: int = 7,
              bill: float = 5000.0, cv: float = 0.05, codes=("I63.9",),
              stay_jitter: int = 1) -> pd.DataFrame:
    """Inpatient claims of a pool: on each (day, institution, attendance) occasion a random
    part of the pool is admitted over ``spread`` days under that institution's doctors."""
    rows = []
    for k, (day, site, share) in enumerate(schedule):
        n = max(2, int(round(share * len(pool))))
        who = rng.choice(pool, n, replace=False)
        start = START + pd.to_timedelta(day + rng.integers(0, spread, n), "D") \
            + pd.to_timedelta(8 * 3600 + rng.integers(0, 4 * 3600, n), "s")
        los = np.maximum(2, stay + rng.integers(-stay_jitter, stay_jitter + 1, n))
        for i, p in enumerate(who):
            rows.append({"claim_id": f"X{tag}{k:03d}{i:03d}", "patient_id": p,
                         "institution_id": site, "doctor_id": rng.choice(doctors[site]),
                         "visit_type": "inpatient", "start_time": start[i],
                         "end_time": start[i].normalize() + pd.Timedelta(days=int(los[i]),
                                                                          hours=10),
                         "total_amount": round(bill * (1 + rng.normal(0, cv)), 2),
                         "diagnosis_code": rng.choice(list(codes))})
    return pd.DataFrame(rows)


def graph_with(world, *planted: pd.DataFrame, drop_columns=()) -> ClaimsGraph:
    base = world["claims"].copy()
    base["start_time"] = pd.to_datetime(base["start_time"])
    base["end_time"] = pd.to_datetime(base["end_time"])
    base["total_amount"] = base["total_amount"].astype(float)
    claims = pd.concat([base, *planted], ignore_index=True)
    claims = claims.drop(columns=[c for c in drop_columns if c in claims])
    for col in ("patient_id", "institution_id", "doctor_id", "diagnosis_code", "terminal_id",
                "operator_id", "card_id"):
        if col in claims:
            claims[col] = claims[col].astype(str).where(claims[col].notna()).astype("category")
    claims["visit_type"] = pd.Categorical(claims["visit_type"],
                                          categories=["outpatient", "inpatient", "pharmacy"])
    claims = claims.sort_values(["start_time", "claim_id"], ignore_index=True)
    patients = world["patients"].assign(birth_date=lambda t: pd.to_datetime(
        t["birth_date"]).dt.date).set_index("patient_id", drop=False)
    inst = world["institutions"].assign(level=lambda t: t["level"].astype(int)).set_index(
        "institution_id", drop=False)
    docs = world["doctors"].set_index("doctor_id", drop=False)
    return ClaimsGraph(claims, patients=patients, institutions=inst, doctors=docs)


def _plant(world, rng, *, pool_size, occasions, attendance, gap, spread=1, sites=1,
           start=10, stay=7, codes=("I63.9",), tag="A"):
    hosts = _hosts(world, sites, rng)
    pool = rng.choice(world["free"], pool_size, replace=False)
    shared = _staff(world, hosts[0], 1, rng)
    doctors = {h: list(dict.fromkeys(shared + _staff(world, h, 1, rng))) for h in hosts}
    schedule = [(start + gap * k, hosts[k % sites], attendance) for k in range(occasions)]
    rows = ring_rows(rng, tag, pool, schedule, doctors=doctors, spread=spread, stay=stay,
                     codes=codes)
    return rows, hosts


def _only_case(cases, planted):
    hit = matching(cases, attended(planted))
    assert len(hit) == 1, [(c["score"], c["explanation_en"][:120]) for c in cases]
    return hit[0]


@pytest.mark.parametrize("attendance", [0.25, 0.4, 1.0])
def test_partial_attendance_pool_is_one_case(world, attendance):
    rng = np.random.default_rng(int(attendance * 100))
    planted, hosts = _plant(world, rng, pool_size=100, occasions=8, attendance=attendance,
                            gap=40, spread=3)
    case = _only_case(cases_of(graph_with(world, planted)), planted)
    mine = {m["id"] for m in case["members"] if m["kind"] == "patient"}
    assert len(mine & attended(planted)) >= 0.9 * len(attended(planted))
    assert case["metrics"]["occasions"] == 8
    assert len(set(case["claim_ids"]) & set(planted["claim_id"])) >= 0.9 * len(planted)
    assert case["details"]["host"] == hosts[0]


@pytest.mark.parametrize("jitter", [0, 1])
def test_weekly_trickle_is_many_short_occasions(world, jitter):
    rng = np.random.default_rng(7 + jitter)
    host = _hosts(world, 1, rng)[0]
    pool = rng.choice(world["free"], 15, replace=False)
    days = 40 + np.cumsum([0] + [7 + int(rng.integers(-jitter, jitter + 1)) for _ in range(13)])
    planted = ring_rows(rng, "T", pool, [(int(d), host, 4 / 15) for d in days],
                        doctors={host: _staff(world, host, 1, rng)}, stay=4)
    case = _only_case(cases_of(graph_with(world, planted)), planted)
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
    planted, hosts = _plant(world, rng, pool_size=20, occasions=3 * sites, attendance=0.7,
                            gap=35, spread=2, sites=sites)
    case = _only_case(cases_of(graph_with(world, planted)), planted)
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
                        doctors={county: _staff(world, county, 3, rng)}, stay=13,
                        codes=("I69.3", "I69.4", "I69.8"), cv=0.1)
    found = collusion_ring(graph_with(world, planted))
    assert not matching(build_cases(found), attended(planted))
    course = [f for f in found if f.details["routine"]]
    assert course and all(f.score < 0.5 for f in course)
    case = build_cases(course, min_score=0)[0]
    assert "routine course programme" in case["explanation_en"]
    assert "常规疗程" in case["explanation"]


@pytest.mark.parametrize("size", [2, 3])
def test_households_are_not_rings(world, size):
    rng = np.random.default_rng(size)
    planted, _ = _plant(world, rng, pool_size=size, occasions=6, attendance=1.0, gap=30)
    assert not matching(cases_of(graph_with(world, planted)), attended(planted))


@pytest.mark.parametrize("attendance", [0.25, 0.35, 0.5, 0.7, 0.9])
@pytest.mark.parametrize("gap", [21, 35, 60])
def test_sweep_attendance_and_spacing(world, attendance, gap):
    rng = np.random.default_rng(int(attendance * 1000) + gap)
    pool = int(rng.integers(20, 90))
    planted, _ = _plant(world, rng, pool_size=pool, occasions=int(min(10, 300 // gap)),
                        attendance=attendance, gap=gap, spread=int(rng.integers(1, 6)))
    case = _only_case(cases_of(graph_with(world, planted)), planted)
    assert case["score"] >= 0.5


def test_without_doctor_and_diagnosis_columns(world):
    rng = np.random.default_rng(11)
    planted, _ = _plant(world, rng, pool_size=80, occasions=8, attendance=0.3, gap=40,
                        spread=2)
    graph = graph_with(world, planted, drop_columns=("doctor_id", "diagnosis_code"))
    case = _only_case(cases_of(graph), planted)
    assert case["details"]["doctors"] == []


def test_explanation_numbers_match_the_evidence(world):
    rng = np.random.default_rng(5)
    planted, _ = _plant(world, rng, pool_size=60, occasions=6, attendance=0.4, gap=45,
                        spread=4)
    case = _only_case(cases_of(graph_with(world, planted)), planted)
    occ = case["details"]["occasions"]
    assert sum(o["claims"] for o in occ) == len(case["claim_ids"])
    assert case["details"]["first_day"] == occ[0]["first_day"]
    for lang in ("zh", "en"):
        assert explain(case, lang) == case["explanation" if lang == "zh" else
                                           "explanation_en"]


# -- on the generator's own plantings, with the drawn parameters pinned across their range


@pytest.mark.parametrize(("ratio", "cv"), [(1.4, 0.05), (1.6, 0.08), (2.0, 0.12), (3.0, 0.08),
                                         (5.0, 0.08)])
def test_two_rings_in_the_same_weeks_under_one_doctor_are_told_apart_by_bills(world, ratio,
                                                                              cv):
    """Two pools one host admits under one doctor on the same occasions: the occasions
    cannot tell them apart, each ring's own bill level does, down to levels about five
    spreads apart (1.4 times at a 5% spread)."""
    rng = np.random.default_rng(int(ratio * 10) + int(cv * 100))
    host = _hosts(world, 1, rng)[0]
    doctors = {host: _staff(world, host, 1, rng)}
    people = rng.choice(world["free"], 45, replace=False)
    schedule = [(20 + 45 * k, host, 0.8) for k in range(5)]
    low = ring_rows(rng, "L", people[:15], schedule, doctors=doctors, spread=4, bill=2000.0,
                    cv=cv)
    high = ring_rows(rng, "H", people[15:], schedule, doctors=doctors, spread=4,
                     bill=2000.0 * ratio, cv=cv)
    cases = cases_of(graph_with(world, low, high))
    for planted in (low, high):
        case = _only_case(cases, planted)
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
    host = _hosts(world, 1, rng)[0]
    doctors = {host: _staff(world, host, 1, rng)}
    people = rng.choice(world["free"], 60, replace=False)
    rings = [ring_rows(rng, f"T{r}", people[20 * r:20 * r + 20],
                       [(15 + offset * r + 30 * k, host, 0.8) for k in range(8)],
                       doctors=doctors, bill=bill, cv=0.06)
             for r, bill in enumerate((2000.0, 4500.0, 10000.0))]
    cases = cases_of(graph_with(world, *rings))
    for planted in rings:
        case = _only_case(cases, planted)
        mine = {m["id"] for m in case["members"] if m["kind"] == "patient"}
        assert len(mine & attended(planted)) >= 0.9 * len(mine)


@pytest.mark.parametrize("cv", [0.05, 0.15, 0.3])
def test_one_ring_with_one_bill_level_stays_whole(world, cv):
    rng = np.random.default_rng(int(cv * 100) + 1)
    planted, _ = _plant(world, rng, pool_size=80, occasions=6, attendance=0.4, gap=40,
                        spread=3)
    planted["total_amount"] = (5000.0 * np.exp(rng.normal(0, cv, len(planted)))).round(2)
    cases = cases_of(graph_with(world, planted))
    case = _only_case(cases, planted)
    assert len(set(case["claim_ids"]) & set(planted["claim_id"])) >= 0.9 * len(planted)
    assert not [c for c in cases if c is not case and matching([c], attended(planted), 0.05)]


@pytest.mark.parametrize(("ratio", "share"), [(1.4, 0.5), (1.6, 0.3), (2.5, 0.15)])
def test_one_ring_whose_stays_bill_two_codes_stays_whole(world, ratio, share):
    """Each stay of one ring bills one of two codes (``share`` of them the dearer): the
    two levels lie inside each patient's stays, not between two groups of patients."""
    rng = np.random.default_rng(int(ratio * 10) + int(share * 100))
    planted, _ = _plant(world, rng, pool_size=60, occasions=8, attendance=0.5, gap=35,
                        spread=3)
    dear = rng.random(len(planted)) < share
    planted["total_amount"] = (3000.0 * np.where(dear, ratio, 1.0)
                               * np.exp(rng.normal(0, 0.05, len(planted)))).round(2)
    cases = cases_of(graph_with(world, planted))
    case = _only_case(cases, planted)
    assert len(set(case["claim_ids"]) & set(planted["claim_id"])) >= 0.9 * len(planted)


def _rehab(world, rng, tag, pool_size, days, *, stay=13):
    inst = world["institutions"]
    county = sorted(inst[(inst["kind"] == "hospital") & (inst["ownership"] == "public")]
                    ["institution_id"])[0]
    pool = rng.choice(world["free"], pool_size, replace=False)
    schedule = [(d + int(rng.integers(-2, 3)), county, 0.9) for d in days]
    return ring_rows(rng, tag, pool, schedule, doctors={county: _staff(world, county, 3, rng)},
                     stay=stay, codes=("I69.3", "I69.4", "I69.8"), cv=0.1)


def test_rehabilitation_courses_without_doctor_ids_are_scored_low_and_say_so(world):
    rng = np.random.default_rng(4)
    planted = _rehab(world, rng, "N", 22, [15 + 90 * k for k in range(5)])
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
    host = _hosts(world, 1, rng)[0]
    people = rng.choice(world["free"], 20, replace=False)
    weeks = 16
    rows = [ring_rows(rng, f"W{k}", people[5 * (k % 4):5 * (k % 4) + 5],
                      [(30 + spacing * k, host, 0.8)], doctors={host: ["D"]}, stay=4,
                      bill=2600.0, cv=0.04) for k in range(weeks)]
    planted = pd.concat(rows, ignore_index=True)
    cases = cases_of(graph_with(world, planted, drop_columns=("doctor_id",)))
    case = _only_case(cases, planted)
    assert case["metrics"]["occasions"] >= 0.75 * weeks
    mine = {m["id"] for m in case["members"] if m["kind"] == "patient"}
    assert len(mine & attended(planted)) >= 0.75 * len(attended(planted))
    assert not [c for c in cases if c is not case and matching([c], attended(planted), 0.1)]


def test_rehabilitation_course_with_another_illness_taken_in_is_still_a_course(world):
    """A few of a ward's course patients are also admitted once for something else, on
    a course day, under the same doctors and billed alike: the course is judged on its
    own diagnosis group's stays, and stays a routine."""
    rng = np.random.default_rng(12)
    planted = _rehab(world, rng, "C", 24, [15 + 90 * k for k in range(4)])
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
    inst = world["institutions"]
    county = sorted(inst[(inst["kind"] == "hospital") & (inst["ownership"] == "public")]
                    ["institution_id"])[0]
    staff = {county: _staff(world, county, 3, rng)}
    people = rng.choice(world["free"], 100, replace=False)
    codes = ("I69.3", "I69.4", "I69.8")
    a_days = [15 + 90 * k for k in range(4)]
    b_days = [60 + 90 * k for k in range(4)]
    cohort_a = ring_rows(rng, "A", people[:20], [(d, county, 0.9) for d in a_days],
                         doctors=staff, stay=13, codes=codes, bill=6000.0, cv=0.08)
    cohort_b = ring_rows(rng, "B", people[20:38], [(d, county, 0.9) for d in b_days],
                         doctors=staff, stay=13, codes=codes, bill=6000.0, cv=0.08)
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
    host = _hosts(world, 1, rng)[0]
    doctors = {host: _staff(world, host, 1, rng)}
    people = rng.choice(world["free"], 110, replace=False)
    large = ring_rows(rng, "P", people[:100], [(20 + 37 * k, host, 0.35) for k in range(9)],
                      doctors=doctors, spread=3, bill=9900.0, cv=0.04)
    small = ring_rows(rng, "S", people[100:], [(d, host, 0.9) for d in (57, 90, 130, 160)],
                      doctors=doctors, bill=3750.0, cv=0.06)
    cases = cases_of(graph_with(world, large, small))
    case = _only_case(cases, large)
    mine = {m["id"] for m in case["members"] if m["kind"] == "patient"}
    assert len(mine & attended(large)) >= 0.9 * len(attended(large))
    case = _only_case(cases, small)
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
    rejoin = importlib.import_module("graphdetect.detectors.collusion_ring")._rejoin
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
    inst = world["institutions"]
    county = sorted(inst[(inst["kind"] == "hospital") & (inst["ownership"] == "public")]
                    ["institution_id"])[0]
    staff = {county: _staff(world, county, 3, rng)}
    people = rng.choice(world["free"], 50, replace=False)
    codes = ("I69.3", "I69.4", "I69.8")
    cohorts = [ring_rows(rng, tag, who, [(d, county, 0.9) for d in days], doctors=staff,
                         stay=13, codes=codes, bill=6000.0, cv=0.08)
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
    sites_alike = importlib.import_module("graphdetect.detectors._ring_evidence").sites_alike
    host_of = {o: 1 if o < 4 else 2 for o in range(6)}
    sub = _stays(range(10), range(6), host_of, doctor=-1)
    rng = np.random.default_rng(7)
    amount = 3000.0 * np.exp(rng.normal(0, spread, len(sub["row"])))
    usual = np.array([0.0, 0.6, 0.6])   # each place's own bills: a spread of 0.6 in log
    sites = set(sites_alike(sub, amount, usual)["institution"].tolist())
    assert sites == ({1, 2} if kept else {1})
