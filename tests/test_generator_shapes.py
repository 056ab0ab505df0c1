"""The planted groups and look-alikes have the shape their drawn parameters say."""

from __future__ import annotations

import pandas as pd
import pytest
from generator_support import CAPPED
from generator_support import gaps as _gaps

from graphdetect.synth import LOOKALIKES, VARIANTS


@pytest.fixture(scope="module")
def claims(tables) -> pd.DataFrame:
    """The claims by claim id, with parsed times and amounts."""
    c = tables["claims"].set_index("claim_id", drop=False)
    return c.assign(start=pd.to_datetime(c.start_time),
                    end=pd.to_datetime(c.end_time.where(c.end_time != "")),
                    amount=c.total_amount.astype(float))


def _groups(truth: dict, variant: str) -> list[dict]:
    found = [g for g in truth["groups"] if g["variant"] == variant]
    assert found, variant
    return found


def _clusters(days: pd.Series, gap: int = 7) -> list[pd.Index]:
    """Claims (index) grouped into occasions: start days with gaps of at most ``gap``."""
    order = days.sort_values()
    cut = (order.diff().dt.days > gap).cumsum()
    return [order.index[cut.to_numpy() == k] for k in range(int(cut.max()) + 1)]


def _age(tables, patients) -> pd.Series:
    p = tables["patients"].set_index("patient_id").loc[patients]
    return (pd.Timestamp("2024-01-01") - pd.to_datetime(p.birth_date)).dt.days / 365.25


def test_params_are_drawn_from_the_table(truth):
    for g in truth["groups"] + truth["lookalikes"]:
        table = (VARIANTS[g["variant"]] if g in truth["groups"] else LOOKALIKES[g["kind"]]).params
        assert set(g["params"]) == set(table), g["id"]
        for name, value in g["params"].items():
            p = table[name]
            lo, hi = p.fix_range
            assert isinstance(value, int) if p.kind == "int" else isinstance(value, float | int)
            assert (0 < value if name in CAPPED else lo <= value) and value <= hi, (g["id"], name)


def test_rings_have_their_shape(claims, truth):
    for g in [g for g in truth["groups"] if g["kind"] == "collusion_ring"]:
        rows, p, v = claims.loc[g["claim_ids"]], g["params"], g["variant"]
        assert (rows.visit_type == "inpatient").all()
        for _, stays in rows.sort_values("start").groupby("patient_id"):
            rest = stays.start.iloc[1:].to_numpy() - stays.end.iloc[:-1].to_numpy()
            assert (rest >= pd.Timedelta(days=5)).all(), g["id"]
        if v != "multi_site":
            assert len(g["institutions"]) == 1 and len(g["doctors"]) <= p.get("doctors", 2)
        if v == "weekly_trickle":
            days = pd.Series(rows.start.dt.normalize().unique()).sort_values()
            step = days.diff().dt.days.dropna()
            s, j = p["spacing_days"], p["spacing_jitter"]
            assert len(days) == p["weeks"] and step.between(s - j, s + j).all(), g["id"]
            assert rows.groupby(rows.start.dt.date).size().max() <= p["per_week"]
            assert len(g["patients"]) <= p["pool"]
            continue
        occ = _clusters(rows.start.dt.normalize())
        assert len(occ) == p["occasions"], g["id"]
        firsts = [rows.start[o].min().normalize() for o in occ]
        assert all((b - a).days >= p["gap_days"] for a, b in zip(firsts, firsts[1:], strict=False))
        spread = 1 if v == "batch_admission" else p["spread_days"]
        size = p.get("members") or p.get("pool") or p["recruits"]
        for o in occ:
            day = rows.start[o].dt.normalize()
            assert (day.max() - day.min()).days < spread, g["id"]
            if spread == 1:
                assert rows.start[o].dt.hour.between(8, 13).all()
            if v == "partial_pool":
                assert len(o) <= (p["attendance"] + 0.04) * size + 1
                assert len(o) >= (p["attendance"] - 0.04) * len(g["patients"]) - 1
        if v == "multi_site":
            sites = [rows.institution_id[o].unique() for o in occ]
            assert all(len(x) == 1 for x in sites) and len(g["institutions"]) == p["sites"]
            assert all(a[0] != b[0] for a, b in zip(sites, sites[1:], strict=False))
            at = rows.groupby("doctor_id").institution_id.nunique()
            assert at.max() == p["sites"], g["id"]


def test_pooling_has_its_shape(claims, truth):
    for g in _groups(truth, "pharmacy_after_hours"):
        rows = claims.loc[g["claim_ids"]]
        assert (rows.visit_type == "pharmacy").all() and len(g["terminals"]) == 1
        assert len(g["operators"]) == 1
        assert ((rows.start.dt.hour >= 21) | (rows.start.dt.hour < 8)).all()
    for g in _groups(truth, "pharmacy_daytime"):
        rows, p = claims.loc[g["claim_ids"]], g["params"]
        assert (rows.visit_type == "pharmacy").all() and len(g["institutions"]) == 1
        assert rows.start.dt.hour.between(8, 20).all()
        assert len(g["terminals"]) == p["terminals"]
        assert 2 <= len(g["operators"]) <= p["operators"] and len(g["days"]) == p["runs"]
        lo = max(2, p["gap_minutes"] * (1 - p["gap_spread"]))
        hi = min(30, p["gap_minutes"] * (1 + p["gap_spread"]))
        assert _gaps(rows).between(59 * lo - 2, 61 * hi + 2).all(), g["id"]
        assert rows.groupby(rows.start.dt.date).size().max() <= 1.15 * p["run_size"] + 1
        dev = (rows.amount / p["base"] - 1).abs()
        assert dev.max() <= p["amount_spread"] + 0.002
    for g in _groups(truth, "phantom_billing"):
        rows, p = claims.loc[g["claim_ids"]].sort_values("start"), g["params"]
        assert (rows.visit_type == "outpatient").all() and len(g["doctors"]) == 1
        assert (len(g["terminals"]), len(g["operators"])) == (p["terminals"], p["operators"])
        assert len(g["days"]) == p["days"]
        assert _gaps(rows).between(29, 90 * p["gap_minutes"] + 1).all()
        for _, day in rows.groupby(rows.start.dt.date):
            for col, k in (("terminal_id", p["terminals"]), ("operator_id", p["operators"])):
                if k > 1:
                    assert (day[col].to_numpy()[1:] != day[col].to_numpy()[:-1]).all()


def test_gatherings_have_their_shape(claims, tables, truth):
    for g in _groups(truth, "bussed_elderly"):
        rows, p = claims.loc[g["claim_ids"]], g["params"]
        assert (_age(tables, g["patients"]) >= 60).all() and len(g["patients"]) <= p["people"]
        assert (rows.visit_type == "outpatient").all() and len(g["institutions"]) == 1
        assert len(g["doctors"]) <= p["doctors"] and rows.diagnosis_code.nunique() <= p["codes"]
        days = pd.Series(sorted(rows.start.dt.normalize().unique()))
        assert len(days) == p["occasions"] and (days.diff().dt.days.dropna() ==
                                                p["interval_days"]).all()
        assert rows.start.dt.hour.between(7, 12).all()
        assert rows.amount.std(ddof=0) / rows.amount.mean() <= 2 * p["bill_cv"] + 0.002


@pytest.mark.parametrize("variant, field, other", [("shared_phone", "phone_hash", "address_hash"),
                                                   ("shared_address", "address_hash",
                                                    "phone_hash")])
def test_shared_identities_have_their_shape(claims, tables, truth, variant, field, other):
    pats = tables["patients"].set_index("patient_id")
    inst = tables["institutions"].set_index("institution_id")
    for g in _groups(truth, variant):
        rows, p = claims.loc[g["claim_ids"]], g["params"]
        mine = pats.loc[g["patients"]]
        assert mine[field].nunique() == 1 and mine[other].nunique() >= 3
        assert (pats[field] == mine[field].iloc[0]).sum() == len(g["patients"])
        assert len(g["institutions"]) == 1
        assert inst.kind[g["institutions"][0]] in ("clinic", "village_clinic")
        assert (rows.visit_type == "outpatient").all()
        days = rows.start.dt.normalize()
        assert ((days - days.min()).dt.days % (7 * p["interval_weeks"]) == 0).all()
        assert (_age(tables, g["patients"]) >= 5).all()


def test_stays_have_their_shape(claims, truth):
    for g in [g for g in truth["groups"] if g["kind"] in ("concurrent_stay", "split_stay")]:
        rows, p = claims.loc[g["claim_ids"]], g["params"]
        stays = rows[rows.visit_type == "inpatient"].sort_values("start_time")
        assert len(stays) == 2 and len(g["patients"]) == 1
        first, second = stays.iloc[0], stays.iloc[1]
        assert (first.end.normalize() - first.start.normalize()).days == p["first_days"]
        assert (second.end.normalize() - second.start.normalize()).days == p["second_days"]
        assert (len(rows) == 3) == (g["variant"] == "two_institutions_pharmacy")
        if g["kind"] == "concurrent_stay":
            assert second.start_time < first.end_time
            assert first.institution_id != second.institution_id
        else:
            gap = second.start - first.end
            assert pd.Timedelta(0) < gap <= pd.Timedelta(days=3)
            assert (second.start.normalize() - first.end.normalize()).days == p["gap_days"]
            assert (first.institution_id, first.diagnosis_code) == (
                second.institution_id, second.diagnosis_code)


def test_no_unplanted_concurrent_or_split_stays(tables, truth):
    c = tables["claims"]
    # planted, or a look-alike readmission for another illness
    planted = {x for g in truth["groups"] for x in g["claim_ids"]} | {
        x for g in truth["lookalikes"] if g["kind"] == "readmission" for x in g["claim_ids"]}
    s = c[c.visit_type == "inpatient"].sort_values(["patient_id", "start_time"])
    prev = s.groupby("patient_id")[["end_time", "institution_id"]].shift()
    close = prev.end_time.notna() & (
        pd.to_datetime(s.start_time) < pd.to_datetime(prev.end_time) + pd.Timedelta(days=3))
    assert set(s.claim_id[close]) <= planted


def test_after_hours_pharmacy_sales_are_all_planted(tables, truth):
    c = tables["claims"]
    hour = pd.to_datetime(c.start_time).dt.hour
    late = c.claim_id[(c.visit_type == "pharmacy") & ((hour >= 21) | (hour < 8))]
    pooled = {x for g in truth["groups"] if g["variant"] == "pharmacy_after_hours"
              for x in g["claim_ids"]}
    assert len(late) > 0 and set(late) == pooled


def test_lookalikes_have_their_shape(claims, tables, truth):
    pats = tables["patients"].set_index("patient_id")
    inst = tables["institutions"].set_index("institution_id")
    spec = tables["doctors"].set_index("doctor_id").specialty
    for g in truth["lookalikes"]:
        if g["kind"] == "hub_hospital":
            assert g["institutions"] and not g["claim_ids"]
            continue
        rows, p = claims.loc[g["claim_ids"]], g["params"]
        if g["kind"] == "rehab_course":
            assert (rows.visit_type == "inpatient").all()
            assert rows.diagnosis_code.str.startswith("I69").all()
            assert len(g["doctors"]) >= 2 and (spec[g["doctors"]] == "康复医学科").all()
            starts = [rows.start[o].min().normalize()
                      for o in _clusters(rows.start.dt.normalize())]
            assert all(abs((b - a).days - p["interval_days"]) <= 4
                       for a, b in zip(starts, starts[1:], strict=False))
            los = (rows.end.dt.normalize() - rows.start.dt.normalize()).dt.days
            assert los.between(p["course_days"] - 1, p["course_days"] + 1).all()
            continue
        if g["kind"] == "readmission":
            first, second = (r for _, r in rows.sort_values("start_time").iterrows())
            assert (rows.visit_type == "inpatient").all() and len(g["patients"]) == 1
            assert len(g["institutions"]) == 1 and inst.level[g["institutions"][0]] in "23"
            assert (_age(tables, g["patients"]) >= 40).all()
            assert first.diagnosis_code[0] != second.diagnosis_code[0]
            assert spec[first.doctor_id] != spec[second.doctor_id]
            assert (first.end.normalize() - first.start.normalize()).days == p["first_days"]
            assert (second.end.normalize() - second.start.normalize()).days == p["second_days"]
            assert (second.start.normalize() - first.end.normalize()).days == p["gap_days"]
            assert second.start > first.end
            continue
        assert (rows.visit_type == "outpatient").all() and rows.start.dt.hour.between(7, 17).all()
        if g["kind"] == "dialysis":
            assert (rows.diagnosis_code == "N18.5").all()
            assert rows.start.dt.day_of_week.max() <= 5
        if g["kind"] in ("checkup_day", "vaccination_day"):
            assert len(g["institutions"]) == 1 and len(g["days"]) <= p.get("days", 1)
        if g["kind"] == "vaccination_day":
            assert (rows.diagnosis_code == "Z23").all() and len(g["patients"]) <= p["people"]
            assert rows.amount.std(ddof=0) / rows.amount.mean() <= 0.05
            assert (pd.Timestamp(g["days"][-1]) - pd.Timestamp(g["days"][0])).days < p["days"]
        if g["kind"] == "chronic_followup":
            assert len(g["doctors"]) == 1 and set(rows.diagnosis_code) <= {"I10", "E11.9"}
            assert len({d[:7] for d in g["days"]}) == len(g["days"])
            assert pd.to_datetime(pd.Series(g["days"])).dt.day_of_week.nunique() == 1
        if g["kind"] == "mobile_team":
            host = inst.loc[g["institutions"][0]]
            assert len(g["institutions"]) == 1 and (host.kind, host.level) == ("hospital", "2")
            assert pats.region_code[g["patients"]].nunique() == 1
            assert 2 <= len(g["doctors"]) <= p["doctors"]
            sizes = rows.groupby(rows.start.dt.date).size()
            assert (sizes <= p["villagers"]).all()
        if g["kind"] == "treatment_course":
            host = inst.loc[g["institutions"][0]]
            physio = g["variant"] == "physiotherapy"
            assert len(g["institutions"]) == 1
            assert host.kind == ("health_center" if physio else "clinic")
            if physio:
                assert rows.start.dt.day_of_week.max() <= 4
            # each patient's visits: one a day, at one price a course (two at most)
            for _, mine in rows.groupby("patient_id"):
                assert mine.start.dt.normalize().is_unique and mine.amount.nunique() <= 2
        if g["kind"] == "large_household":
            mine = pats.loc[g["patients"]]
            assert len(mine) <= p["size"] and mine.phone_hash.nunique() == 1
            assert mine.address_hash.nunique() == 1
            everyone = pats.phone_hash == mine.phone_hash.iloc[0]
            assert everyone.sum() == p["size"] and len(g["institutions"]) == 1
            ages = _age(tables, pats.index[everyone])
            assert (ages >= 58).sum() >= 2 and (ages < 21).sum() >= 1
            assert inst.kind[g["institutions"][0]] == "village_clinic"
