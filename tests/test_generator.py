"""Tests of the planted-data generator (datasets.generate)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from datasets import LOOKALIKES, VARIANTS, generate
from datasets._variants import markdown_table

TABLES = ("claims", "patients", "institutions", "doctors")
CLAIM_COLUMNS = ["claim_id", "patient_id", "institution_id", "doctor_id", "visit_type",
                 "start_time", "end_time", "total_amount", "fund_amount", "diagnosis_code",
                 "terminal_id", "operator_id", "card_id"]
SMALL = {"patients": 2000, "seed": 11, "days": 120}
GROUP_KINDS = {v.kind for v in VARIANTS.values()}
LOOK_KINDS = set(LOOKALIKES)


def _read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def csv_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("csv")
    generate(out, **SMALL)
    return out


@pytest.fixture(scope="module")
def parquet_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("parquet")
    generate(out, fmt="parquet", **SMALL)
    return out


@pytest.fixture(scope="module")
def tables(csv_dir) -> dict[str, pd.DataFrame]:
    return {name: _read(csv_dir, name) for name in TABLES}


@pytest.fixture(scope="module")
def truth(csv_dir) -> dict:
    return json.loads((csv_dir / "truth.json").read_text(encoding="utf-8"))


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_same_seed_gives_identical_files(tmp_path, fmt, csv_dir, parquet_dir):
    generate(tmp_path, fmt=fmt, **SMALL)
    assert _files(tmp_path) == _files(csv_dir if fmt == "csv" else parquet_dir)


def test_different_seed_gives_different_files(tmp_path, csv_dir):
    generate(tmp_path, **{**SMALL, "seed": 12})
    a, b = _files(tmp_path), _files(csv_dir)
    assert a.keys() == b.keys()
    assert all(a[name] != b[name] for name in a)


def test_summary_counts_match_files(tmp_path):
    summary = generate(tmp_path, patients=1000, days=90, seed=3)
    for name in TABLES:
        assert summary["tables"][name] == len(_read(tmp_path, name))
    t = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    assert sum(summary["groups"].values()) == len(t["groups"])
    assert sum(summary["lookalikes"].values()) == len(t["lookalikes"])
    assert summary["planted_claims"] == sum(len(g["claim_ids"]) for g in t["groups"])


def test_claims_follow_the_contract(tables):
    c = tables["claims"]
    assert list(c.columns) == CLAIM_COLUMNS
    for col in ("claim_id", "patient_id", "institution_id", "visit_type", "start_time",
                "total_amount"):
        assert (c[col] != "").all(), col
    assert set(c.visit_type) == {"outpatient", "inpatient", "pharmacy"}
    assert c.claim_id.is_unique
    assert c.claim_id.str.fullmatch(r"JS\d{12}").all()
    assert c.start_time.str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d").all()
    inpatient = c.visit_type == "inpatient"
    assert (c.end_time[~inpatient] == "").all()
    assert c.end_time[inpatient].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d").all()
    assert (c.end_time[inpatient] >= c.start_time[inpatient]).all()
    for col in ("total_amount", "fund_amount"):
        assert c[col].str.fullmatch(r"\d+\.\d\d").all(), col
    total, fund = c.total_amount.astype(float), c.fund_amount.astype(float)
    assert (total >= 0).all() and (fund >= 0).all() and (fund <= total).all()
    assert (c.doctor_id[c.visit_type == "pharmacy"] == "").all()
    assert (c.doctor_id[c.visit_type != "pharmacy"] != "").all()
    keys = list(zip(c.start_time, c.claim_id, strict=True))
    assert keys == sorted(keys)
    assert c.terminal_id.str.fullmatch(r"T\d{8}").all()
    assert c.operator_id.str.fullmatch(r"OP\d{6}").all()


def test_claims_reference_the_other_tables(tables, truth):
    c, p, i, d = (tables[n] for n in TABLES)
    assert set(c.patient_id) <= set(p.patient_id)
    assert set(c.institution_id) <= set(i.institution_id)
    assert set(c.doctor_id) - {""} <= set(d.doctor_id)
    doc_inst = dict(zip(d.doctor_id, d.institution_id, strict=True))
    # A multi-site ring's shared doctor bills at sites other than his home institution.
    shared = {x for g in truth["groups"] if g["variant"] == "multi_site" for x in g["claim_ids"]}
    with_doc = c[(c.doctor_id != "") & ~c.claim_id.isin(shared)]
    assert (with_doc.doctor_id.map(doc_inst) == with_doc.institution_id).all()
    assert shared
    cards = c.groupby("patient_id").card_id.nunique()
    assert (cards == 1).all() and c.card_id.str.fullmatch(r"A\d{8}").all()
    assert not set(c.card_id) & set(p.patient_id)
    assert c.drop_duplicates("patient_id").card_id.is_unique


def test_side_tables_follow_the_contract(tables):
    p, i, d = tables["patients"], tables["institutions"], tables["doctors"]
    assert list(p.columns) == ["patient_id", "birth_date", "sex", "region_code", "phone_hash",
                               "address_hash"]
    assert p.patient_id.is_unique and p.patient_id.str.fullmatch(r"\d{16}").all()
    assert (p.patient_id.str[:6] == p.region_code.str[:6]).all()
    assert set(p.sex) == {"M", "F"}
    assert p.region_code.str.fullmatch(r"\d{12}").all()
    assert p.phone_hash.str.fullmatch(r"[0-9a-f]{64}").all()
    assert p.address_hash.str.fullmatch(r"[0-9a-f]{64}").all()
    assert pd.to_datetime(p.birth_date, format="%Y-%m-%d").notna().all()
    assert list(i.columns) == ["institution_id", "name", "kind", "level", "ownership",
                               "region_code"]
    assert set(i.kind) == {"hospital", "health_center", "village_clinic", "clinic", "pharmacy"}
    assert set(i.level) <= {"0", "1", "2", "3"} and set(i.ownership) == {"public", "private"}
    assert i.institution_id.is_unique and i.region_code.str.fullmatch(r"\d{12}").all()
    assert list(d.columns) == ["doctor_id", "name", "institution_id", "specialty"]
    assert d.doctor_id.is_unique and set(d.institution_id) <= set(i.institution_id)
    assert not set(d.institution_id) & set(i.institution_id[i.kind == "pharmacy"])


def test_truth_header_and_shape(truth):
    assert truth["generator"] == "graphdetect-datasets" and truth["version"] == 2
    assert (truth["seed"], truth["patients"], truth["days"]) == (11, 2000, 120)
    assert truth["start"] == "2024-01-01"
    assert (truth["omit_columns"], truth["plant"], truth["fix"]) == ([], None, {})
    kinds = [g["kind"] for g in truth["groups"]]
    assert set(kinds) == GROUP_KINDS
    variants = [g["variant"] for g in truth["groups"]]
    assert {v: variants.count(v) for v in VARIANTS} == dict.fromkeys(VARIANTS, 2)
    assert all(VARIANTS[g["variant"]].kind == g["kind"] for g in truth["groups"])
    assert {g["kind"] for g in truth["lookalikes"]} == LOOK_KINDS
    for entry in truth["groups"] + truth["lookalikes"]:
        for field in ("patients", "doctors", "institutions", "cards", "terminals",
                      "operators", "claim_ids", "days"):
            assert entry[field] == sorted(entry[field]), (entry["id"], field)
    assert [g["id"] for g in truth["groups"]] == [f"G-{k:04d}" for k in
                                                  range(1, len(truth["groups"]) + 1)]


def test_truth_agrees_with_claims(tables, truth):
    c = tables["claims"].set_index("claim_id")
    seen = set()
    for g in truth["groups"] + truth["lookalikes"]:
        if g["kind"] == "hub_hospital":
            assert g["institutions"] and not g["claim_ids"]
            continue
        ids = g["claim_ids"]
        assert ids and set(ids) <= set(c.index), g["id"]
        rows = c.loc[ids]
        assert set(rows.patient_id) == set(g["patients"])
        assert set(rows.institution_id) == set(g["institutions"])
        assert set(rows.doctor_id) - {""} == set(g["doctors"])
        assert set(rows.card_id) == set(g["cards"])
        assert set(rows.terminal_id) == set(g["terminals"])
        assert set(rows.operator_id) == set(g["operators"])
        assert set(rows.start_time.str[:10]) == set(g["days"])
        if g in truth["groups"]:
            assert not seen & set(ids)
            seen |= set(ids)
    members = [p for g in truth["groups"] for p in g["patients"]]
    assert len(members) == len(set(members))


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


CAPPED = {"occasions", "nights", "weeks", "per_week", "days", "sites"}


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


def _gaps(rows: pd.DataFrame) -> pd.Series:
    """Seconds between consecutive claims of one day."""
    r = rows.sort_values("start")
    return r.groupby(r.start.dt.date).start.diff().dropna().dt.total_seconds()


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
    planted = {x for g in truth["groups"] for x in g["claim_ids"]}
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
        if g["kind"] == "large_household":
            mine = pats.loc[g["patients"]]
            assert len(mine) <= p["size"] and mine.phone_hash.nunique() == 1
            assert mine.address_hash.nunique() == 1
            everyone = pats.phone_hash == mine.phone_hash.iloc[0]
            assert everyone.sum() == p["size"] and len(g["institutions"]) == 1
            ages = _age(tables, pats.index[everyone])
            assert (ages >= 58).sum() >= 2 and (ages < 21).sum() >= 1
            assert inst.kind[g["institutions"][0]] == "village_clinic"


def test_parquet_matches_csv(csv_dir, parquet_dir):
    for name in TABLES:
        from_csv = _read(csv_dir, name)
        pq_df = pq.read_table(parquet_dir / f"{name}.parquet").to_pandas()
        assert list(pq_df.columns) == list(from_csv.columns)
        for col in pq_df.columns:
            v = pq_df[col]
            if col.endswith("_amount"):
                v = v.map(lambda x: f"{x:.2f}")
            elif col.endswith("_time"):
                v = v.dt.strftime("%Y-%m-%d %H:%M:%S").fillna("")
            elif col == "birth_date":
                v = v.map(lambda x: x.isoformat())
            else:
                v = v.astype(str).where(v.notna(), "")
            assert v.tolist() == from_csv[col].tolist(), (name, col)


def test_omit_columns_drops_them(tmp_path, tables, truth):
    omit = ("terminal_id", "operator_id")
    generate(tmp_path, omit_columns=omit, **SMALL)
    c = _read(tmp_path, "claims")
    assert list(c.columns) == [x for x in CLAIM_COLUMNS if x not in omit]
    assert c.equals(tables["claims"].drop(columns=list(omit)))
    t = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    assert t["omit_columns"] == sorted(omit)
    for a, b in zip(t["groups"] + t["lookalikes"], truth["groups"] + truth["lookalikes"],
                    strict=True):
        assert a["terminals"] == a["operators"] == []
        assert {**a, "terminals": b["terminals"], "operators": b["operators"]} == b


def test_plant_plants_only_those_variants(tmp_path):
    summary = generate(tmp_path, patients=2000, days=120, seed=3,
                       plant={"pharmacy_daytime": 4, "weekly_trickle": 1, "multi_site": 0})
    assert summary["variants"] == {"pharmacy_daytime": 4, "weekly_trickle": 1}
    assert set(summary["lookalikes"]) == LOOK_KINDS
    t = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    assert t["plant"] == {"multi_site": 0, "pharmacy_daytime": 4, "weekly_trickle": 1}
    assert summary["planted_claims"] == sum(len(g["claim_ids"]) for g in t["groups"])


FIX = {"pharmacy_daytime.gap_minutes": 25, "pharmacy_daytime.terminals": 3,
       "partial_pool.attendance": 0.9, "phantom_billing.terminals": 3,
       "weekly_trickle.spacing_days": 7, "weekly_trickle.spacing_jitter": 0,
       "bussed_elderly.interval_days": 14}


def test_fix_pins_a_parameter_and_leaves_the_others(tmp_path):
    plant = dict.fromkeys(["pharmacy_daytime", "partial_pool", "phantom_billing",
                           "weekly_trickle", "bussed_elderly"], 2)
    generate(tmp_path / "a", patients=2000, days=120, seed=5, plant=plant, fix=FIX)
    generate(tmp_path / "b", patients=2000, days=120, seed=5, plant=plant)
    a, b = (json.loads((tmp_path / x / "truth.json").read_text(encoding="utf-8"))
            for x in "ab")
    assert a["fix"] == FIX and len(a["groups"]) == len(b["groups"]) == 10
    for ga, gb in zip(a["groups"], b["groups"], strict=True):
        pinned = {k.split(".")[1]: v for k, v in FIX.items()
                  if k.startswith(ga["variant"] + ".")}
        assert {**ga["params"], **pinned} == ga["params"], ga["id"]
        rest = {k for k in ga["params"] if k not in pinned.keys() | CAPPED}
        assert {k: ga["params"][k] for k in rest} == {k: gb["params"][k] for k in rest}
        if ga["variant"] in ("pharmacy_daytime", "phantom_billing"):
            assert len(ga["terminals"]) == 3
    c = _read(tmp_path / "a", "claims").set_index("claim_id")
    for g in a["groups"]:
        days = pd.Series(sorted(pd.to_datetime(g["days"])))
        if g["variant"] == "weekly_trickle":
            assert (days.diff().dt.days.dropna() == 7).all()
        if g["variant"] == "bussed_elderly":
            assert (days.diff().dt.days.dropna() == 14).all()
        if g["variant"] == "pharmacy_daytime":
            rows = c.loc[g["claim_ids"]].assign(start=lambda x: pd.to_datetime(x.start_time))
            assert _gaps(rows).between(60 * 25 * (1 - g["params"]["gap_spread"]) - 2,
                                       60 * 30 + 2).all()


def test_readme_tables_are_current():
    readme = (Path(__file__).parents[1] / "datasets" / "README.md").read_text(encoding="utf-8")
    assert markdown_table() in readme


def test_fix_message_shape(tmp_path):
    msg = ("The 'fix' parameter of generate must be a dict whose "
           "'pharmacy_daytime.gap_minutes' is a number in the range [2, 30]; "
           "got {'pharmacy_daytime.gap_minutes': 45}.")
    with pytest.raises(ValueError, match=re.escape(msg)):
        generate(tmp_path, fix={"pharmacy_daytime.gap_minutes": 45})


def test_patients_message_shape(tmp_path):
    msg = "The 'patients' parameter of generate must be an int >= 100; got 5."
    with pytest.raises(ValueError, match=re.escape(msg)):
        generate(tmp_path, patients=5)


@pytest.mark.parametrize("kwargs, name", [
    ({"patients": 2000.0}, "patients"),
    ({"patients": True}, "patients"),
    ({"seed": -1}, "seed"),
    ({"seed": "1"}, "seed"),
    ({"days": 10}, "days"),
    ({"start": "2024-13-01"}, "start"),
    ({"start": 20240101}, "start"),
    ({"fmt": "xlsx"}, "fmt"),
    ({"progress": "yes"}, "progress"),
    ({"omit_columns": ("claim_id",)}, "omit_columns"),
    ({"omit_columns": "terminal_id"}, "omit_columns"),
    ({"omit_columns": ("terminal_id", "terminal_id")}, "omit_columns"),
    ({"plant": {"nope": 1}}, "plant"),
    ({"plant": {"pharmacy_daytime": -1}}, "plant"),
    ({"plant": {"pharmacy_daytime": 1.5}}, "plant"),
    ({"plant": [("pharmacy_daytime", 1)]}, "plant"),
    ({"fix": {"nope.gap_minutes": 3}}, "fix"),
    ({"fix": {"pharmacy_daytime.nope": 3}}, "fix"),
    ({"fix": {"pharmacy_daytime": 3}}, "fix"),
    ({"fix": {"pharmacy_daytime.terminals": 2.5}}, "fix"),
    ({"fix": {"pharmacy_daytime.terminals": 4}}, "fix"),
    ({"fix": {"partial_pool.attendance": 1.2}}, "fix"),
    ({"fix": {"partial_pool.attendance": 0.2}}, "fix"),
    ({"fix": {"pharmacy_daytime.gap_minutes": True}}, "fix"),
    ({"fix": {"rehab_course.interval_days": 30}}, "fix"),
    ({"fix": [("x", 1)]}, "fix"),
])
def test_bad_arguments_are_rejected(tmp_path, kwargs, name):
    with pytest.raises(ValueError, match=rf"^The '{name}' parameter of generate must be"):
        generate(tmp_path / "x", **kwargs)
    assert not (tmp_path / "x").exists()


def test_out_must_be_a_path():
    with pytest.raises(ValueError, match="The 'out' parameter of generate must be"):
        generate(42)
