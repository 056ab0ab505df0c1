"""Tests of the planted-data generator (datasets.generate)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from datasets import generate

TABLES = ("claims", "patients", "institutions", "doctors")
CLAIM_COLUMNS = ["claim_id", "patient_id", "institution_id", "doctor_id", "visit_type",
                 "start_time", "end_time", "total_amount", "fund_amount", "diagnosis_code",
                 "terminal_id", "operator_id", "card_id"]
SMALL = {"patients": 2000, "seed": 11, "days": 120}
GROUP_KINDS = {"collusion_ring", "card_pooling", "concurrent_stay", "split_stay"}
LOOK_KINDS = {"dialysis", "nursing_home", "checkup_day", "household", "hub_hospital"}


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


def test_claims_reference_the_other_tables(tables):
    c, p, i, d = (tables[n] for n in TABLES)
    assert set(c.patient_id) <= set(p.patient_id)
    assert set(c.institution_id) <= set(i.institution_id)
    assert set(c.doctor_id) - {""} <= set(d.doctor_id)
    doc_inst = dict(zip(d.doctor_id, d.institution_id, strict=True))
    with_doc = c[c.doctor_id != ""]
    assert (with_doc.doctor_id.map(doc_inst) == with_doc.institution_id).all()
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
    assert truth["generator"] == "graphdetect-datasets" and truth["version"] == 1
    assert (truth["seed"], truth["patients"], truth["days"]) == (11, 2000, 120)
    assert truth["start"] == "2024-01-01"
    kinds = [g["kind"] for g in truth["groups"]]
    assert set(kinds) == GROUP_KINDS and all(kinds.count(k) >= 2 for k in GROUP_KINDS)
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


def test_planted_patterns_have_their_shape(tables, truth):
    c = tables["claims"].set_index("claim_id")
    for g in truth["groups"]:
        rows = c.loc[g["claim_ids"]]
        start = pd.to_datetime(rows.start_time)
        if g["kind"] == "collusion_ring":
            assert (rows.visit_type == "inpatient").all() and len(g["institutions"]) == 1
            per_day = rows.groupby(start.dt.date).size()
            if g["variant"] == "batch_admission":
                assert per_day.max() >= 0.6 * len(g["patients"]) - 1
        elif g["variant"] == "pharmacy_after_hours":
            assert (rows.visit_type == "pharmacy").all() and len(g["terminals"]) == 1
            assert ((start.dt.hour >= 21) | (start.dt.hour < 8)).all()
        elif g["variant"] == "phantom_billing":
            assert (rows.visit_type == "outpatient").all() and len(g["doctors"]) == 1
        elif g["kind"] in ("concurrent_stay", "split_stay"):
            stays = rows[rows.visit_type == "inpatient"].sort_values("start_time")
            assert len(stays) == 2 and len(g["patients"]) == 1
            first, second = stays.iloc[0], stays.iloc[1]
            if g["kind"] == "concurrent_stay":
                assert second.start_time < first.end_time
                assert first.institution_id != second.institution_id
            else:
                gap = pd.Timestamp(second.start_time) - pd.Timestamp(first.end_time)
                assert pd.Timedelta(0) < gap <= pd.Timedelta(days=3)
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


def test_lookalikes_have_their_shape(tables, truth):
    c = tables["claims"].set_index("claim_id")
    for g in truth["lookalikes"]:
        if g["kind"] == "hub_hospital":
            continue
        rows = c.loc[g["claim_ids"]]
        hours = pd.to_datetime(rows.start_time).dt.hour
        assert (rows.visit_type == "outpatient").all() and hours.between(7, 17).all()
        if g["kind"] == "dialysis":
            assert (rows.diagnosis_code == "N18.5").all()
            assert pd.to_datetime(rows.start_time).dt.day_of_week.max() <= 5
        if g["kind"] == "checkup_day":
            assert len(g["days"]) == 1 and len(g["institutions"]) == 1


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
])
def test_bad_arguments_are_rejected(tmp_path, kwargs, name):
    with pytest.raises(ValueError, match=rf"^The '{name}' parameter of generate must be"):
        generate(tmp_path / "x", **kwargs)
    assert not (tmp_path / "x").exists()


def test_out_must_be_a_path():
    with pytest.raises(ValueError, match="The 'out' parameter of generate must be"):
        generate(42)
