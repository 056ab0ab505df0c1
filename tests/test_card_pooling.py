"""card_pooling on the lockstep engine: what it finds, what it leaves alone, sweeps.

Hand-made worlds (tests/lockstep_support.py): a township with its pharmacy, clinics and
hospitals, each with its own ordinary traffic, into which one situation at a time is
planted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lockstep_support import DAY0, cases, graph, lookalike_scores, people, runs, world

from graphdetect.explain import explain


@pytest.fixture(scope="module")
def base():
    return world()


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


@pytest.mark.parametrize("run_size,gap", [(20, 28), (24, 22), (28, 25)])
@pytest.mark.parametrize("drop", [(), ("terminal_id", "operator_id")])
def test_slow_daytime_runs_at_a_busy_pharmacy_are_found(base, run_size, gap, drop):
    """A pharmacy twice as busy as the township's, whose runs add fewer swipes than its
    usual day: no window is twice as dense as its traffic, but the run days lie far
    beyond its own day-to-day spread (with terminals or not)."""
    rng = np.random.default_rng(run_size + gap)
    n = 15 * 120
    busy = pd.DataFrame({
        "patient_id": rng.choice(people(1000, 0), n), "institution_id": "PH1",
        "visit_type": "pharmacy", "start_time": DAY0 + pd.to_timedelta(
            rng.integers(0, 120, n), "D") + pd.to_timedelta(rng.integers(8 * 60, 21 * 60, n),
                                                             "min"),
        "total_amount": np.round(60 * rng.lognormal(-0.18, 0.6, n), 2),
        "terminal_id": [f"TPH1-{k}" for k in rng.integers(0, 2, n)],
        "operator_id": [f"OPH1-{k}" for k in rng.integers(0, 2, n)]})
    cards = people(run_size + 6, 1200)
    day = runs("PH1", cards, range(4, 120, 11), hour=8.5, gap=gap, terminals=3, operators=3,
               base=210, spread=0.1, attendance=0.85, seed=run_size)
    g = graph(base, busy, day, drop=drop)
    found = cases(g, "card_pooling", cards)
    assert len(found) == 1, [(f.score, f.metrics) for f in cases(g, "card_pooling", cards, 0)]
    assert found[0].metrics["occasions"] >= 4 and found[0].details["host"] == "PH1"
    # a few of the cards' own purchases those days leave the run's bills alike
    assert found[0].metrics["amount_spread"] < 0.3 * found[0].metrics["usual_amount_spread"]


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


def test_dialysis_left_alone(base):
    ids = people(20, 1300)
    days = [d for d in range(120) if (d % 7) in (0, 2, 4)]
    g = graph(base, runs("H1", ids, days, hour=8, gap=4, base=430, spread=0.05,
                         visit="outpatient", doctor="DH1-0", terminals=2, operators=2))
    found = lookalike_scores(g, ids)
    assert all(score < 0.5 for _, score, _ in found), found
    assert all("scheduled treatment" in text for _, _, text in found)


@pytest.mark.parametrize("weekdays", [(0, 2, 4), (1, 3, 5)])
@pytest.mark.parametrize("tight", [5, 8, 11])
@pytest.mark.parametrize("drop", [(), ("terminal_id", "operator_id")])
def test_dialysis_with_only_its_busiest_sessions_in_windows_left_alone(base, weekdays, tight,
                                                                       drop):
    """Three sessions a week all period, but only a few come in as one tight run (the
    rest arrive spread over the day): the windows catch fewer than 12 days, the cards'
    own calendar at the unit is still a treatment schedule."""
    rng = np.random.default_rng(tight)
    ids = people(16, 1300)
    days = [d for d in range(120) if (d % 7) in weekdays]
    dense = set(days[::max(len(days) // tight, 1)][:tight])
    together = runs("H1", ids, sorted(dense), hour=8.1, gap=2, base=430, spread=0.03,
                    visit="outpatient", doctor="DH1-0", terminals=2, operators=2)
    spread = pd.DataFrame([{"patient_id": c, "institution_id": "H1", "visit_type": "outpatient",
                            "start_time": DAY0 + pd.Timedelta(days=d, minutes=int(m)),
                            "total_amount": round(430 * rng.uniform(0.97, 1.03), 2),
                            "terminal_id": "TH1-0", "operator_id": "OH1-0",
                            "doctor_id": "DH1-0"}
                           for d in days if d not in dense for c, m in
                           zip(ids, rng.integers(8 * 60, 17 * 60, len(ids)), strict=True)])
    g = graph(base, together, spread, drop=drop)
    found = lookalike_scores(g, ids)
    assert found, "the tight sessions should still form a group"
    assert all(score < 0.5 for _, score, _ in found), found
    assert all("scheduled treatment" in text for _, _, text in found)


def test_nursing_home_rounds_left_alone(base):
    claims, patients, institutions = base
    ids = people(30, 1300)
    patients = patients.copy()
    patients.loc[ids, "address_hash"] = "HOME"
    rounds = runs("W1", ids, range(10, 120, 30), hour=9, gap=4, base=80, spread=0.6,
                  visit="outpatient", doctor="DW1-1")
    found = lookalike_scores(graph((claims, patients, institutions), rounds), ids)
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
    found = lookalike_scores(graph(base, pd.DataFrame(rows)), ids)
    assert all(score < 0.5 for _, score, _ in found), found


def test_mobile_team_changing_villagers_left_alone(base):
    rng = np.random.default_rng(6)
    village = people(150, 1300)
    parts = [runs("H1", list(rng.choice(village, 50, replace=False)), [d], hour=9, gap=5,
                  base=180, spread=0.6, visit="outpatient", doctor=f"DH1-{d % 4}", seed=d)
             for d in range(5, 120, 30)]
    found = lookalike_scores(graph(base, *parts), village)
    assert all(score < 0.5 for _, score, _ in found), found


def test_household_left_alone(base):
    ids = people(4, 1300)
    g = graph(base, runs("V1", ids, range(3, 120, 20), hour=9, gap=3, base=35,
                         visit="outpatient", doctor="DV1-0"))
    assert lookalike_scores(g, ids) == []
