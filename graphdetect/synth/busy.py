"""A generated city changed after it is made: its collusion rings moved into the wards of
a busy county hospital.

The generator plants rings at private hospitals and township health centres, where a
ring's morning doubles the day's admissions. A ring may as well be one department of
the county's largest public hospital, which admits dozens every day under a hundred
doctors: there the ring's admissions are a few more on a busy day, and only its own
doctors' admissions show the burst. :func:`busy_hospital` writes such a city: the
largest public hospital given ``per_day`` ordinary admissions a day (new patients, each
admitted once, their stays, bills and diagnoses drawn from the city's own ordinary
stays, under doctors each admitting from fifty to three hundred a year), and every
single-host ring moved there, its doctors becoming some of the wards' doctors. The
generator's look-alike of a hub hospital's busy days, if it is that hospital, leaves the
truth: the hub does host rings now.

>>> import tempfile
>>> from pathlib import Path
>>> from graphdetect.synth import generate
>>> with tempfile.TemporaryDirectory() as tmp:
...     _ = generate(Path(tmp) / "city", patients=2000, days=90, seed=1,
...                  plant={"batch_admission": 2})
...     busy = busy_hospital(Path(tmp) / "city", Path(tmp) / "busy", per_day=20)
>>> busy["host"], busy["rings"], busy["admissions"]
('H339902001', 2, 1800)
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["busy_hospital", "RING_VARIANTS"]

#: The ring variants hosted by one place, which :func:`busy_hospital` moves.
RING_VARIANTS = ("batch_admission", "spread_week", "partial_pool", "weekly_trickle")


def _read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)


def _host(institutions: pd.DataFrame, claims: pd.DataFrame) -> str:
    """The public hospital of the highest level, the busiest of those."""
    public = institutions[(institutions["kind"] == "hospital")
                          & (institutions["ownership"] == "public")].copy()
    public["level"] = public["level"].astype(int)
    stays = claims.loc[claims["visit_type"] == "inpatient", "institution_id"].value_counts()
    public["stays"] = public["institution_id"].map(stays).fillna(0)
    return str(public.sort_values(["level", "stays", "institution_id"],
                                  ascending=[False, False, True])["institution_id"].iloc[0])


def busy_hospital(folder, out, *, per_day: float = 30, seed: int = 0) -> dict:
    """Write ``folder``'s city (CSV) to ``out`` with its largest public hospital admitting
    ``per_day`` more patients a day and every ring of :data:`RING_VARIANTS` moved there.

    Returns the host, the rings moved and the admissions added; the truth records them
    under ``busy_hospital`` and lists the moved rings' new host and doctors.
    """
    folder, out = Path(folder), Path(out)
    rng = np.random.default_rng(seed)
    claims, patients = _read(folder, "claims"), _read(folder, "patients")
    doctors, institutions = _read(folder, "doctors"), _read(folder, "institutions")
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    host = _host(institutions, claims)
    planted = {c for g in truth["groups"] + truth["lookalikes"] for c in g["claim_ids"]}
    start = pd.to_datetime(claims["start_time"], format="mixed")
    first = start.min().normalize()
    days = int((start.max().normalize() - first).days) + 1

    # the wards' doctors: each admits from 50 to 300 a year
    n = int(round(per_day * days))
    load = rng.uniform(50, 300, max(10, int(np.ceil(per_day * 365 / 150))))
    ward = [f"{host}W{k:03d}" for k in range(len(load))]
    doctors = pd.concat([doctors, pd.DataFrame({
        "doctor_id": ward, "name": [f"病区医师{k}" for k in range(len(ward))],
        "institution_id": host, "specialty": "内科"})], ignore_index=True)

    # new patients, each admitted once, like the city's people
    like = patients.iloc[rng.integers(0, len(patients), n)].reset_index(drop=True)
    ids = [f"{host}P{k:07d}" for k in range(n)]
    like["patient_id"] = ids
    for col in ("phone_hash", "address_hash"):
        like[col] = [hashlib.sha256(f"{col}{x}".encode()).hexdigest() for x in ids]
    patients = pd.concat([patients, like], ignore_index=True)

    # their stays: length, bill and diagnosis of one of the city's ordinary stays
    usual = claims[(claims["visit_type"] == "inpatient") & ~claims["claim_id"].isin(planted)
                   & (claims["end_time"] != "")]
    pick = usual.iloc[rng.integers(0, len(usual), n)].reset_index(drop=True)
    length = (pd.to_datetime(pick["end_time"], format="mixed").dt.normalize()
              - pd.to_datetime(pick["start_time"], format="mixed").dt.normalize())
    admitted = pd.Series(first + pd.to_timedelta(rng.integers(0, days, n), unit="D")
                         + pd.to_timedelta(rng.integers(int(7.5 * 3600), 18 * 3600, n),
                                           unit="s"))
    left = admitted.dt.normalize() + length + pd.to_timedelta(
        rng.integers(9 * 3600, 12 * 3600, n), unit="s").to_numpy()
    own = claims[(claims["institution_id"] == host) & (claims["visit_type"] == "inpatient")]
    counter = [own[c].to_numpy() if len(own) else np.array([""]) for c in
               ("terminal_id", "operator_id")]
    added = pd.DataFrame({
        "claim_id": [f"BH{k:010d}" for k in range(n)], "patient_id": ids,
        "institution_id": host, "doctor_id": rng.choice(ward, n, p=load / load.sum()),
        "visit_type": "inpatient", "start_time": admitted.dt.strftime("%Y-%m-%d %H:%M:%S"),
        "end_time": left.dt.strftime("%Y-%m-%d %H:%M:%S"),
        "total_amount": pick["total_amount"], "fund_amount": pick["fund_amount"],
        "diagnosis_code": pick["diagnosis_code"],
        "terminal_id": rng.choice(counter[0], n), "operator_id": rng.choice(counter[1], n),
        "card_id": ""})[claims.columns]

    # every single-host ring into the wards, each of its doctors one of theirs
    free = list(rng.permutation(ward))
    moved = 0
    for g in truth["groups"]:
        if g.get("variant") not in RING_VARIANTS:
            continue
        at = claims["claim_id"].isin(g["claim_ids"])
        claims.loc[at, "institution_id"] = host
        mapped = {}
        if "doctor_id" in claims:    # a city exported without doctor ids has none
            theirs = sorted(set(claims.loc[at, "doctor_id"]) - {""})
            mapped = {d: str(free.pop()) for d in theirs}
            claims.loc[at, "doctor_id"] = claims.loc[at, "doctor_id"].map(
                lambda d, m=mapped: m.get(d, d))
        g["institutions"], g["doctors"] = [host], sorted(mapped.values())
        moved += 1
    # the host is no longer a look-alike of a busy hospital: it does host rings now
    truth["lookalikes"] = [x for x in truth["lookalikes"] if not (
        x["kind"] == "hub_hospital" and host in x["institutions"])]
    truth["busy_hospital"] = {"host": host, "per_day": per_day, "seed": seed,
                              "rings": moved, "admissions": n}

    out.mkdir(parents=True)
    for f in folder.iterdir():
        if f.name not in ("claims.csv", "patients.csv", "doctors.csv", "truth.json"):
            shutil.copy(f, out / f.name)
    pd.concat([claims, added], ignore_index=True).to_csv(out / "claims.csv", index=False)
    patients.to_csv(out / "patients.csv", index=False)
    doctors.to_csv(out / "doctors.csv", index=False)
    (out / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, sort_keys=True,
                                               indent=1), encoding="utf-8")
    return {"host": host, "rings": moved, "admissions": n}
