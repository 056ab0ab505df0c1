"""collusion_ring on generated cities: every variant at pinned parameters, cities of other
habits (short periods, no doctor ids), and rings sharing a host in a city of any size."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from ring_support import START, attended, cases_of, matching

from graphdetect.graph import ClaimsGraph


def _generated(tmp_path, seed, **kw):
    from graphdetect import read_folder
    from graphdetect.synth import generate

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


def _city(tmp_path, seed: int, omit: tuple[str, ...]) -> dict[str, int]:
    """A city of 8,000 people (every variant) exported without ``omit``, scored: its rings
    and those found, its weekly trickles and those found, cases matching no ring, and
    look-alikes flagged."""
    from graphdetect import read_folder
    from graphdetect.synth import generate

    out = tmp_path / f"city{seed}"
    generate(out, patients=8000, seed=seed, omit_columns=omit)
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    cases = cases_of(ClaimsGraph.from_data(read_folder(out)))
    groups = [g for g in truth["groups"] if g["kind"] == "collusion_ring"]
    trickles = [g for g in groups if g["variant"] == "weekly_trickle"]
    return {"rings": len(groups),
            "found": sum(bool(matching(cases, g["patients"])) for g in groups),
            "trickles": len(trickles),
            "trickles_found": sum(bool(matching(cases, g["patients"])) for g in trickles),
            "wrong": sum(not any(matching([c], g["patients"]) for g in groups)
                         for c in cases),
            "flagged": sum(bool(x["patients"] and matching(cases, x["patients"]))
                           for x in truth["lookalikes"])}


def _cities(tmp_path, seeds, omit) -> dict[str, int]:
    """:func:`_city`'s counts added up over ``seeds``."""
    total: dict[str, int] = {}
    for seed in seeds:
        for k, v in _city(tmp_path, seed, omit).items():
            total[k] = total.get(k, 0) + v
    return total


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


def test_thin_trickles_split_between_two_doctors(tmp_path):
    """The sparsest weekly trickle: three admissions a week shared by two doctors, so that
    each doctor's own stream misses weeks and most recruits come once. Across seeds the
    rings are found with a floor, not all of them: this is the variant's weak spot (58 of
    60 over seeds 1-20 when measured, 57 before fragments grew by their bill level; one
    doctor, or four or five a week, 60 of 60), where a pool splits into one-doctor
    fragments. Cases that are made are still right, and look-alikes stay alone."""
    found = groups = right = cases = 0
    for seed in range(1, 9):
        graph, truth = _generated(tmp_path, seed, plant={"weekly_trickle": 3},
                                  fix={"weekly_trickle.per_week": 3, "weekly_trickle.doctors": 2})
        f, g, r, c, flagged = _scored(graph, truth)
        assert not flagged, (seed, flagged)
        found, groups, right, cases = found + f, groups + g, right + r, cases + c
    assert groups == 24 and found >= 0.85 * groups, (found, groups)
    assert right >= cases - 1, (right, cases)


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


def test_rehabilitation_courses_left_alone_without_diagnosis_codes(tmp_path):
    """Without diagnosis codes a ward's course programme (the same patients back on a
    regular schedule for fixed long stays) is judged on all but its diagnosis group: it
    was a ring case in every such city (scores 0.7-0.9), and rings, however fully
    attended, are still found."""
    from graphdetect.detectors.collusion_ring import PATTERN, collusion_ring

    for seed in (1, 2, 3):
        graph, truth = _generated(tmp_path, seed, plant={"partial_pool": 2},
                                  fix={"partial_pool.attendance": 1.0},
                                  omit_columns=("diagnosis_code",))
        found, groups, right, cases, flagged = _scored(graph, truth)
        assert found == groups == 2 and right == cases and not flagged, (
            seed, found, groups, right, cases, flagged)
        courses = [f for f in collusion_ring(graph) if f.details["routine"]]
        assert courses and all(f.score <= 0.45 for f in courses)
        for f in courses:
            case = {"metrics": f.metrics, "details": f.details}
            assert "diagnoses were not checked" in PATTERN.explain(case, "en", _as_is)
            assert "未核对诊断" in PATTERN.explain(case, "zh", _as_is)


def _as_is(kind: str, x: str) -> str:
    return x


@pytest.mark.parametrize("omit, least, most_wrong", [
    (("diagnosis_code",), 60, 1),
    (("doctor_id", "diagnosis_code"), 57, 4),
])
def test_cities_without_diagnosis_codes(tmp_path, omit, least, most_wrong):
    """Six cities (seeds 1-6, 8,000 people, every variant) exported without diagnosis
    codes, and without doctor ids too. Where no diagnosis can be matched, those admitted
    once join a pool only when billed at its level, and ward programmes are judged on the
    rest. Measured: without diagnoses 60 of 60 rings, no case matching no ring, no
    look-alike (before: 59, 7 and 6); without doctors either, 58 of 60, 3 and 0 (before:
    51, 14 and 1; 56 before rings sharing a host were kept apart)."""
    t = _cities(tmp_path, range(1, 7), omit)
    found, rings, wrong, flagged = t["found"], t["rings"], t["wrong"], t["flagged"]
    assert rings == 60 and found >= least, (found, rings)
    assert wrong <= most_wrong and not flagged, (wrong, flagged)


def test_short_period_city_rings_sharing_hosts(tmp_path):
    """A 200-day export of a large city: several rings work one host in the same weeks
    (spread_week 4/6 and batch_admission 8/9 before rings were told apart by bills), and
    a ward's rehabilitation cohorts show each patient back once (flagged at 0.52 before
    regularity was judged across the patients' single gaps). One seed of twelve measured
    (README: 314 of 323 rings over seeds 1-12, the misses all rings at a shared host)."""
    from graphdetect import read_folder
    from graphdetect.synth import generate

    out = tmp_path / "short"
    generate(out, patients=30000, seed=9, days=200, start="2023-07-01",
             omit_columns=("terminal_id", "operator_id"))
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    found, groups, right, cases, flagged = _scored(ClaimsGraph.from_data(read_folder(out)),
                                                   truth)
    assert found == groups and right == cases, (found, groups, right, cases)
    assert not flagged, flagged


def test_city_without_doctor_ids(tmp_path):
    """A 540-day city exported without doctor ids: a weekly trickle's rotating sub-pools
    are one campaign by host, diagnoses and bills (it came out in five fragments), a
    ward's rehabilitation course stays low (it scored 0.82), and a pool whose occasions
    coincide with a hub's busy weeks is not a ring over several sites (0.89)."""
    from graphdetect import read_folder
    from graphdetect.synth import generate

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


def test_cities_without_doctor_ids_keep_trickles_whole(tmp_path):
    """Twelve cities exported without doctor ids, every variant planted with its
    parameters drawn at random. With no doctor to tie them, a weekly trickle's sub-pools
    are rejoined after a bill split when their bills are one level within sampling noise,
    and grow into a stream by the admissions at their bill level and diagnoses; rings
    sharing a host keep apart (each patient settled with the community whose occasions
    theirs are, and only a split's smaller pieces rejoined). Measured over seeds 1-12:
    trickles found 22 of 24 (21 before), all rings 116 of 120 (112), cases matching no
    ring 5 (13, most of them trickle fragments); one ward's rehabilitation course is
    flagged on seed 9, before and after (a known weak spot)."""
    t = _cities(tmp_path, range(1, 13), ("doctor_id",))
    trickles, found, rings, all_found = t["trickles"], t["trickles_found"], t["rings"], t["found"]
    wrong, flagged = t["wrong"], t["flagged"]
    assert trickles == 24 and found >= 21, (found, trickles)
    assert all_found >= 0.95 * rings, (all_found, rings)
    assert wrong <= 6 and flagged <= 1, (wrong, flagged)


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
