"""card_pooling and the place's hours: the cards a run swipes while the place is shut,
night runs linked by the place, runs past midnight, and treatment shifts in hours the
place is otherwise shut (a lunch break, an export in UTC).

Hand-made worlds (tests/lockstep_support.py), as in test_card_pooling.py.
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


def test_dialysis_over_the_outpatients_lunch_break_left_alone(base):
    """The hospital's outpatient desks shut from 12:00 to 14:00, and the dialysis unit's
    afternoon shift comes in at 12:30: hours the place is otherwise all but shut, but
    daytime, not its night, so still a treatment schedule."""
    claims, patients, institutions = base
    hour = claims["start_time"].dt.hour
    lunch = ((claims["institution_id"] == "H1") & (hour >= 12) & (hour < 14)).to_numpy()
    shut_at_noon = (claims[~lunch].reset_index(drop=True), patients, institutions)
    ids = people(20, 1300)
    days = [d for d in range(120) if (d % 7) in (1, 3, 5)]
    g = graph(shut_at_noon, runs("H1", ids, days, hour=12.5, gap=4, base=430, spread=0.05,
                                 visit="outpatient", doctor="DH1-0", terminals=2,
                                 operators=2))
    found = lookalike_scores(g, ids)
    assert found, "the shifts should form a group"
    assert all(score < 0.5 for _, score, _ in found), found
    assert all("scheduled treatment" in text for _, _, text in found)


def test_dialysis_in_a_utc_export_left_alone(base):
    """The same city exported in UTC: the 07:30 shift comes in at 23:30 and goes on past
    midnight, patients in a different order each time. A place's days begin at its
    quietest hour, so a patient's sessions still fall on three weekdays."""
    claims, patients, institutions = base
    rng = np.random.default_rng(8)
    ids = people(20, 1300)
    days = [d for d in range(120) if (d % 7) in (0, 2, 4)]
    shifts = pd.concat([runs("H1", list(rng.permutation(ids)), [d], hour=7.5, gap=4, base=430,
                             spread=0.05, visit="outpatient", doctor="DH1-0", terminals=2,
                             operators=2, seed=d) for d in days], ignore_index=True)
    utc = pd.Timedelta(hours=8)
    shifts["start_time"] -= utc
    g = graph((claims.assign(start_time=claims["start_time"] - utc), patients, institutions),
              shifts)
    found = lookalike_scores(g, ids)
    assert found, "the shifts should form a group"
    assert all(score < 0.5 for _, score, _ in found), found
    assert all("scheduled treatment" in text for _, _, text in found)


@pytest.mark.parametrize("regulars,once", [(9, 2), (12, 6), (20, 12)])
@pytest.mark.parametrize("hour", [22.0, 1.5])
def test_cards_a_night_run_swipes_once_are_listed_with_it(base, regulars, once, hour):
    """Each night run swipes the group's regular cards and a few others once: in the hours
    the pharmacy is shut nobody else is there, so those are the run's too."""
    core = people(regulars, 1000)
    nights = list(range(4, 120, 14))
    others = people(once * len(nights), 1300)
    planted = _with_others(core, others, nights, hour=hour, gap=3)
    g = graph(base, planted)
    found = cases(g, "card_pooling", core + others)
    assert len(found) == 1
    f = found[0]
    assert f.metrics["companion_cards"] == len(others)
    assert f.metrics["companion_claims"] == len(others)
    assert {m[1] for m in f.members if m[2] == "holder"} == set(core + others)
    # the evidence is every planted swipe, and nothing else
    claims = g.claims
    hour_of = claims["start_time"].dt.hour
    night = (claims["patient_id"].isin(core + others) & ((hour_of >= 21) | (hour_of < 8))
             ).to_numpy()
    assert sorted(f.claim_ids) == sorted(claims["claim_id"][night])
    assert f"also swiped {len(others)} other cards" in explain(f.to_dict(), "en")
    assert f"还刷了另外{len(others)}张卡" in explain(f.to_dict(), "zh")


def test_cards_a_daytime_run_swipes_once_are_left_out(base):
    """In opening hours the place's own customers come by during a run: a card it swipes
    once is not taken for the run's."""
    core = people(16, 1000)
    days = list(range(4, 120, 14))
    others = people(3 * len(days), 1300)
    planted = _with_others(core, others, days, hour=10, gap=2)
    g = graph(base, planted)
    found = cases(g, "card_pooling", core)
    assert len(found) == 1
    assert found[0].metrics["companion_cards"] == 0
    assert not set(others) & {m[1] for m in found[0].members}
    assert "other cards" not in explain(found[0].to_dict(), "en")


def test_cards_a_run_swipes_once_at_a_place_open_all_night_are_left_out(base):
    """A pharmacy open round the clock has customers at 22:00: a night run there swipes
    among them, and its cards swiped once are not taken for the run's."""
    core = people(12, 1000)
    nights = list(range(4, 120, 14))
    others = people(4 * len(nights), 1300)
    planted = _with_others(core, others, nights, hour=22, gap=3)
    # the place's own night trade: three customers an hour from 21:00 to 02:00, every day
    rng = np.random.default_rng(5)
    n = 3 * 5 * 120
    trade = pd.DataFrame({
        "patient_id": rng.choice(people(300, 100), n), "institution_id": "PH1",
        "visit_type": "pharmacy", "total_amount": np.round(rng.lognormal(4, 0.6, n), 2),
        "start_time": DAY0 + pd.to_timedelta(rng.integers(0, 120, n), "D")
        + pd.to_timedelta(rng.integers(21 * 60, 26 * 60, n), "min"),
        "terminal_id": "TPH1-0", "operator_id": "OPH1-0"})
    g = graph(base, planted, trade)
    found = cases(g, "card_pooling", core)
    assert len(found) == 1
    assert found[0].metrics["companion_cards"] == 0
    assert not set(others) & {m[1] for m in found[0].members}


@pytest.mark.parametrize("holders", [40, 60])
@pytest.mark.parametrize("hour", [22.0, 1.5])
def test_a_pharmacy_rotating_many_cards_at_night_is_one_case(base, holders, hour):
    """Ten cards a night drawn evenly from forty or sixty held: two nights share one or
    two cards, too few to link them by the cards alone, but the pharmacy is shut then,
    so its night runs are linked by any card two of them share."""
    cards = people(holders, 1000)
    rng = np.random.default_rng(holders)
    nights = list(range(4, 120, 12))
    planted = pd.concat([runs("PH1", list(rng.choice(cards, 10, replace=False)), [d],
                              hour=hour, gap=3, seed=k) for k, d in enumerate(nights)],
                        ignore_index=True)
    g = graph(base, planted)
    found = cases(g, "card_pooling", cards)
    assert len(found) == 1
    f = found[0]
    # every planted swipe is evidence, nothing else: the cards swiped again are the
    # group's, the rest swiped in its shut-hour runs
    assert sorted(f.claim_ids) == sorted(_planted_ids(g, planted))
    assert {m[1] for m in f.members if m[2] == "holder"} == set(planted["patient_id"])
    assert f.metrics["off_hours_share"] == 1.0
    assert cases(g, "outpatient_gathering", cards, 0.0) == []


def test_a_night_run_past_midnight_is_one_occasion(base):
    """Runs from 23:30 that go on for an hour: each night is one occasion of the case,
    its last swipe written past 24:00, and its swipes after midnight are evidence."""
    cards = people(20, 1000)
    nights = list(range(4, 120, 12))
    planted = runs("PH1", cards, nights, hour=23.5, gap=3)
    g = graph(base, planted)
    found = cases(g, "card_pooling", cards)
    assert len(found) == 1
    f = found[0].to_dict()
    assert f["metrics"]["occasions"] == len(nights)
    assert f["metrics"]["min_cards"] == len(cards)
    assert all(o["from"].startswith("23:") and o["to"] > "24:" for o in f["details"]["occasions"])
    assert sorted(f["claim_ids"]) == sorted(_planted_ids(g, planted))


def test_night_emergencies_at_a_hospital_are_left_alone(base):
    """A hospital's outpatient desk is all but shut at night, and on some nights a dozen
    emergencies come in at once, a few of them people seen on an earlier night: shut-hour
    windows sharing cards, but the cards seen again make a small part of their swipes."""
    rng = np.random.default_rng(3)
    again = people(10, 1000)
    nights = list(range(4, 120, 9))
    planted = []
    for k, d in enumerate(nights):
        mine = people(14, 1100 + 14 * k) + ([again[k % 10]] if k < 10 else []) \
            + ([again[(k + 3) % 10]] if k < 10 else [])
        planted.append(runs("H1", list(rng.permutation(mine)), [d], hour=23, gap=4,
                            base=260, spread=0.6, visit="outpatient", seed=k))
    g = graph(base, *planted)
    everyone = list(pd.concat(planted)["patient_id"].unique())
    assert lookalike_scores(g, everyone) == []
    assert lookalike_scores(g, again) == []


def _planted_ids(g, planted: pd.DataFrame) -> list:
    """The claim ids the graph gave the ``planted`` rows (same patient, place, time)."""
    key = ["patient_id", "institution_id", "start_time"]
    claims = g.claims[key + ["claim_id"]].astype({"patient_id": str, "institution_id": str})
    return list(claims.merge(planted[key], on=key)["claim_id"])


def _with_others(core: list, others: list, days: list, **kw) -> pd.DataFrame:
    """Runs at PH1 of the ``core`` cards on each of ``days``, each day with its own share
    of ``others`` spread among them (the helper's times drift along a run)."""
    per = len(others) // len(days)
    return pd.concat([runs("PH1", _among(core, others[k * per:(k + 1) * per]), [d],
                           base=150, seed=k, **kw) for k, d in enumerate(days)],
                     ignore_index=True)


def _among(core: list, others: list) -> list:
    """``others`` spread evenly through ``core``."""
    step = len(core) // (len(others) + 1)
    out = list(core)
    for k, x in enumerate(others):
        out.insert((k + 1) * step + k, x)
    return out
