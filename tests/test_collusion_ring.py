"""collusion_ring as rings are run: partial-attendance pools, weekly trickles, several sites,
and the look-alikes it must leave alone (rehabilitation courses, households, hubs).

Each situation is planted by hand into a generated city's ordinary year of claims (no
planted groups of the generator's own are used, they are removed), then swept over the
range of its parameters.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from graphdetect.cases import build_cases
from graphdetect.detectors import collusion_ring
from graphdetect.explain import explain
from graphdetect.graph import ClaimsGraph

START = pd.Timestamp("2024-01-01")


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


def cases_of(graph, **params) -> list[dict]:
    return build_cases(collusion_ring(graph, **params))


def matching(cases: list[dict], members, share: float = 0.5) -> list[dict]:
    """Cases holding at least half the given patients, at least half of theirs among them."""
    members = set(members)
    out = []
    for c in cases:
        mine = {m["id"] for m in c["members"] if m["kind"] == "patient"}
        both = len(mine & members)
        if both >= share * len(members) and both >= 0.5 * len(mine):
            out.append(c)
    return out


def attended(frame: pd.DataFrame) -> set[str]:
    return set(frame["patient_id"])


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


def _generated(tmp_path, seed, **kw):
    from datasets import generate
    from graphdetect import read_folder

    out = tmp_path / f"gen{seed}"
    generate(out, patients=5000, seed=seed, **kw)
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    graph = ClaimsGraph.from_data(read_folder(out))
    return graph, truth


def _scored(graph, truth) -> tuple[int, int, int, int, list[str]]:
    cases = cases_of(graph)
    groups = [g for g in truth["groups"] if g["kind"] == "collusion_ring"]
    found = sum(bool(matching(cases, g["patients"])) for g in groups)
    right = sum(any(matching([c], g["patients"]) for g in groups) for c in cases)
    flagged = [x["kind"] for x in truth["lookalikes"]
               if x["patients"] and matching(cases, x["patients"])]
    return found, len(groups), right, len(cases), flagged


@pytest.mark.parametrize("variant, fix", [
    ("partial_pool", {"partial_pool.attendance": 0.25}),
    ("partial_pool", {"partial_pool.attendance": 0.35}),
    ("partial_pool", {"partial_pool.attendance": 0.45}),
    ("partial_pool", {"partial_pool.attendance": 0.7}),
    ("partial_pool", {"partial_pool.attendance": 1.0}),
    ("weekly_trickle", {"weekly_trickle.spacing_days": 6, "weekly_trickle.spacing_jitter": 0}),
    ("weekly_trickle", {"weekly_trickle.spacing_days": 7, "weekly_trickle.spacing_jitter": 0}),
    ("weekly_trickle", {"weekly_trickle.spacing_days": 8, "weekly_trickle.spacing_jitter": 1}),
    ("weekly_trickle", {"weekly_trickle.per_week": 3}),
    ("weekly_trickle", {"weekly_trickle.per_week": 5}),
    ("multi_site", {"multi_site.sites": 2}),
    ("multi_site", {"multi_site.sites": 3}),
    ("multi_site", {"multi_site.attendance": 0.5}),
    ("batch_admission", {"batch_admission.attendance": 0.55}),
    ("spread_week", {"spread_week.spread_days": 7}),
])
def test_generated_rings_are_found_and_lookalikes_left_alone(tmp_path, variant, fix):
    graph, truth = _generated(tmp_path, len(variant) + len(str(fix)), plant={variant: 3},
                              fix=fix)
    found, groups, right, cases, flagged = _scored(graph, truth)
    assert groups == 3 and found == 3, (found, groups)
    assert right == cases and not flagged, (right, cases, flagged)


@pytest.mark.parametrize("fix", [{"rehab_course.interval_days": 80},
                                 {"rehab_course.interval_days": 100},
                                 {"rehab_course.attendance": 0.8},
                                 {"rehab_course.course_days": 10}])
def test_generated_rehabilitation_courses_are_left_alone(tmp_path, fix):
    graph, truth = _generated(tmp_path, 3, plant={"batch_admission": 1}, fix=fix)
    courses = [x for x in truth["lookalikes"] if x["kind"] == "rehab_course"]
    assert courses
    cases = cases_of(graph)
    for course in courses:
        assert not matching(cases, course["patients"]), course["params"]


@pytest.mark.parametrize("omit", [("doctor_id",), ("diagnosis_code",)])
def test_generated_rings_without_doctor_or_diagnosis(tmp_path, omit):
    graph, truth = _generated(tmp_path, 8, plant={"partial_pool": 2, "multi_site": 2},
                              omit_columns=omit)
    found, groups, right, cases, _ = _scored(graph, truth)
    assert found >= groups - 1 and right >= cases - 1, (found, groups, right, cases)


@pytest.mark.parametrize("ratio", [2.0, 3.0, 5.0])
def test_two_rings_in_the_same_weeks_under_one_doctor_are_told_apart_by_bills(world, ratio):
    """Two pools one host admits under one doctor on the same occasions: the occasions
    cannot tell them apart, each ring's own bill level does."""
    rng = np.random.default_rng(int(ratio * 10))
    host = _hosts(world, 1, rng)[0]
    doctors = {host: _staff(world, host, 1, rng)}
    people = rng.choice(world["free"], 45, replace=False)
    schedule = [(20 + 45 * k, host, 0.8) for k in range(5)]
    low = ring_rows(rng, "L", people[:15], schedule, doctors=doctors, spread=4, bill=2000.0,
                    cv=0.08)
    high = ring_rows(rng, "H", people[15:], schedule, doctors=doctors, spread=4,
                     bill=2000.0 * ratio, cv=0.08)
    cases = cases_of(graph_with(world, low, high))
    for planted in (low, high):
        case = _only_case(cases, planted)
        assert case["metrics"]["amount_cv"] < 0.15
        mine = {m["id"] for m in case["members"] if m["kind"] == "patient"}
        assert len(mine & attended(planted)) >= 0.9 * len(attended(planted))


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


def test_short_period_city_rings_sharing_hosts(tmp_path):
    """A 200-day export of a large city: several rings work one host in the same weeks
    (spread_week 4/6 and batch_admission 8/9 before rings were told apart by bills), and
    a ward's rehabilitation cohorts show each patient back once (flagged at 0.52 before
    regularity was judged across the patients' single gaps)."""
    from datasets import generate
    from graphdetect import read_folder

    out = tmp_path / "short"
    generate(out, patients=30000, seed=9, days=200, start="2023-07-01",
             omit_columns=("terminal_id", "operator_id"))
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    found, groups, right, cases, flagged = _scored(ClaimsGraph.from_data(read_folder(out)),
                                                   truth)
    assert found == groups and right == cases, (found, groups, right, cases)
    assert not flagged, flagged


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


def test_city_without_doctor_ids(tmp_path):
    """A 540-day city exported without doctor ids: a weekly trickle's rotating sub-pools
    are one campaign by host, diagnoses and bills (it came out in five fragments), a
    ward's rehabilitation course stays low (it scored 0.82), and a pool whose occasions
    coincide with a hub's busy weeks is not a ring over several sites (0.89)."""
    from datasets import generate
    from graphdetect import read_folder

    out = tmp_path / "nodoc"
    generate(out, patients=8000, seed=4, days=540, omit_columns=("doctor_id",),
             fmt="parquet")
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    graph = ClaimsGraph.from_data(read_folder(out))
    found, groups, right, cases, flagged = _scored(graph, truth)
    assert found == groups and right == cases and not flagged, (found, groups, right, cases,
                                                                flagged)
    for case in cases_of(graph):
        assert "were under" not in case["explanation_en"]


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


def _crowded_city(hospitals: int) -> tuple[ClaimsGraph, list[set[str]]]:
    """Three rings at one host under one doctor, 20 days apart, billing within 10% of
    each other (too close to split by bills), one member of each also at the next ring's
    first occasion; ``hospitals`` other hospitals, each with its ordinary admissions and
    one ring of its own, make the city bigger without touching the host."""
    rng = np.random.default_rng(0)

    def frame(tag, pat, inst, doc, day, los, bill):
        n = len(pat)
        start = START + pd.to_timedelta(day, "D") + pd.to_timedelta(
            9 * 3600 + rng.integers(0, 6 * 3600, n), "s")
        return pd.DataFrame({"claim_id": [f"{tag}{i:05d}" for i in range(n)],
                             "patient_id": pat, "institution_id": inst, "doctor_id": doc,
                             "visit_type": "inpatient", "start_time": start,
                             "end_time": start.normalize() + pd.to_timedelta(los, "D"),
                             "total_amount": np.round(bill, 2)})

    def ring(tag, h, size, first, bill, gap):
        return pd.concat([frame(f"{tag}{k}_", [f"{tag}P{p}" for p in who], f"H{h}", f"D{h}_0",
                                first + gap * k + rng.integers(0, 3, len(who)), 7,
                                bill * (1 + rng.normal(0, 0.06, len(who))))
                          for k in range(5)
                          for who in [rng.choice(size, int(0.8 * size), replace=False)]])

    parts = []
    for h in range(hospitals + 1):   # ordinary admissions, under the other doctors
        n = rng.poisson(360)
        parts.append(frame(f"B{h}_", [f"O{h}_{p}" for p in rng.integers(0, 3000, n)],
                           f"H{h}", [f"D{h}_{d}" for d in rng.integers(1, 4, n)],
                           rng.integers(0, 360, n), rng.integers(3, 12, n),
                           4000 * np.exp(rng.normal(0, 0.5, n))))
    parts += [ring(f"S{h}_", h, int(rng.integers(15, 26)), int(rng.integers(0, 60)), 6000,
                   int(rng.integers(50, 66))) for h in range(1, hospitals + 1)]
    rng = np.random.default_rng(1)   # the host's rings are the same in every city
    rings = [ring(f"R{r}_", 0, 20, 5 + 20 * r, 5000 * 1.05 ** r, 60) for r in range(3)]
    links = [rings[r + 1].iloc[:1].assign(claim_id=f"X{r}",
                                          patient_id=rings[r]["patient_id"].iloc[0])
             for r in range(2)]
    claims = pd.concat(parts + rings + links, ignore_index=True)
    for col in ("patient_id", "institution_id", "doctor_id"):
        claims[col] = claims[col].astype("category")
    claims = claims.sort_values(["start_time", "claim_id"], ignore_index=True)
    return ClaimsGraph(claims), [attended(r) for r in rings]


@pytest.mark.parametrize("hospitals", [0, 300])
def test_rings_at_one_host_stay_apart_however_big_the_city(hospitals):
    """Whether a host's rings come out apart must not depend on how many other hospitals
    are in the data (with one modularity over the whole city, the three came out as one
    case once 300 other hospitals were added: the resolution limit)."""
    graph, rings = _crowded_city(hospitals)
    cases = cases_of(graph)
    for members in rings:
        hit = matching(cases, members)
        assert len(hit) == 1, [len(matching([c], members, 0.1)) for c in cases]
        mine = {m["id"] for m in hit[0]["members"] if m["kind"] == "patient"}
        assert len(mine & members) >= 0.9 * len(members)
