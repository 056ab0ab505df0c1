"""Export habits applied to a generated city (CSV): the same claims as another bureau's
system would write them, with the truth following.

Each function reads the city in ``folder`` and writes the exported one to ``out`` (a new
folder; the side tables copied as they are). ``generate`` itself writes the habits that
change the claims it makes (``omit_columns``, ``settle``); these change how finished
claims are written.

>>> import tempfile
>>> from pathlib import Path
>>> from graphdetect.synth import generate
>>> with tempfile.TemporaryDirectory() as tmp:
...     _ = generate(Path(tmp) / "city", patients=300, days=60, seed=1)
...     compact_times(Path(tmp) / "city", Path(tmp) / "compact")
...     first = (Path(tmp) / "compact" / "claims.csv").read_text().splitlines()[1]
>>> first.split(",")[5]
'20240101081844'
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["HABITS", "compact_times", "dates_only", "dates_at_small_places",
           "diagnosis_subcodes", "hour_stamps", "midnight_times", "purchases_as_visits",
           "visits_in_parts"]

#: The kinds of place whose systems keep no times of day in :func:`dates_at_small_places`.
SMALL_PLACES = ("pharmacy", "clinic", "village_clinic")


def _export(folder: Path, out: Path, change: Callable[[pd.DataFrame], pd.DataFrame],
            more: dict[str, list[str]] | None = None) -> None:
    """``folder``'s city written to ``out`` with its claims changed by ``change``; the
    truth's claim lists take in ``more`` (claim id: the new claims made of it)."""
    folder, out = Path(folder), Path(out)
    out.mkdir(parents=True)
    for f in folder.iterdir():
        if f.name not in ("claims.csv", "truth.json"):
            shutil.copy(f, out / f.name)
    claims = pd.read_csv(folder / "claims.csv", dtype=str, keep_default_na=False)
    change(claims).to_csv(out / "claims.csv", index=False)
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    for g in truth["groups"] + truth["lookalikes"]:
        g["claim_ids"] = g["claim_ids"] + [x for y in g["claim_ids"]
                                           for x in (more or {}).get(y, [])]
    (out / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, sort_keys=True,
                                               indent=1), encoding="utf-8")


def dates_only(folder, out) -> None:
    """Times of day left out: ``2024-03-02``."""
    def change(c):
        for col in ("start_time", "end_time"):
            c[col] = c[col].str.slice(0, 10)
        return c
    _export(folder, out, change)


def dates_at_small_places(folder, out) -> None:
    """Times of day left out at pharmacies, clinics and village clinics only, whose
    systems keep the date, while hospitals and health centres keep the time: one city,
    both kinds of place."""
    kinds = pd.read_csv(Path(folder) / "institutions.csv", dtype=str)
    small = set(kinds.loc[kinds["kind"].isin(SMALL_PLACES), "institution_id"])

    def change(c):
        at = c["institution_id"].isin(small)
        for col in ("start_time", "end_time"):
            c.loc[at, col] = c.loc[at, col].str.slice(0, 10)
        return c
    _export(folder, out, change)


def midnight_times(folder, out) -> None:
    """Dates written as datetimes at midnight, as spreadsheets often export them:
    ``2024-03-02 00:00:00``."""
    def change(c):
        for col in ("start_time", "end_time"):
            c[col] = c[col].where(c[col] == "", c[col].str.slice(0, 10) + " 00:00:00")
        return c
    _export(folder, out, change)


def hour_stamps(folder, out) -> None:
    """Times stamped to the hour, as settlement systems that upload in hourly batches
    write them: ``2024-03-02 09:00:00`` for every settlement from 09:00 to 09:59 (those
    from 00:00 to 00:59 then read as dates, a time of exactly midnight being one)."""
    def change(c):
        for col in ("start_time", "end_time"):
            c[col] = c[col].where(c[col].str.len() < 13, c[col].str.slice(0, 13) + ":00:00")
        return c
    _export(folder, out, change)


def diagnosis_subcodes(folder, out, seed: int = 0) -> None:
    """Each diagnosis code written at a level of detail its coder chose, as the national
    insurance edition's extension codes allow: ``J18``, ``J18.00``, ``J18.x001`` or
    ``J18.00x002`` for one pneumonia (``N18.5``, ``N18.500``, ``N18.5x001``, ...), drawn
    per claim, so that two stays of one illness often carry different codes."""
    rng = np.random.default_rng(seed)

    def change(c):
        dx = c["diagnosis_code"].fillna("")
        dot = dx.where(dx.str.contains(".", regex=False), dx + ".")
        ext = np.array(["00", "x001", "00x002"])[rng.integers(0, 3, len(c))]
        coded = rng.random(len(c)) < 0.75
        c["diagnosis_code"] = dx.where((dx == "") | ~coded, dot + ext)
        return c
    _export(folder, out, change)


def compact_times(folder, out) -> None:
    """Times written as settlement systems often do: ``20240302091507``."""
    def change(c):
        for col in ("start_time", "end_time"):
            c[col] = c[col].str.replace(r"[- :]", "", regex=True)
        return c
    _export(folder, out, change)


def purchases_as_visits(folder, out) -> None:
    """Every pharmacy purchase labelled an outpatient visit, as exports that call every
    settlement under the outpatient pooled fund (门诊统筹) a visit do."""
    def change(c):
        c.loc[c["visit_type"] == "pharmacy", "visit_type"] = "outpatient"
        return c
    _export(folder, out, change)


def visits_in_parts(folder, out, most: int = 3, seed: int = 0) -> None:
    """Every outpatient visit settled in 1 to ``most`` parts (分次结算): the first a
    registration fee of 5-30 yuan (at most a third of the bill), the rest of the bill
    shared at random, each part 2-25 minutes after the one before, the fund amount left
    empty; the parts after the first are new claims (``<claim id>P1``, ...)."""
    rng = np.random.default_rng(seed)
    made: dict[str, list[str]] = {}

    def change(c):
        k = np.where(c["visit_type"] == "outpatient", rng.integers(1, most + 1, len(c)), 1)
        parts = c.loc[c.index.repeat(k)].reset_index(drop=True)
        nth = parts.groupby(c.index.repeat(k)).cumcount().to_numpy()
        n, visit = np.repeat(k, k), np.repeat(np.arange(len(c)), k)
        gap = np.where(nth == 0, 0, rng.integers(120, 1500, len(parts))).cumsum()
        gap -= np.repeat(gap[np.flatnonzero(nth == 0)], k)
        parts["start_time"] = (pd.to_datetime(parts["start_time"])
                               + pd.to_timedelta(gap, "s")).dt.strftime("%Y-%m-%d %H:%M:%S")
        total = parts["total_amount"].astype(float).to_numpy()
        first = (n > 1) & (nth == 0)
        fee = np.where(first, np.minimum(rng.uniform(5, 30, len(parts)), total / 3), 0)
        weight = np.where(first, 0, rng.uniform(0.3, 1.0, len(parts)))
        rest = total - np.bincount(visit, weights=fee)[visit]
        share = fee + rest * weight / np.bincount(visit, weights=weight)[visit]
        parts["total_amount"] = np.round(share, 2).astype(str)
        parts["fund_amount"] = ""
        parts["claim_id"] = np.where(nth == 0, parts["claim_id"],
                                     parts["claim_id"] + "P" + nth.astype(str))
        for whole, part in zip(c["claim_id"].to_numpy()[visit[nth > 0]],
                               parts["claim_id"].to_numpy()[nth > 0], strict=True):
            made.setdefault(whole, []).append(part)
        return parts

    # the truth is written after the claims, so ``made`` is full by then
    _export(folder, out, change, made)


#: The habits by name, as ``benchmarks/habits.py`` names them.
HABITS = {"dates_only": dates_only, "dates_at_small_places": dates_at_small_places,
          "midnight_times": midnight_times, "hour_stamps": hour_stamps,
          "diagnosis_subcodes": diagnosis_subcodes,
          "compact_times": compact_times,
          "purchases_as_visits": purchases_as_visits, "visits_in_parts": visits_in_parts}
