"""outpatient_gathering on the lockstep engine: what it finds, what it leaves alone, sweeps.

Hand-made worlds (tests/lockstep_support.py): elderly villagers brought in together to a
clinic, a private hospital or a health centre, again and again, for near-identical bills
far above the place's usual ones; and the legitimate crowds that look like it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lockstep_support import DAY0, cases, elderly, graph, lookalike_scores, people, runs, world

from graphdetect.explain import explain

#: place: (its usual outpatient bill, a doctor, a second doctor)
HOSTS = {"CL1": (60.0, "DCL1-0", "DCL1-1"), "PV1": (150.0, "DPV1-2", "DPV1-4"),
         "W1": (80.0, "DW1-1", "DW1-3")}


@pytest.fixture(scope="module")
def base():
    return world()


def bussed(base, place, n=20, *, every=14, doctors=1, spread=0.02, bill=None, start=0,
           attendance=0.9, gap=3.0, hour=8.5, seed=3):
    """``n`` elderly brought to ``place`` every ``every`` days from day 3."""
    usual, *docs = HOSTS[place]
    ids = elderly(base, n, start)
    doctor = docs[0] if doctors == 1 else docs[:doctors]
    return ids, runs(place, ids, range(3, 120, every), hour=hour, gap=gap, visit="outpatient",
                     base=bill or 8 * usual, spread=spread, doctor=doctor,
                     attendance=attendance, seed=seed)


def both(g, ids, min_score=0.5):
    """(gathering cases, pooling cases) matching ``ids`` at ``min_score``."""
    return (cases(g, "outpatient_gathering", ids, min_score),
            cases(g, "card_pooling", ids, min_score))


@pytest.mark.parametrize("place", list(HOSTS))
@pytest.mark.parametrize("doctors", [1, 2])
def test_bussed_elderly_found_as_one_gathering(base, place, doctors):
    ids, visits = bussed(base, place, doctors=doctors)
    g = graph(base, visits)
    gathering, pooling = both(g, ids, 0.0)
    assert len(gathering) == 1 and pooling == []
    f = gathering[0]
    assert f.score >= 0.5
    assert f.metrics["bill_ratio"] >= 3 and f.metrics["elderly_share"] == 1.0
    assert f.metrics["doctor_share"] == 1.0
    assert "聚集性就医" in f.rules and "费用雷同" in f.rules
    assert len(f.details["doctors"]) == doctors
    text = explain(f.to_dict(), "en")
    assert f"The same {f.metrics['people']} people were seen together at" in text
    assert "aged 60 or over" in text and "the place's usual outpatient bill" in text


def test_found_without_doctor_ids(base):
    ids, visits = bussed(base, "PV1")
    g = graph(base, visits, drop=("doctor_id",))
    gathering, pooling = both(g, ids)
    assert len(gathering) == 1 and pooling == []
    assert gathering[0].metrics["doctor_share"] is None
    assert "no doctor ids: counted by place" in explain(gathering[0].to_dict(), "en")


def test_found_with_dates_only(base):
    ids, visits = bussed(base, "CL1")
    g = graph(base, visits, dates=True)
    gathering, pooling = both(g, ids)
    assert len(gathering) == 1 and pooling == []
    f = gathering[0]
    assert f.details["timed"] is False and f.metrics["median_gap_minutes"] is None
    assert "windows are whole days" in explain(f.to_dict(), "en")


@pytest.mark.parametrize("n", [12, 20, 30])
@pytest.mark.parametrize("weeks", [1, 2, 3])
@pytest.mark.parametrize("spread", [0.0, 0.025, 0.05])
def test_sweep_group_size_interval_and_bill_spread(base, n, weeks, spread):
    ids, visits = bussed(base, "PV1", n, every=7 * weeks, spread=spread, start=40,
                         seed=n + weeks)
    gathering, pooling = both(graph(base, visits), ids)
    assert len(gathering) == 1 and pooling == []


@pytest.mark.parametrize("bill", [400.0, 900.0, 1500.0])
def test_sweep_bill_level(base, bill):
    """From 400 yuan (under 3x a private hospital's usual 150) the rule is relative."""
    ids, visits = bussed(base, "CL1", bill=bill)
    gathering, pooling = both(graph(base, visits), ids)
    assert len(gathering) == 1 and pooling == []


def test_gathering_or_pooling_is_decided_once(base):
    """A phantom biller: high bills under the village doctor in the afternoon, the cards of
    ordinary adults, no evening runs. Nothing says the holders were absent, so it is one
    gathering; once some holders are shown to be in hospital elsewhere on a run day, the
    same group is one pooling case instead; never both."""
    ids = people(24, 1100)
    phantom = runs("V1", ids, range(5, 120, 15), hour=14.5, gap=4, base=400, spread=0.01,
                   terminals=2, operators=2, visit="outpatient", doctor="DV1-0",
                   attendance=0.85)
    gathering, pooling = both(graph(base, phantom), ids, 0.0)
    assert len(gathering) + len(pooling) == 1
    assert len(gathering) == 1
    # holders in hospital at the county hospital across two run days
    first_day = phantom.loc[phantom.start_time.dt.normalize() == DAY0 + pd.Timedelta(days=20)]
    away = first_day.patient_id.unique()[:6]
    stays = pd.DataFrame({"patient_id": away, "institution_id": "H1", "visit_type": "inpatient",
                          "start_time": DAY0 + pd.Timedelta(days=18, hours=10),
                          "end_time": DAY0 + pd.Timedelta(days=38, hours=10),
                          "total_amount": 6000.0})
    gathering, pooling = both(graph(base, phantom, stays), ids, 0.0)
    assert len(gathering) + len(pooling) == 1
    assert len(pooling) == 1 and "住院期间异地刷卡" in pooling[0].rules


def test_a_pharmacys_purchases_exported_as_outpatient_visits_are_pooling(base):
    """Some exports call every settlement under outpatient pooled funds an outpatient
    visit, a pharmacy's purchases too. Under no doctor, in data that has doctor ids, a
    crowd of them is nobody's patients: pooling, not a gathering (a gathering before)."""
    claims, patients, institutions = base
    claims = claims.assign(visit_type=claims["visit_type"].where(
        claims["institution_id"] != "PH1", "outpatient"))
    ids = people(24, 1100)
    purchases = runs("PH1", ids, range(5, 120, 12), hour=10.5, gap=4, base=400, spread=0.01,
                     terminals=2, operators=2, visit="outpatient", attendance=0.85)
    gathering, pooling = both(graph((claims, patients, institutions), purchases), ids, 0.0)
    assert gathering == [] and len(pooling) == 1


def test_low_bills_are_pooling_not_gathering(base):
    """The same crowd billed at the place's ordinary level is not a gathering."""
    ids, visits = bussed(base, "W1", bill=82.0, spread=0.01)
    gathering, _ = both(graph(base, visits), ids, 0.0)
    assert gathering == []


def test_chronic_followup_day_left_alone(base):
    """One doctor's monthly day: the same patients spread over the day, ordinary bills."""
    rng = np.random.default_rng(8)
    ids = people(45, 1300)
    rows = [{"patient_id": p, "institution_id": "PV1", "visit_type": "outpatient",
             "start_time": DAY0 + pd.Timedelta(days=int(d), minutes=int(rng.integers(480, 1020))),
             "total_amount": round(150 * rng.lognormal(-0.18, 0.6), 2),
             "terminal_id": "TPV1-0", "operator_id": "OPV1-0", "doctor_id": "DPV1-5"}
            for d in range(9, 120, 28) for p in ids if rng.random() < 0.85]
    found = lookalike_scores(graph(base, pd.DataFrame(rows)), ids)
    assert all(score < 0.5 for _, score, _ in found), found


def test_mobile_team_left_alone(base):
    """A county team visits a village monthly: a changing 50 of 150, several doctors."""
    rng = np.random.default_rng(9)
    village = people(150, 1300)
    parts = [runs("H1", list(rng.choice(village, 50, replace=False)), [d], hour=9, gap=4,
                  base=180, spread=0.6, visit="outpatient",
                  doctor=[f"DH1-{k}" for k in range(4)], seed=d) for d in range(5, 120, 30)]
    found = lookalike_scores(graph(base, *parts), village)
    assert all(score < 0.5 for _, score, _ in found), found


@pytest.mark.parametrize("price", [30.0, 120.0])
def test_checkup_or_vaccination_day_left_alone(base, price):
    """Hundreds once, fixed package price: one occasion is not repetition."""
    crowd = people(400, 0)
    g = graph(base, runs("W1", crowd, [50], hour=8, gap=0.6, base=price, visit="outpatient",
                         doctor=["DW1-0", "DW1-2"]))
    for name in ("card_pooling", "outpatient_gathering"):
        assert cases(g, name, crowd, 0.0) == []


def test_dialysis_left_alone(base):
    """The same patients three times a week on fixed weekdays all period, high bills."""
    ids = elderly(base, 20, 60)
    days = [d for d in range(120) if d % 7 in (1, 3, 5)]
    g = graph(base, runs("H1", ids, days, hour=8, gap=4, base=430, spread=0.03,
                         visit="outpatient", doctor=["DH1-1", "DH1-2"]))
    found = lookalike_scores(g, ids)
    assert all(score < 0.5 for _, score, _ in found), found
    assert all("scheduled treatment" in text for _, _, text in found)


def test_household_left_alone(base):
    ids = elderly(base, 5, 80)
    g = graph(base, runs("CL1", ids, range(4, 120, 14), hour=9, gap=3, base=480,
                         visit="outpatient", doctor="DCL1-0"))
    assert lookalike_scores(g, ids) == []


def test_nursing_home_rounds_left_alone(base):
    claims, patients, institutions = base
    ids = elderly((claims, patients, institutions), 30, 100)
    patients = patients.copy()
    patients.loc[ids, "address_hash"] = "HOME"
    rounds = runs("W1", ids, range(10, 120, 14), hour=9, gap=4, base=640, spread=0.02,
                  visit="outpatient", doctor="DW1-1")
    found = lookalike_scores(graph((claims, patients, institutions), rounds), ids)
    assert all(score < 0.5 for _, score, _ in found), found
    assert all("care home" in text for _, _, text in found)


def test_world_is_deterministic():
    a, b = world(seed=4), world(seed=4)
    assert a[0].equals(b[0])
