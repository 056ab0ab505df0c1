"""Per-patient facts behind the peer features (:mod:`._ranking_features`): who is 65 or
older on the day of a claim, and whose home lies in another township than the place."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .detectors._arrays import side_column


def _by_patient(graph, *tables: np.ndarray | None) -> list[np.ndarray | None]:
    """Per claim, the entry of its patient in each of one or two int32 per-patient tables
    (whose last entry is for claims without a patient; None stays None), from one
    look-up: a look-up per claim among a million patients costs its cache misses, and
    two columns read as one int64 cost about what one does."""
    have = [t for t in tables if t is not None]
    code = graph.codes("patient")
    if len(have) < 2:
        columns = iter([t[code] for t in have])
    else:
        both = np.stack(have, axis=1).view(np.int64).ravel()[code]
        columns = iter(both.view(np.int32).reshape(-1, 2).T)
    return [None if t is None else next(columns) for t in tables]


def _elderly(graph) -> tuple[np.ndarray, np.ndarray] | None:
    """Per claim: whether its patient is 65 or older at the claim, and whether that is known."""
    ages = _first_day_at_65(graph)
    if ages is None:
        return None
    first, never = ages
    at = first[graph.codes("patient")]
    return graph.day >= at, at != never


def _first_day_at_65(graph) -> tuple[np.ndarray, int] | None:
    """Per patient (and last, for claims without one), the first day at 65, and the day
    that stands for never (an unknown age); a claim is by a person 65 or older when its
    day is at least its patient's.

    Age is ``1970 + day / 365.2425`` less the birth year (plus the day of the year / 366,
    or 0.5 with a year only); it grows with the day, so each patient has a first day at
    65, found once per patient.
    """
    if graph.patients is None:
        return None
    p = graph.patients
    if "birth_date" in p and p["birth_date"].notna().any():
        born = side_column(graph, "patient", "birth_date")
        year = born.dt.year.to_numpy(dtype=float) + born.dt.day_of_year.to_numpy(dtype=float) / 366
    elif "birth_year" in p and p["birth_year"].notna().any():
        year = pd.to_numeric(side_column(graph, "patient", "birth_year"),
                             errors="coerce").to_numpy(dtype=float) + 0.5
    else:
        return None
    day = graph.day
    lo, hi = (int(day.min()), int(day.max())) if len(day) else (0, 0)
    known = np.isfinite(year)
    y = np.where(known, year, 0.0)
    guess = np.floor(np.clip((65 + y - 1970) * 365.2425, lo - 10, hi + 10)).astype(np.int64)
    first = guess - 4
    for off in range(-4, 5):                    # the first day in the window at 65
        first += ((1970 + (guess + off) / 365.2425) - y < 65)
    # An unknown age's first day (hi + 2, which no known one has) is past every claim.
    first = np.where(known, np.clip(first, lo - 1, hi + 1), hi + 2).astype(np.int32)
    return np.r_[first, hi + 2].astype(np.int32), hi + 2


def _towns(graph, prefix: int = 9) -> tuple[np.ndarray, np.ndarray] | None:
    """The township of each patient's home and of each institution (-1 unknown, and
    last for claims without one); a claim is far when the two differ, both known."""
    homes = _distinct(graph, "patient", "region_code")
    places = _distinct(graph, "institution", "region_code")
    if homes is None or places is None:
        return None
    # The township of each distinct code, numbered across both tables.
    (home_values, home), (place_values, place) = homes, places
    values = pd.Series(np.concatenate([home_values, place_values]), dtype=object)
    # Each lookup table ends in -1, which a code of -1 (unknown) takes.
    town = np.r_[pd.factorize(values.str[:prefix])[0], -1].astype(np.int32)
    home = np.r_[town[home], -1]
    place = np.r_[town[np.where(place >= 0, place + len(home_values), -1)], -1]
    return home.astype(np.int32), place.astype(np.int32)


def _distinct(graph, kind: str, column: str) -> tuple[np.ndarray, np.ndarray] | None:
    """A side-table column as its distinct values (objects) and, per entity, the position
    of its value there (-1 unknown); a categorical column is not hashed again."""
    col = side_column(graph, kind, column)
    if col is None:
        return None
    if isinstance(col.dtype, pd.CategoricalDtype):
        return col.cat.categories.to_numpy(dtype=object), col.cat.codes.to_numpy()
    codes, values = pd.factorize(col.astype(object))
    return np.asarray(values, dtype=object), codes
