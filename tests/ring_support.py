"""What the collusion_ring test modules share: an ordinary city year to plant rings
into, the planted claims, running the detector and matching cases."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from graphdetect.cases import build_cases
from graphdetect.detectors import collusion_ring
from graphdetect.graph import ClaimsGraph

START = pd.Timestamp("2024-01-01")


def cases_of(graph, **params) -> list[dict]:
    return build_cases(collusion_ring(graph, **params))


def matching(cases: list[dict], members, share: float = 0.5) -> list[dict]:
    """Cases holding at least half the given patients, at least half of theirs among them."""
    members = set(members)
    out = []
    for c in cases:
        mine = {m["id"] for m in c["members"] if m["kind"] == "patient"}
        both = len(mine & members)
        if both >= share * len(members) and both >= 0.5 * len(mine):
            out.append(c)
    return out


def attended(frame: pd.DataFrame) -> set[str]:
    return set(frame["patient_id"])


SAMPLE = Path(__file__).resolve().parent.parent / "datasets" / "sample"


def load_world(folder: Path = SAMPLE) -> dict:
    """An ordinary city year (the committed 5,000-person sample) without its planted groups."""
    claims = pd.read_csv(folder / "claims.csv", dtype=str)
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    planted = {c for g in truth["groups"] for c in g["claim_ids"]}
    taken = {p for g in truth["groups"] for p in g["patients"]}
    claims = claims[~claims["claim_id"].isin(planted)]
    patients = pd.read_csv(folder / "patients.csv", dtype=str)
    inst = pd.read_csv(folder / "institutions.csv", dtype=str)
    doctors = pd.read_csv(folder / "doctors.csv", dtype=str)
    free = np.array(sorted(set(patients["patient_id"]) - taken))
    return {"claims": claims, "patients": patients, "institutions": inst, "doctors": doctors,
            "free": free}


def pick_hosts(world, n: int, rng) -> list[str]:
    inst = world["institutions"]
    priv = inst[(inst["kind"] == "hospital") & (inst["ownership"] == "private")]
    return sorted(rng.choice(priv["institution_id"].to_numpy(), n, replace=False))


def pick_staff(world, host: str, k: int, rng) -> list[str]:
    docs = world["doctors"]
    mine = docs[docs["institution_id"] == host]["doctor_id"].to_numpy()
    return list(rng.choice(mine, min(k, len(mine)), replace=False))


def ring_rows(rng, tag: str, pool: np.ndarray, schedule: list[tuple[int, str, float]], *,
              doctors: dict[str, list[str]], spread: int = 1, stay: int = 7,
              bill: float = 5000.0, cv: float = 0.05, codes=("I63.9",),
              stay_jitter: int = 1) -> pd.DataFrame:
    """Inpatient claims of a pool: on each (day, institution, attendance) occasion a random
    part of the pool is admitted over ``spread`` days under that institution's doctors."""
    rows = []
    for k, (day, site, share) in enumerate(schedule):
        n = max(2, int(round(share * len(pool))))
        who = rng.choice(pool, n, replace=False)
        start = START + pd.to_timedelta(day + rng.integers(0, spread, n), "D") \
            + pd.to_timedelta(8 * 3600 + rng.integers(0, 4 * 3600, n), "s")
        los = np.maximum(2, stay + rng.integers(-stay_jitter, stay_jitter + 1, n))
        for i, p in enumerate(who):
            rows.append({"claim_id": f"X{tag}{k:03d}{i:03d}", "patient_id": p,
                         "institution_id": site, "doctor_id": rng.choice(doctors[site]),
                         "visit_type": "inpatient", "start_time": start[i],
                         "end_time": start[i].normalize() + pd.Timedelta(days=int(los[i]),
                                                                          hours=10),
                         "total_amount": round(bill * (1 + rng.normal(0, cv)), 2),
                         "diagnosis_code": rng.choice(list(codes))})
    return pd.DataFrame(rows)


def graph_with(world, *planted: pd.DataFrame, drop_columns=()) -> ClaimsGraph:
    base = world["claims"].copy()
    base["start_time"] = pd.to_datetime(base["start_time"])
    base["end_time"] = pd.to_datetime(base["end_time"])
    base["total_amount"] = base["total_amount"].astype(float)
    claims = pd.concat([base, *planted], ignore_index=True)
    claims = claims.drop(columns=[c for c in drop_columns if c in claims])
    for col in ("patient_id", "institution_id", "doctor_id", "diagnosis_code", "terminal_id",
                "operator_id", "card_id"):
        if col in claims:
            claims[col] = claims[col].astype(str).where(claims[col].notna()).astype("category")
    claims["visit_type"] = pd.Categorical(claims["visit_type"],
                                          categories=["outpatient", "inpatient", "pharmacy"])
    claims = claims.sort_values(["start_time", "claim_id"], ignore_index=True)
    patients = world["patients"].assign(birth_date=lambda t: pd.to_datetime(
        t["birth_date"]).dt.date).set_index("patient_id", drop=False)
    inst = world["institutions"].assign(level=lambda t: t["level"].astype(int)).set_index(
        "institution_id", drop=False)
    docs = world["doctors"].set_index("doctor_id", drop=False)
    return ClaimsGraph(claims, patients=patients, institutions=inst, doctors=docs)


def plant(world, rng, *, pool_size, occasions, attendance, gap, spread=1, sites=1,
           start=10, stay=7, codes=("I63.9",), tag="A"):
    hosts = pick_hosts(world, sites, rng)
    pool = rng.choice(world["free"], pool_size, replace=False)
    shared = pick_staff(world, hosts[0], 1, rng)
    doctors = {h: list(dict.fromkeys(shared + pick_staff(world, h, 1, rng))) for h in hosts}
    schedule = [(start + gap * k, hosts[k % sites], attendance) for k in range(occasions)]
    rows = ring_rows(rng, tag, pool, schedule, doctors=doctors, spread=spread, stay=stay,
                     codes=codes)
    return rows, hosts


def only_case(cases, planted):
    hit = matching(cases, attended(planted))
    assert len(hit) == 1, [(c["score"], c["explanation_en"][:120]) for c in cases]
    return hit[0]


REHAB_CODES = ("I69.3", "I69.4", "I69.8")


def county_hospital(world) -> str:
    """A public county hospital (the first): where a rehabilitation ward is."""
    inst = world["institutions"]
    return sorted(inst[(inst["kind"] == "hospital") & (inst["ownership"] == "public")]
                  ["institution_id"])[0]


def rehab_rows(world, rng, tag, pool_size, days, *, stay=13):
    """A ward's course programme: the same patients on each course day (±2 days)."""
    county = county_hospital(world)
    pool = rng.choice(world["free"], pool_size, replace=False)
    schedule = [(d + int(rng.integers(-2, 3)), county, 0.9) for d in days]
    return ring_rows(rng, tag, pool, schedule,
                     doctors={county: pick_staff(world, county, 3, rng)}, stay=stay,
                     codes=REHAB_CODES, cv=0.1)
