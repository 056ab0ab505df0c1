"""Hand-made worlds for the lockstep detectors' tests (card_pooling, outpatient_gathering).

A township with a pharmacy, a village clinic, a health centre, a county hospital, a
private clinic and a private hospital, each with its own ordinary traffic (hours,
amounts, terminals, cashiers, doctors), into which one situation at a time is planted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphdetect.explain import explain
from graphdetect.graph import ClaimsGraph

DAY0 = pd.Timestamp("2024-01-01")
#: place: (visit type, claims a day, opening hours, usual bill, terminals, operators, doctors)
PLACES = {"PH1": ("pharmacy", 15, (8, 21), 60.0, 2, 2, 0),
          "V1": ("outpatient", 5, (8, 17), 35.0, 2, 2, 1),
          "W1": ("outpatient", 25, (8, 17), 80.0, 3, 3, 4),
          "H1": ("outpatient", 80, (8, 17), 180.0, 6, 6, 10),
          "CL1": ("outpatient", 12, (8, 18), 60.0, 1, 1, 2),
          "PV1": ("outpatient", 40, (8, 17), 150.0, 2, 3, 6)}
TOWN = {"PH1": "339901001", "V1": "339901001", "W1": "339901001", "H1": "339901000",
        "CL1": "339901001", "PV1": "339901000"}


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
    ``hour``, alternating swipe by swipe over terminals and operators (and over the
    doctors when ``doctor`` is a list)."""
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
                         "doctor_id": doctor[k % len(doctor)] if isinstance(doctor, list)
                         else doctor, "tag": tag})
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


def people(n, start=0):
    return [f"P{i:05d}" for i in range(start, start + n)]


def elderly(base, n, start=0):
    """``n`` patient ids aged 60 or over in 2024 (born 1964 or earlier), from ``start``."""
    born = base[1]["birth_year"]
    return list(born.index[(born <= 1964).to_numpy()][start:start + n])


def lookalike_scores(g, ids):
    """Every finding holding half of ``ids``, as (pattern, score, explanation)."""
    from graphdetect.detectors import REGISTRY

    want, out = set(ids), []
    for name in ("card_pooling", "outpatient_gathering"):
        for f in REGISTRY[name].func(g):
            got = {m[1] for m in f.members if m[0] == "patient"}
            if len(got & want) >= 0.5 * min(len(want), len(got)):
                out.append((name, f.score, explain(f.to_dict(), "en")))
    return out
