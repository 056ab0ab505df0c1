"""Tests of the planted-data generator (graphdetect.synth.generate)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from generator_support import CAPPED, SMALL, TABLES
from generator_support import gaps as _gaps
from generator_support import read_table as _read

from graphdetect.synth import LOOKALIKES, VARIANTS, generate
from graphdetect.synth._variants import markdown_table

CLAIM_COLUMNS = ["claim_id", "patient_id", "institution_id", "doctor_id", "visit_type",
                 "start_time", "end_time", "total_amount", "fund_amount", "diagnosis_code",
                 "terminal_id", "operator_id", "card_id"]
GROUP_KINDS = {v.kind for v in VARIANTS.values()}
LOOK_KINDS = set(LOOKALIKES)


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
    assert truth["generator"] == "graphdetect-datasets" and truth["version"] == 5
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
