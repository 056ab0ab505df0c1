"""Generate a year of a Chinese city's medical-insurance claims with planted fraud.

The generator builds a world (counties, townships, villages, institutions, doctors, cashiers,
terminals, insured people in households), simulates a year of ordinary care, adds legitimate
dense structures (dialysis units, nursing-home rounds, check-up days, families visiting
together, rehabilitation courses, chronic clinic days, village visits, vaccination days, large
households, busy tertiary hospitals), plants fraud (collusion rings, card pooling, outpatient
gatherings, shared identities, concurrent stays, split stays; every variant in
``graphdetect.synth.VARIANTS``, each group with its own drawn parameters) and writes the
tables of the data contract plus ``truth.json``.
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

from . import _catalog as cat
from . import (
    _claims,
    _lookalike,
    _normal,
    _people,
    _plant,
    _pooling,
    _stays,
    _truth,
    _world,
    _write,
)
from ._variants import LOOKALIKES, VARIANTS

__all__ = ["generate"]

GENERATOR = "graphdetect-datasets"
VERSION = 5


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


def _validate_more(omit_columns, plant, fix) -> tuple[frozenset, dict[str, dict]]:
    """Check ``omit_columns``, ``plant`` and ``fix``; return the omitted columns and the
    fixed parameters as ``{variant or look-alike kind: {parameter: value}}``."""
    allowed = ", ".join(_write.OPTIONAL_COLUMNS)
    _check("omit_columns", omit_columns, isinstance(omit_columns, tuple | list) and all(
        c in _write.OPTIONAL_COLUMNS for c in omit_columns) and len(set(omit_columns)) == len(
        omit_columns), f"a tuple of distinct optional claim columns ({allowed})")
    names = ", ".join(VARIANTS)
    _check("plant", plant, plant is None or isinstance(plant, dict) and all(
        k in VARIANTS for k in plant), f"None or a dict whose keys are variants ({names})")
    _check("plant", plant, plant is None or all(_is_int(n) and 0 <= n <= 100_000
                                                for n in plant.values()),
           "None or a dict of variant to an int in the range [0, 100000]")
    _check("fix", fix, fix is None or isinstance(fix, dict) and all(
        isinstance(k, str) for k in fix), "None or a dict of 'variant.parameter' to a value")
    fixed: dict[str, dict] = {}
    for key, value in (fix or {}).items():
        name, _, param = key.partition(".")
        table = VARIANTS.get(name) or LOOKALIKES.get(name)
        _check("fix", fix, table is not None and param in table.params,
               f"a dict of 'variant.parameter' to a value, naming a known variant or "
               f"look-alike kind and one of its parameters ({key!r} is not one)")
        p = table.params[param]
        lo, hi = p.fix_range
        number = _is_int(value) if p.kind == "int" else (
            isinstance(value, int | float | np.integer | np.floating)
            and not isinstance(value, bool))
        what = "an int" if p.kind == "int" else "a number"
        _check("fix", fix, number and lo <= value <= hi,
               f"a dict whose {key!r} is {what} in the range [{lo:g}, {hi:g}]")
        fixed.setdefault(name, {})[param] = int(value) if p.kind == "int" else float(value)
    return frozenset(omit_columns), fixed


def generate(out: str | os.PathLike, *, patients: int = 5000, seed: int = 0, days: int = 365,
             start: str = "2024-01-01", fmt: str = "csv", progress: bool = False,
             omit_columns: tuple[str, ...] = (), plant: dict[str, int] | None = None,
             fix: dict[str, float] | None = None, settle: str | None = None) -> dict:
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
    omit_columns : tuple of str, default ()
        Optional claim columns to leave out of the claims table (settlement exports often
        lack ``terminal_id`` and ``operator_id``); the truth's lists of those are then empty.
    plant : dict of str to int, optional
        Plant only these variants, this many groups each (look-alikes are always made).
        Default: every variant, ``VARIANTS[v].per_20k`` per 20,000 people (at least 2).
    fix : dict of str to number, optional
        Pin drawn parameters for sweeps: ``{"pharmacy_daytime.gap_minutes": 25}``; keys are
        ``"variant.parameter"`` (or ``"look-alike kind.parameter"``), values must lie in the
        parameter's range (``graphdetect.synth.VARIANTS``, ``graphdetect.synth.LOOKALIKES``).
    settle : {None, "year", "month"}, default None
        Export every stay in bed over the night after a settlement day as two claims, the
        first settled at 16:30 that day and the second resumed at midnight, as bureaus
        that settle stays in progress each 31 December (``"year"``, 跨年度结算) or at each
        month's end (``"month"``, 中途结算) do; the truth's claim lists hold both parts.

    Returns
    -------
    dict
        ``{"out", "format", "tables": {table: rows}, "groups": {kind: n},
        "variants": {variant: n}, "lookalikes": {kind: n}, "planted_claims"}``.

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
    omit, fixed = _validate_more(omit_columns, plant, fix)
    _check("settle", settle, settle is None or settle in _stays.SETTLE,
           "None, 'year' or 'month'")
    t0 = time.perf_counter()

    def stage(name: str) -> None:
        if progress:
            print(f"[generate] {name}: {time.perf_counter() - t0:.1f}s", file=sys.stderr)

    def rng(k: int) -> np.random.Generator:
        return np.random.default_rng([seed, k])

    w = _world.build_geography(rng(1), patients)
    _world.build_institutions(rng(2), w, patients)
    drawn = _plant.draw_groups(seed, _plant.group_counts(patients, plant), fixed)
    looks = _plant.draw_lookalikes(seed, _lookalike.counts(w, patients), fixed)
    hosts = _pooling.plan_hosts(rng(14), w, drawn)
    rehab_hosts = _lookalike.plan_staff(rng(15), w, looks)
    _world.build_staff(rng(3), w, patients)
    _people.build_patients(rng(4), w, start_date.toordinal())
    taken = np.zeros(w.n_pat, dtype=bool)
    plan = _lookalike.prepare(rng(5), w, patients, taken, looks, rehab_hosts)
    stage("world")
    normal, stays = _normal.normal_year(rng(6), w, days, start_date.weekday())
    stage("normal year")
    look, look_metas = _lookalike.lookalikes(rng(7), w, plan, patients, days, start_date, taken,
                                             looks)
    rehab = look["vt"] == cat.INP
    look = _claims.take(look, rehab | ~_normal.in_stay(look["pat"], look["start"], stays))
    ctx = SimpleNamespace(w=w, days=days, taken=taken, stays=stays, hosts=hosts,
                          n_claims=np.bincount(normal["pat"], minlength=w.n_pat),
                          by_vil=_world.group_index(w.pat_vil, w.n_vil))
    groups = _plant.plant_all(seed, ctx, drawn)
    # readmissions for another illness come last, from people in no group or look-alike:
    # adding them (generator version 3) left the rest of a city as it was (but the ordinary
    # claims of their people that clash with the new stays, cleared like any planted one's)
    busy = taken.copy()
    for part in [look] + [g[0] for g in groups]:
        busy[part["pat"]] = True
    again, again_metas = _lookalike.readmissions(rng(16), w, looks["readmission"], days,
                                                 busy, len(look_metas) + 1)
    if again is not None:
        look, look_metas = _claims.concat([look, again]), look_metas + again_metas
    # then courses of daily treatment (version 5), of people in nothing else either
    if again is not None:
        busy[again["pat"]] = True
    course, course_metas = _lookalike.courses(rng(17), w, looks["treatment_course"], days,
                                              start_date.weekday(), busy, len(look_metas) + 1)
    if course is not None:
        # a patient in bed (in an ordinary stay) misses those days of the course
        course = _claims.take(course, ~_normal.in_stay(course["pat"], course["start"], stays))
        look, look_metas = _claims.concat([look, course]), look_metas + course_metas
    stage("look-alikes and plants")
    rehab = look["vt"] == cat.INP
    fixed_stays = _claims.concat([g[0] for g in groups] + [_claims.take(look, rehab)])
    other = _claims.concat([normal, _claims.take(look, ~rehab)])
    del normal
    other = _claims.take(other, _stays.clear_around(other, fixed_stays))
    claims = _claims.concat([other, fixed_stays])
    del other, fixed_stays, look
    if settle:
        claims = _stays.settle(claims, start_date, days, settle)
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
    _write.write_claims(path, claims, claim_no, ids, start_date, fmt, omit)
    sides = _write.side_tables(w, ids)
    for name, table in sides.items():
        _write.write_table(path / f"{name}.{fmt}", table, fmt)
    header = {"generator": GENERATOR, "version": VERSION, "seed": int(seed),
              "patients": int(patients), "days": int(days), "start": start,
              "omit_columns": sorted(omit), **({"settle": settle} if settle else {}),
              "plant": None if plant is None else
              {k: int(v) for k, v in sorted(plant.items())},
              "fix": {k: int(v) if _is_int(v) else float(v)
                      for k, v in sorted((fix or {}).items())}}
    truth = _truth.build_truth(w, claims, claim_no, [g[1] for g in groups], look_metas, header,
                               start_date, omit)
    _truth.write_truth(path / "truth.json", truth)
    stage("written")
    return {
        "out": str(path), "format": fmt,
        "tables": {"claims": len(claim_no), **{k: t.num_rows for k, t in sides.items()}},
        "groups": dict(sorted(Counter(g["kind"] for g in truth["groups"]).items())),
        "variants": dict(sorted(Counter(g["variant"] for g in truth["groups"]).items())),
        "lookalikes": dict(sorted(Counter(g["kind"] for g in truth["lookalikes"]).items())),
        "planted_claims": int(np.sum(claims["tag"] > 0)),
    }
