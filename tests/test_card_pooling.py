"""card_pooling on the lockstep engine: what it finds, what it leaves alone, sweeps.

Hand-made worlds: a township with a pharmacy, a village clinic, a health centre and a
county hospital, each with its own ordinary traffic (hours, amounts, terminals, cashiers,
doctors), into which one situation at a time is planted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from graphdetect.explain import explain
from graphdetect.graph import ClaimsGraph

DAY0 = pd.Timestamp("2024-01-01")
#: place: (visit type, claims a day, opening hours, usual bill, terminals, operators, doctors)
PLACES = {"PH1": ("pharmacy", 15, (8, 21), 60.0, 2, 2, 0),
          "V1": ("outpatient", 5, (8, 17), 35.0, 2, 2, 1),
          "W1": ("outpatient", 25, (8, 17), 80.0, 3, 3, 4),
          "H1": ("outpatient", 80, (8, 17), 180.0, 6, 6, 10)}
TOWN = {"PH1": "339901001", "V1": "339901001", "W1": "339901001", "H1": "339901000"}


def world(seed: int = 0, days: int = 120, people: int = 1500):
    """Ordinary claims and the patients and institutions tables of a small township."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"P{i:05d}" for i in range(people)])
    town = np.where(rng.random(people) < 0.7, "339901001",
                    rng.choice(["339901002", "339901003", "339901004"], people))
    patients = pd.DataFrame({
        "patient_id": ids, "region_code": [f"{t}{v:03d}" for t, v in
                                           zip(town, rng.integers(1, 9, people), strict=True)],
        "birth_year": rng.integers(1935, 2015, people),
        "address_hash": [f"A{i // 3}" for i in range(people)],
        "phone_hash": [f"F{i // 3}" for i in range(people)]}).set_index("patient_id",
                                                                        drop=False)
    parts = []
    for place, (visit, per_day, (lo, hi), bill, n_t, n_o, n_d) in PLACES.items():
        n = int(per_day * days)
        t = DAY0 + pd.to_timedelta(rng.integers(0, days, n), "D") \
            + pd.to_timedelta(rng.integers(lo * 60, hi * 60, n), "min")
        parts.append(pd.DataFrame({
            "patient_id": rng.choice(ids, n), "institution_id": place, "visit_type": visit,
            "start_time": t, "total_amount": np.round(bill * rng.lognormal(-0.18, 0.6, n), 2),
            "terminal_id": [f"T{place}-{k}" for k in rng.integers(0, n_t, n)],
            "operator_id": [f"O{place}-{k}" for k in rng.integers(0, n_o, n)],
            "doctor_id": [f"D{place}-{k}" for k in rng.integers(0, n_d, n)] if n_d else None}))
    institutions = pd.DataFrame({"institution_id": list(PLACES),
                                 "region_code": [TOWN[p] + "000" for p in PLACES]}
                                ).set_index("institution_id", drop=False)
    return pd.concat(parts, ignore_index=True), patients, institutions


def runs(place, cards, days, *, hour=22.0, gap=3.0, terminals=1, operators=1, base=150.0,
         spread=0.0, attendance=1.0, visit="pharmacy", doctor=None, seed=1, tag="X"):
    """Planted runs: on each day, ``cards`` (ids) swiped ``gap`` minutes apart from
    ``hour``, alternating swipe by swipe over terminals and operators."""
    rng = np.random.default_rng(seed)
    rows = []
    for n, d in enumerate(days):
        mine = [c for c in cards if rng.random() < attendance]
        for k, c in enumerate(mine):
            at = DAY0 + pd.Timedelta(days=int(d), hours=hour) \
                + pd.Timedelta(minutes=float(gap * k * rng.uniform(0.8, 1.2)))
            rows.append({"patient_id": c, "institution_id": place, "visit_type": visit,
                         "start_time": at,
                         "total_amount": round(base * (1 + rng.uniform(-spread, spread)), 2),
                         "terminal_id": f"T{place}-{k % terminals}",
                         "operator_id": f"O{place}-{(k + n) % operators}",
                         "doctor_id": doctor, "tag": tag})
    return pd.DataFrame(rows)


def graph(base, *planted, drop=(), dates=False):
    claims, patients, institutions = base
    claims = pd.concat([claims, *planted], ignore_index=True)
    claims = claims.sort_values("start_time", kind="stable", ignore_index=True)
    claims["claim_id"] = [f"C{i:06d}" for i in range(len(claims))]
    if dates:
        claims["start_time"] = claims["start_time"].dt.normalize()
    claims = claims.drop(columns=[c for c in drop if c in claims])
    for col in ("patient_id", "institution_id", "terminal_id", "operator_id", "doctor_id"):
        if col in claims:
            claims[col] = claims[col].astype("category")
    return ClaimsGraph(claims, patients=patients, institutions=institutions)


def cases(g, detector, planted_ids, min_score=0.5):
    """Findings of ``detector`` matching the planted people as evaluate does."""
    from graphdetect.detectors import REGISTRY

    want = set(planted_ids)
    out = []
    for f in REGISTRY[detector].func(g):
        got = {m[1] for m in f.members if m[0] == "patient"}
        if f.score >= min_score and len(got & want) >= 0.5 * len(want) \
                and len(got & want) >= 0.5 * len(got):
            out.append(f)
    return out


@pytest.fixture(scope="module")
def base():
    return world()


def people(n, start=0):
    return [f"P{i:05d}" for i in range(start, start + n)]


def test_pharmacy_night_runs_are_found(base):
    cards = people(30, 1000)
    g = graph(base, runs("PH1", cards, range(3, 120, 12), hour=22, attendance=0.8))
    found = cases(g, "card_pooling", cards)
    assert len(found) == 1
    f = found[0]
    assert "分时段集中刷卡" in f.rules and f.metrics["off_hours_share"] >= 0.9
    assert f.metrics["amount_cv"] < 0.1 * f.metrics["usual_amount_cv"]
    assert cases(g, "outpatient_gathering", cards, 0.0) == []
    text = explain(f.to_dict(), "en")
    assert "hours when the place otherwise all but shuts" in text


@pytest.mark.parametrize("terminals,operators", [(1, 1), (2, 2), (3, 2), (2, 3)])
def test_phantom_billing_alternating_terminals_and_operators(base, terminals, operators):
    cards = people(25, 1100)
    g = graph(base, runs("V1", cards, range(5, 120, 15), hour=18.5, gap=4, base=48,
                         spread=0.02, terminals=terminals, operators=operators,
                         visit="outpatient", doctor="DV1-0", attendance=0.8))
    found = cases(g, "card_pooling", cards)
    assert len(found) == 1 and "虚假就诊" in found[0].rules
    assert len(found[0].details["terminals"]) >= terminals


@pytest.mark.parametrize("drop", [("terminal_id",), ("operator_id",),
                                  ("terminal_id", "operator_id"),
                                  ("terminal_id", "operator_id", "doctor_id")])
def test_found_without_terminal_or_operator_columns(base, drop):
    cards = people(30, 1000)
    night = runs("PH1", cards, range(3, 120, 12), hour=22, attendance=0.8)
    day = runs("PH1", people(28, 1200), range(6, 120, 11), hour=9, gap=18, terminals=3,
               operators=3, base=210, spread=0.15, seed=2)
    g = graph(base, night, day, drop=drop)
    assert len(cases(g, "card_pooling", cards)) == 1
    assert len(cases(g, "card_pooling", people(28, 1200))) == 1


@pytest.mark.parametrize("run_size,gap", [(20, 12), (30, 18), (30, 25), (36, 21)])
def test_daytime_pharmacy_runs_are_found(base, run_size, gap):
    """Opening hours, 2-3 terminals, changing cashiers, 12-25 min apart, ±15%."""
    cards = people(run_size, 1000)
    g = graph(base, runs("PH1", cards, range(4, 120, 10), hour=8.5, gap=gap, terminals=3,
                         operators=2, base=180, spread=0.15, attendance=0.85))
    found = cases(g, "card_pooling", cards)
    assert len(found) == 1
    assert found[0].metrics["off_hours_share"] <= 0.05


def test_dates_without_times_count_whole_days(base):
    cards, day_cards = people(25, 1100), people(30, 1200)
    g = graph(base, runs("V1", cards, range(5, 120, 15), hour=18.5, gap=4, base=48,
                         visit="outpatient", doctor="DV1-0"),
              runs("PH1", day_cards, range(6, 120, 11), hour=9, gap=18, terminals=3,
                   operators=3, base=210, spread=0.15, seed=2), dates=True)
    for group in (cards, day_cards):
        found = cases(g, "card_pooling", group)
        assert len(found) == 1
        assert found[0].details["timed"] is False
        assert found[0].metrics["off_hours_share"] is None
        assert "windows are whole days" in explain(found[0].to_dict(), "en")


@pytest.mark.parametrize("gap", [2, 8, 15, 30])
@pytest.mark.parametrize("terminals,operators", [(1, 1), (2, 3), (3, 2)])
@pytest.mark.parametrize("spread", [0.0, 0.07, 0.15])
def test_sweep_spacing_terminals_operators_spread(base, gap, terminals, operators, spread):
    cards = people(24, 1000)
    hour = 21.5 if gap <= 5 else 8.5
    g = graph(base, runs("PH1", cards, range(2, 120, 13), hour=hour, gap=gap,
                         terminals=terminals, operators=operators, base=160, spread=spread,
                         attendance=0.85, seed=gap))
    assert len(cases(g, "card_pooling", cards)) == 1


@pytest.mark.parametrize("size,n_runs", [(10, 3), (15, 5), (40, 4), (60, 9)])
def test_sweep_group_size_and_runs(base, size, n_runs):
    cards = people(size, 900)
    days = np.linspace(3, 115, n_runs).astype(int)
    g = graph(base, runs("PH1", cards, days, hour=1.5, gap=2, base=120, spread=0.02))
    assert len(cases(g, "card_pooling", cards)) == 1


def test_one_occasion_is_not_repetition(base):
    """A vaccination or check-up day: hundreds, once, near-identical low amounts."""
    many = people(300, 0)
    g = graph(base, runs("W1", many, [40], hour=8, gap=0.8, base=30, visit="outpatient",
                         doctor="DW1-0"))
    for name in ("card_pooling", "outpatient_gathering"):
        assert cases(g, name, many, 0.0) == []


def _lookalike_scores(g, ids):
    """Every finding holding half of ``ids``, as (pattern, score, explanation)."""
    from graphdetect.detectors import REGISTRY

    want, out = set(ids), []
    for name in ("card_pooling", "outpatient_gathering"):
        for f in REGISTRY[name].func(g):
            got = {m[1] for m in f.members if m[0] == "patient"}
            if len(got & want) >= 0.5 * min(len(want), len(got)):
                out.append((name, f.score, explain(f.to_dict(), "en")))
    return out


def test_dialysis_left_alone(base):
    ids = people(20, 1300)
    days = [d for d in range(120) if (d % 7) in (0, 2, 4)]
    g = graph(base, runs("H1", ids, days, hour=8, gap=4, base=430, spread=0.05,
                         visit="outpatient", doctor="DH1-0", terminals=2, operators=2))
    found = _lookalike_scores(g, ids)
    assert all(score < 0.5 for _, score, _ in found), found
    assert all("scheduled treatment" in text for _, _, text in found)


def test_nursing_home_rounds_left_alone(base):
    claims, patients, institutions = base
    ids = people(30, 1300)
    patients = patients.copy()
    patients.loc[ids, "address_hash"] = "HOME"
    rounds = runs("W1", ids, range(10, 120, 30), hour=9, gap=4, base=80, spread=0.6,
                  visit="outpatient", doctor="DW1-1")
    found = _lookalike_scores(graph((claims, patients, institutions), rounds), ids)
    assert all(score < 0.5 for _, score, _ in found), found


def test_chronic_followup_day_left_alone(base):
    """The same patients on one doctor's monthly day, spread over the day, ordinary bills."""
    rng = np.random.default_rng(5)
    ids = people(40, 1300)
    rows = [{"patient_id": p, "institution_id": "W1", "visit_type": "outpatient",
             "start_time": DAY0 + pd.Timedelta(days=int(d), minutes=int(rng.integers(480, 1020))),
             "total_amount": round(80 * rng.lognormal(-0.18, 0.6), 2),
             "terminal_id": "TW1-0", "operator_id": "OW1-0", "doctor_id": "DW1-2"}
            for d in range(7, 120, 28) for p in ids if rng.random() < 0.85]
    found = _lookalike_scores(graph(base, pd.DataFrame(rows)), ids)
    assert all(score < 0.5 for _, score, _ in found), found


def test_mobile_team_changing_villagers_left_alone(base):
    rng = np.random.default_rng(6)
    village = people(150, 1300)
    parts = [runs("H1", list(rng.choice(village, 50, replace=False)), [d], hour=9, gap=5,
                  base=180, spread=0.6, visit="outpatient", doctor=f"DH1-{d % 4}", seed=d)
             for d in range(5, 120, 30)]
    found = _lookalike_scores(graph(base, *parts), village)
    assert all(score < 0.5 for _, score, _ in found), found


def test_household_left_alone(base):
    ids = people(4, 1300)
    g = graph(base, runs("V1", ids, range(3, 120, 20), hour=9, gap=3, base=35,
                         visit="outpatient", doctor="DV1-0"))
    assert _lookalike_scores(g, ids) == []
