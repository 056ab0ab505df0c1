"""shared_identity: what it finds, what it leaves alone, and sweeps over the planted shapes.

Groups are planted into a generated city (its households, care homes and ordinary care
are the background): people of several households are given one phone (or address) and
their cards are settled at one to three clinics every 1-3 weeks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from graphdetect.cases import build_cases
from graphdetect.detectors import REGISTRY
from graphdetect.graph import ClaimsGraph
from graphdetect.run import limitations

detect = REGISTRY["shared_identity"].func


@pytest.fixture(scope="module")
def city():
    """The committed sample city (5,000 people, a year), with any shared identity the
    generator planted in it undone (those people get phones and addresses of their own)."""
    import json

    from graphdetect import read_folder

    folder = Path(__file__).parents[1] / "datasets" / "sample"
    data = read_folder(folder)
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    planted = {p for g in truth["groups"] if g["kind"] == "shared_identity"
               for p in g["patients"]}
    mine = data.patients["patient_id"].isin(planted)
    for col in ("phone_hash", "address_hash"):
        data.patients.loc[mine, col] = "own-" + data.patients.loc[mine, "patient_id"]
    return data


def _age(patients: pd.DataFrame, first: pd.Timestamp) -> np.ndarray:
    return (first - patients["birth_date"]).dt.days.to_numpy() / 365.25


def plant(city, seed: int, *, key: str = "phone_hash", people: int = 30, villages: int = 2,
          places: int = 1, interval_weeks: int = 2, attendance: float = 0.5,
          bill: float = 80.0):
    """The city with one shared-identity group planted; returns (claims, patients, truth)."""
    rng = np.random.default_rng(seed)
    claims, pats, inst = city.claims, city.patients.copy(), city.institutions
    first = claims["start_time"].min().normalize()
    days = int((claims["start_time"].max() - first).days)
    by_village = pats.groupby("region_code", observed=True).size()
    chosen = rng.choice(np.sort(by_village[by_village >= people].index.astype(str)),
                        villages, replace=False)
    pool = pats[pats["region_code"].astype(str).isin(chosen) & (_age(pats, first) >= 5)]
    pool = pool.drop_duplicates(key)           # one person per household on the shared value
    who = np.sort(rng.choice(pool["patient_id"].to_numpy(), people, replace=False))
    pats.loc[pats["patient_id"].isin(who), key] = f"shared-{seed}"
    clinics = inst[inst["kind"].isin(["village_clinic", "clinic"])].sort_values("institution_id")
    mine = clinics[clinics["region_code"].astype(str).isin(chosen)]
    hosts = list(mine["institution_id"][:places])
    rest = clinics[~clinics["institution_id"].isin(hosts)]["institution_id"]
    hosts += list(rng.choice(rest.to_numpy(), places - len(hosts), replace=False))
    rows = []
    for k, d in enumerate(range(int(rng.integers(0, 7)), days, 7 * interval_weeks)):
        here = who[rng.random(people) < attendance]
        t = first + pd.Timedelta(days=d, hours=14) + pd.to_timedelta(
            np.cumsum(rng.integers(60, 400, len(here))), unit="s")
        for p, ts in zip(here, t, strict=True):
            rows.append((f"X{seed}-{len(rows):05d}", p, hosts[k % places], ts,
                         round(bill * float(rng.lognormal(0, 0.2)), 2)))
    extra = pd.DataFrame(rows, columns=["claim_id", "patient_id", "institution_id",
                                        "start_time", "total_amount"])
    extra["visit_type"], extra["diagnosis_code"] = "outpatient", "J06.9"
    return _append(claims, extra), pats, {"patients": set(who), "hosts": set(hosts)}


def _append(claims: pd.DataFrame, extra: pd.DataFrame) -> pd.DataFrame:
    out = pd.concat([claims.astype({c: object for c in claims.select_dtypes("category")}),
                     extra], ignore_index=True)
    for c in ("patient_id", "institution_id", "doctor_id", "visit_type", "diagnosis_code",
              "terminal_id", "operator_id"):
        out[c] = out[c].astype("category")
    out["card_id"] = out["card_id"].fillna(out["patient_id"].astype(object)).astype("category")
    out["has_time"] = out["has_time"].fillna(True).astype(bool)
    return out


def graph_of(city, claims, pats) -> ClaimsGraph:
    return ClaimsGraph(claims, patients=pats.set_index("patient_id", drop=False),
                       institutions=city.institutions.set_index("institution_id", drop=False))


def found(findings, truth, min_score: float = 0.5):
    """The finding that covers the planted group (most of its people, mostly them)."""
    for f in findings:
        ps = {m[1] for m in f.members if m[0] == "patient"}
        if f.score >= min_score and len(ps & truth["patients"]) >= 0.8 * len(truth["patients"]) \
                and len(ps & truth["patients"]) >= 0.8 * len(ps):
            return f
    return None


@pytest.mark.parametrize("key", ["phone_hash", "address_hash"])
def test_shared_phone_and_address_found(city, key):
    claims, pats, truth = plant(city, 1, key=key, people=25)
    fs = detect(graph_of(city, claims, pats))
    f = found(fs, truth)
    assert f is not None, [(x.score, x.metrics) for x in fs]
    assert f.details["key"] == key and f.details["reason"] == ""
    assert {m[1] for m in f.members if m[2] == "host"} == truth["hosts"]
    assert "冒名就医" in f.rules and f.metrics["households"] >= 10
    case = build_cases(fs)[0]
    assert case["case_id"].startswith("M-") and "25" in case["explanation_en"]


def test_the_city_alone_has_no_case(city):
    """Households, care homes and ordinary care: findings stay below case level."""
    fs = detect(graph_of(city, city.claims, city.patients))
    assert all(f.score < 0.5 for f in fs), [(f.score, f.metrics, f.details) for f in fs]
    homes = [f for f in fs if f.details["reason"] == "care_home"]
    assert homes, "the generated care homes should be seen and explained"
    for f in homes:
        assert f.metrics["elderly_share"] >= 0.8
        assert "care home" in build_cases([f], min_score=0)[0]["explanation_en"]


def test_large_household_left_alone(city):
    """8-12 people of three generations sharing phone and address, seen together at home."""
    rng = np.random.default_rng(3)
    pats = city.patients.copy()
    first = city.claims["start_time"].min().normalize()
    village = pats["region_code"].value_counts().index[0]
    clinic = city.institutions.query("kind == 'village_clinic'")["institution_id"].iat[0]
    for n in (8, 10, 12):
        who = pats[pats["region_code"] == village]["patient_id"].sample(n, random_state=n)
        at = pats["patient_id"].isin(who)
        ages = np.r_[[72, 70], [45, 43, 41, 40][: (n - 2) // 3 + 1],
                     rng.integers(2, 18, n)][:n]
        pats.loc[at, "phone_hash"], pats.loc[at, "address_hash"] = f"big{n}", f"home{n}"
        pats.loc[at, "birth_date"] = (first - pd.to_timedelta(ages * 365.25, unit="D")
                                      ).astype("datetime64[s]")
        rows = [(f"H{n}-{d}-{p}", p, clinic, first + pd.Timedelta(days=int(d), hours=9,
                                                                   minutes=5 * i), 60.0)
                for d in rng.choice(360, 12, replace=False)
                for i, p in enumerate(rng.choice(who.to_numpy(), rng.integers(1, 5)))]
        extra = pd.DataFrame(rows, columns=["claim_id", "patient_id", "institution_id",
                                            "start_time", "total_amount"]).assign(
            visit_type="outpatient", diagnosis_code="J06.9")
        claims = _append(city.claims, extra)
    fs = detect(graph_of(city, claims, pats))
    assert all(f.score < 0.5 for f in fs)
    family = set(pats.loc[pats["phone_hash"].str.startswith("big"), "patient_id"])
    assert len(family) >= 25
    assert not [f for f in fs if {m[1] for m in f.members} & family]


def test_village_registered_on_one_phone_is_not_a_case(city):
    """A cadre who registered a whole village with his phone: shared, but no joint billing."""
    pats = city.patients.copy()
    village = pats["region_code"].value_counts().index[1]
    pats.loc[pats["region_code"] == village, "phone_hash"] = "cadre"
    fs = detect(graph_of(city, city.claims, pats))
    assert all(f.score < 0.5 for f in fs), [(f.score, f.metrics) for f in fs]


def test_placeholder_phone_of_half_the_city_is_not_a_case(city):
    """A settlement system's dummy phone on half the insured: they settle when and where
    everyone does, so the places' own weekly rhythm is not taken for togetherness."""
    pats = city.patients.copy()
    half = pats["patient_id"].str[-1].isin(list("01234"))
    pats.loc[half, "phone_hash"] = "placeholder"
    fs = detect(graph_of(city, city.claims, pats))
    assert all(f.score < 0.5 for f in fs), [(f.score, f.metrics) for f in fs]


def test_without_phone_column_only_addresses_are_checked(city):
    claims, pats, truth = plant(city, 2, key="phone_hash", people=30)
    fs = detect(graph_of(city, claims, pats.drop(columns="phone_hash")))
    assert found(fs, truth) is None
    claims, pats, truth = plant(city, 2, key="address_hash", people=30)
    fs = detect(graph_of(city, claims, pats.drop(columns="phone_hash")))
    assert found(fs, truth) is not None


def test_without_address_column_a_shared_phone_is_still_found(city):
    claims, pats, truth = plant(city, 4, key="phone_hash", people=30, villages=1)
    fs = detect(graph_of(city, claims, pats.drop(columns="address_hash")))
    f = found(fs, truth)
    assert f is not None and f.metrics["households"] is None


def test_no_patients_table_does_nothing_and_says_so(city):
    claims, pats, _ = plant(city, 5)
    assert detect(ClaimsGraph(claims)) == []

    class Data:
        patients = None
        institutions = city.institutions
    lines = limitations(Data, ClaimsGraph(claims))
    assert any(line.startswith("shared_identity: no patients table") for line in lines)
    Data.patients = pats.drop(columns="birth_date")
    lines = limitations(Data, ClaimsGraph(claims, patients=Data.patients))
    assert "shared_identity: patients have no birth_date or birth_year, so care homes " \
           "(residents nearly all elderly) were not recognised" in lines


SWEEP = [dict(people=p, villages=v, places=s, interval_weeks=w, attendance=a)
         for p, v, s, w, a in [(10, 1, 1, 1, 0.5), (15, 1, 1, 3, 0.3), (20, 2, 2, 2, 0.8),
                                (30, 3, 1, 1, 0.3), (40, 4, 3, 2, 0.5), (60, 2, 2, 3, 0.4),
                                (12, 2, 3, 1, 0.6), (50, 1, 1, 2, 0.3)]]


@pytest.mark.slow
@pytest.mark.parametrize("key", ["phone_hash", "address_hash"])
def test_sweep_group_size_and_places(city, key):
    """Group size 10-60, 1-4 villages, 1-3 places, every 1-3 weeks, 30-80% attendance."""
    missed = []
    for seed, params in enumerate(SWEEP, start=10):
        claims, pats, truth = plant(city, seed, key=key, **params)
        f = found(detect(graph_of(city, claims, pats)), truth)
        if f is None or {m[1] for m in f.members if m[2] == "host"} != truth["hosts"]:
            missed.append(params)
    assert not missed, missed


@pytest.mark.slow
@pytest.mark.parametrize("people, villages, attendance, weeks", [
    (15, 1, 0.3, 3), (30, 4, 0.8, 1), (40, 2, 0.5, 2)])
def test_generated_groups_found_and_look_alikes_left_alone(tmp_path, people, villages,
                                                           attendance, weeks):
    """The generator's shared_phone and shared_address groups, with their parameters
    pinned across the drawn ranges, beside its households, large households and care
    homes: every group is one case, no look-alike is."""
    import json

    from graphdetect import read_folder
    from graphdetect.synth import generate

    fix = {f"{v}.{k}": x for v in ("shared_phone", "shared_address") for k, x in (
        ("people", people), ("villages", villages), ("attendance", attendance),
        ("interval_weeks", weeks))}
    generate(tmp_path, patients=6000, seed=people, days=240,
             plant={"shared_phone": 2, "shared_address": 2}, fix=fix)
    truth = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    cases = build_cases(detect(ClaimsGraph.from_data(read_folder(tmp_path))))
    holders = [{m["id"] for m in c["members"] if m["kind"] == "patient"} for c in cases]

    def covered(group):
        ps = set(group["patients"])
        return [h for h in holders if len(h & ps) >= 0.5 * len(ps) and
                len(h & ps) >= 0.5 * len(h)]
    groups = [g for g in truth["groups"] if g["kind"] == "shared_identity"]
    assert len(groups) == 4 and all(len(covered(g)) == 1 for g in groups)
    for g in groups:
        case = cases[holders.index(covered(g)[0])]
        named = {(m["kind"], m["id"]) for m in case["members"] if m["role"] != "holder"}
        assert {("institution", h) for h in g["institutions"]} <= named
        assert {("doctor", d) for d in g["doctors"]} & named
    look = [g for g in truth["lookalikes"] if g["kind"] in (
        "nursing_home", "large_household", "household")]
    assert look and not [g["id"] for g in look if covered(g)]
    assert len(cases) == len(groups)
