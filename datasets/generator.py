"""Generate a year of a Chinese city's medical-insurance claims with planted fraud.

The generator builds a world (counties, townships, villages, institutions, doctors, cashiers,
terminals, insured people in households), simulates a year of ordinary care, adds legitimate
dense structures (dialysis units, nursing-home rounds, check-up days, families visiting
together, busy tertiary hospitals), plants fraud (collusion rings, card pooling, concurrent
stays, split stays) and writes the tables of the data contract plus ``truth.json``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from . import _claims, _lookalike, _normal, _people, _plant, _stays, _truth, _world, _write

__all__ = ["generate"]

GENERATOR = "graphdetect-datasets"
VERSION = 1


def _check(name: str, value: object, ok: bool, what: str) -> None:
    if not ok:
        raise ValueError(f"The '{name}' parameter of generate must be {what}; got {value!r}.")


def _is_int(v: object) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool)


def _validate(out, patients, seed, days, start, fmt, progress) -> dt.date:
    _check("out", out, isinstance(out, str | os.PathLike), "a str or path-like")
    _check("patients", patients, _is_int(patients) and patients >= 100, "an int >= 100")
    _check("patients", patients, patients <= 20_000_000, "an int <= 20000000")
    _check("seed", seed, _is_int(seed) and seed >= 0, "an int >= 0")
    _check("days", days, _is_int(days) and 60 <= days <= 1830, "an int in the range [60, 1830]")
    start_date = None
    if isinstance(start, str) and re.fullmatch(r"\d{4}-\d\d-\d\d", start):
        try:
            start_date = dt.date.fromisoformat(start)
        except ValueError:
            pass
    _check("start", start, start_date is not None, "an ISO date string like '2024-01-01'")
    _check("fmt", fmt, fmt in ("csv", "parquet"), "one of 'csv', 'parquet'")
    _check("progress", progress, isinstance(progress, bool), "a bool")
    return start_date


def generate(out: str | os.PathLike, *, patients: int = 5000, seed: int = 0, days: int = 365,
             start: str = "2024-01-01", fmt: str = "csv", progress: bool = False) -> dict:
    """Write a synthetic claims data folder with planted fraud and its ground truth.

    Parameters
    ----------
    out : str or path-like
        Folder to write; created if missing. Tables of an earlier run there are replaced.
    patients : int, default 5000
        Number of insured people (at least 100). Everything else scales with it.
    seed : int, default 0
        Seed of every random choice; the same arguments give byte-identical files.
    days : int, default 365
        Length of the period in days (60 to 1830).
    start : str, default "2024-01-01"
        First day of the period, as an ISO date.
    fmt : {"csv", "parquet"}, default "csv"
        File format of the four tables (``truth.json`` is always JSON).
    progress : bool, default False
        Print each stage's elapsed time to standard error.

    Returns
    -------
    dict
        ``{"out", "format", "tables": {table: rows}, "groups": {kind: n},
        "lookalikes": {kind: n}, "planted_claims"}``.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     summary = generate(tmp, patients=300, days=60, seed=1)
    ...     names = sorted(p.name for p in Path(tmp).iterdir())
    >>> names
    ['claims.csv', 'doctors.csv', 'institutions.csv', 'patients.csv', 'truth.json']
    >>> summary["tables"]["patients"]
    300
    """
    start_date = _validate(out, patients, seed, days, start, fmt, progress)
    t0 = time.perf_counter()

    def stage(name: str) -> None:
        if progress:
            print(f"[generate] {name}: {time.perf_counter() - t0:.1f}s", file=sys.stderr)

    def rng(k: int) -> np.random.Generator:
        return np.random.default_rng([seed, k])

    w = _world.build_geography(rng(1), patients)
    _world.build_institutions(rng(2), w, patients)
    _world.build_staff(rng(3), w, patients)
    _people.build_patients(rng(4), w, start_date.toordinal())
    taken = np.zeros(w.n_pat, dtype=bool)
    plan = _lookalike.prepare(rng(5), w, patients, taken)
    stage("world")
    normal, stays = _normal.normal_year(rng(6), w, days, start_date.weekday())
    stage("normal year")
    look, look_metas = _lookalike.lookalikes(rng(7), w, plan, patients, days, start_date, taken)
    look = _claims.take(look, ~_normal.in_stay(look["pat"], look["start"], stays))
    ctx = SimpleNamespace(w=w, days=days, taken=taken, stays=stays,
                          n_claims=np.bincount(normal["pat"], minlength=w.n_pat),
                          by_vil=_world.group_index(w.pat_vil, w.n_vil))
    groups = _plant_all(rng, ctx, patients)
    stage("look-alikes and plants")
    planted = _claims.concat([g[0] for g in groups])
    other = _claims.concat([normal, look])
    del normal, look
    other = _claims.take(other, _stays.clear_around(other, planted))
    claims = _claims.concat([other, planted])
    del other
    fin = rng(13)
    _claims.assign_desks(fin, w, claims)
    key = (claims["start"] << 32) | fin.integers(0, 2**32, len(claims["start"]))
    claims = _claims.take(claims, np.argsort(key))
    del key
    claim_no = int(fin.integers(10**11, 3 * 10**11)) + np.cumsum(
        fin.integers(1, 10, len(claims["start"])))
    stage("assembled")
    path = Path(out)
    path.mkdir(parents=True, exist_ok=True)
    _write.clear_old(path)
    ids = _write.entity_ids(w)
    _write.write_claims(path, claims, claim_no, ids, start_date, fmt)
    sides = _write.side_tables(w, ids)
    for name, table in sides.items():
        _write.write_table(path / f"{name}.{fmt}", table, fmt)
    header = {"generator": GENERATOR, "version": VERSION, "seed": int(seed),
              "patients": int(patients), "days": int(days), "start": start}
    truth = _truth.build_truth(w, claims, claim_no, [g[1] for g in groups], look_metas, header,
                               start_date)
    _truth.write_truth(path / "truth.json", truth)
    stage("written")
    return {
        "out": str(path), "format": fmt,
        "tables": {"claims": len(claim_no), **{k: t.num_rows for k, t in sides.items()}},
        "groups": dict(sorted(Counter(g["kind"] for g in truth["groups"]).items())),
        "lookalikes": dict(sorted(Counter(g["kind"] for g in truth["lookalikes"]).items())),
        "planted_claims": int(np.sum(claims["tag"] > 0)),
    }


def _plant_all(rng, ctx: SimpleNamespace, patients: int) -> list:
    """Every planted group, in tag order (tag k is the k-th entry)."""
    def count(per_20k: float) -> int:
        return max(2, round(per_20k * patients / 20_000))

    groups = _plant.rings(rng(8), ctx, count(6), count(4), 1)
    groups += _plant.pharmacy_pooling(rng(9), ctx, count(6), len(groups) + 1)
    groups += _plant.phantom_billing(rng(10), ctx, count(3), len(groups) + 1)
    groups += _stays.concurrent_stays(rng(11), ctx, count(15), len(groups) + 1)
    groups += _stays.split_stays(rng(12), ctx, count(15), len(groups) + 1)
    return groups
