"""Evidence features shared by the group detectors: stays, amounts, ages, places' claims
(the lockstep groups' own features, worked out for all groups at once, are in
:mod:`._lockstep_features`)."""

from __future__ import annotations

import weakref

import numpy as np
import pandas as pd

from ._arrays import cached, side_column


def amount_cv(amounts: np.ndarray) -> float:
    """Coefficient of variation of the amounts (0 for fewer than two)."""
    if len(amounts) < 2:
        return 0.0
    mean = amounts.mean()
    return 0.0 if mean <= 0 else float(amounts.std() / mean)


def in_hospital_elsewhere(graph, rows: np.ndarray, stays: pd.DataFrame) -> np.ndarray:
    """Per row, whether its patient was inpatient at another institution that day.

    ``stays`` must be sorted by patient (as :func:`_stays.stays` returns it): each row
    looks up its patient's stays by binary search, never scanning the whole table.
    """
    out = np.zeros(len(rows), bool)
    if not len(rows) or not len(stays):
        return out
    patient, start, end, institution = _stay_arrays(stays)
    mine = graph.codes("patient")[rows]
    lo = np.searchsorted(patient, mine, "left")
    count = np.searchsorted(patient, mine, "right") - lo
    k = np.repeat(np.arange(len(rows)), count)
    if not len(k):
        return out
    first = np.repeat(lo - (np.cumsum(count) - count), count)
    idx = first + np.arange(len(k))
    day, inst = graph.day[rows][k], graph.codes("institution")[rows][k]
    hit = (day > start[idx]) & (day < end[idx]) & (inst != institution[idx])
    out[k[hit]] = True
    return out


_STAYS: dict[int, tuple] = {}


def _stay_arrays(stays: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """A stays table's patient, start, end and institution columns as arrays, made once
    per table (frames are unhashable: kept by id while the frame lives)."""
    key = id(stays)
    held = _STAYS.get(key)
    if held is None or held[0]() is not stays:
        arrays = tuple(stays[c].to_numpy() for c in ("patient", "start", "end", "institution"))
        held = _STAYS[key] = (weakref.ref(stays, lambda _: _STAYS.pop(key, None)), arrays)
    return held[1]


def logistic(z: float) -> float:
    return float(1.0 / (1.0 + np.exp(-z)))


#: The highest score of a look-alike whose reason is known (a ward's course programme, a
#: care home's rounds): below the case threshold, the order among them kept.
LOOKALIKE_CEILING = 0.45


def in_courses(m: dict) -> bool:
    """Whether a lockstep group is treatment courses: half or more of its swipes on days
    of their cards' courses of daily visits there (``course_share``, see
    :func:`._lockstep_features.calendar`), not in the place's night."""
    return m["course_share"] >= 0.5 and (m["night_share"] or 0.0) <= 0.2


def course_note(m: dict) -> tuple[str, str]:
    """The explanation's words for :func:`in_courses` (Chinese, English)."""
    return (f"但{m['course_share']:.0%}的刷卡落在持卡人在该处连续数日的疗程中（如理疗、输液），"
            "风险较低",
            f"but {m['course_share']:.0%} of the swipes fall in their holders' courses of "
            "daily visits there (physiotherapy, infusions): lower risk")


def held_below(score: float) -> float:
    """A score scaled under :data:`LOOKALIKE_CEILING` (0.99 becomes the ceiling)."""
    return min(score, LOOKALIKE_CEILING * score / 0.99)


def birth_years(graph) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Per patient, the year of birth_date and the birth_year column (NaN unknown; None
    when the column is missing)."""
    def make():
        born = side_column(graph, "patient", "birth_date")
        by_date = None if born is None else pd.to_datetime(
            born, errors="coerce").dt.year.to_numpy(dtype=float)
        year = side_column(graph, "patient", "birth_year")
        by_year = None if year is None else pd.to_numeric(
            year, errors="coerce").to_numpy(dtype=float)
        return by_date, by_year
    return cached(graph, "birth_years", make)


def elderly_share(graph, patients: np.ndarray, day: int) -> float | None:
    """Share of the patients (codes) aged 60 or over on ``day`` (None without births)."""
    year = 1970 + day / 365.2425
    years = None
    for column in birth_years(graph):
        if column is not None:
            years = column[patients]
            years = years[~np.isnan(years)]
            if len(years):
                break
    return float(np.mean(year - years >= 60)) if years is not None and len(years) else None
