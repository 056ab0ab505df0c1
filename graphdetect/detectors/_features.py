"""Evidence features shared by the group detectors: holders' homes, stays, times, amounts."""

from __future__ import annotations

import weakref

import numpy as np
import pandas as pd

from ._arrays import attribute_codes, cached, run_lengths, side_column, sorted_unique


def amount_cv(amounts: np.ndarray) -> float:
    """Coefficient of variation of the amounts (0 for fewer than two)."""
    if len(amounts) < 2 or amounts.mean() <= 0:
        return 0.0
    return float(amounts.std() / amounts.mean())


def hours(graph, rows: np.ndarray) -> np.ndarray | None:
    """Hour of day per row, or None when the claims carry no times of day."""
    if "has_time" in graph.claims and not graph.claims["has_time"].to_numpy()[rows].any():
        return None
    return (graph.seconds[rows] % 86400) // 3600


def shared_address(graph, rows: np.ndarray, column: str = "address_hash") -> float | None:
    """Largest share of the rows' holders living at one address (or sharing ``column``)."""
    codes = attribute_codes(graph, "patient", column)
    if codes is None:
        return None
    holders = sorted_unique(graph.codes("patient")[rows])
    known = codes[holders]
    known = known[known >= 0]
    if not len(known):
        return None
    return float(run_lengths(np.sort(known)).max() / len(holders))


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


def place_rows(graph, place: int, exclude: np.ndarray | None = None,
               visits: tuple[int, ...] | None = None) -> np.ndarray:
    """The claims of one institution, minus ``exclude``, optionally of some visit types
    (sorted rows)."""
    def make():
        m = graph.members("institution")
        rows = m.indices[m.indptr[place]:m.indptr[place + 1]]
        if not np.all(rows[1:] >= rows[:-1]):
            rows = np.sort(rows)
        if visits is not None:
            v = graph.visit[rows]
            ok = np.zeros(len(rows), bool)
            for x in visits:
                ok |= v == x
            rows = rows[ok]
        return rows
    rows = cached(graph, ("place_rows", place, visits), make)
    if exclude is not None and len(exclude) and len(rows):
        at = np.searchsorted(rows, exclude).clip(max=len(rows) - 1)
        hit = at[rows[at] == exclude]
        if len(hit):
            keep = np.ones(len(rows), bool)
            keep[hit] = False
            rows = rows[keep]
    return rows


def usual_bill(graph, place: int, exclude: np.ndarray, visits: tuple[int, ...], *,
               robust: bool = False) -> tuple[float | None, ...]:
    """Median and CV of an institution's other bills of those visit types (None if none),
    and with ``robust`` their :func:`robust_cv` too."""
    amounts = graph.amount[place_rows(graph, place, exclude, visits)]
    if len(amounts) < 5:
        return (None, None, None) if robust else (None, None)
    out = (float(np.median(amounts)), amount_cv(amounts))
    return out + (robust_cv(amounts),) if robust else out


def robust_cv(amounts: np.ndarray) -> float:
    """The amounts' spread that a few strays do not move: 1.4826 times the median
    absolute deviation from the median, over the median (the CV of normal amounts; 0
    for fewer than two).

    >>> robust_cv(np.array([100.0, 104, 96, 101, 99, 2000]))
    0.0369
    """
    if len(amounts) < 2:
        return 0.0
    mid = float(np.median(amounts))
    if mid <= 0:
        return 0.0
    return round(1.4826 * float(np.median(np.abs(amounts - mid))) / mid, 4)


def _place_profile(graph, place: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A place's timed claims by hour of day, and its patients with their claim counts
    (sorted codes), made once per place."""
    def make():
        rows = place_rows(graph, place)
        timed = rows[graph.claims["has_time"].to_numpy()[rows]]
        hours = np.bincount((graph.seconds[timed] % 86400) // 3600, minlength=24)
        patients = np.sort(graph.codes("patient")[rows])
        counts = run_lengths(patients)
        return hours, sorted_unique(patients), counts
    return cached(graph, ("place", place), make)


def _gone(graph, rows: np.ndarray, place: int) -> np.ndarray:
    """The place's patients all of whose claims there are in ``rows`` (sorted codes)."""
    _, patients, counts = _place_profile(graph, place)
    here = rows[graph.codes("institution")[rows] == place]
    mine = np.sort(graph.codes("patient")[here])
    if not len(mine):
        return mine
    n = run_lengths(mine)
    mine = sorted_unique(mine)
    return mine[counts[np.searchsorted(patients, mine)] == n]


def off_hours_share(graph, rows: np.ndarray, place: int, *, margin: bool = False
                    ) -> float | None:
    """Share of the rows in hours the institution is otherwise all but shut.

    An hour is *off* when the place's other claims in it number under 5% of its busiest
    hour (its own opening hours, not a fixed clock); with ``margin``, only when the hours
    either side are off too (the place's night, not the hour before it opens). None
    without times of day, or when the place has too few other claims to tell.
    """
    hrs = hours(graph, rows)
    if hrs is None:
        return None
    here = rows[graph.codes("institution")[rows] == place]
    here = here[graph.claims["has_time"].to_numpy()[here]]
    profile = _place_profile(graph, place)[0] - np.bincount(
        (graph.seconds[here] % 86400) // 3600, minlength=24)
    if profile.sum() < 50:
        return None
    off = profile < 0.05 * profile.max()
    if margin:
        off = off & np.roll(off, 1) & np.roll(off, -1)
    return float(off[hrs].mean())


def stranger_share(graph, rows: np.ndarray, place: int, prefix: int = 9) -> float | None:
    """Share of the rows' holders from townships the place otherwise hardly serves.

    A township is *strange* to a place when it sends under a tenth of the patients its
    top township sends (among the place's other claims): a village pharmacy's customers
    are its own township's, a city hospital's come from everywhere. None without region
    codes or with too few other patients.
    """
    town = attribute_codes(graph, "patient", "region_code", prefix)
    if town is None:
        return None
    n_town = cached(graph, ("n_town", prefix), lambda: int(town.max()) + 1)

    def make():      # the place's patients per township
        theirs = town[_place_profile(graph, place)[1]]
        return np.bincount(theirs[theirs >= 0], minlength=n_town)
    gone = town[_gone(graph, rows, place)]
    count = cached(graph, ("towns", place, prefix), make) \
        - np.bincount(gone[gone >= 0], minlength=n_town)
    if count.sum() < 20:
        return None
    mine = town[sorted_unique(graph.codes("patient")[rows])]
    mine = mine[mine >= 0]
    if not len(mine):
        return None
    return float(np.mean(count[mine] < 0.1 * count.max()))


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


def calendar(graph, rows: np.ndarray, place: int) -> tuple[float, float, float]:
    """How treatment-like the rows' holders' own calendar at the place is, over all of
    their outpatient and pharmacy claims there (not only the rows).

    Per card: its visit days there, those days per week over its own first to last visit
    there, and the share of them on its own three commonest weekdays. Returns the medians
    over cards of the three (visit days, per week, weekday share): a dialysis patient
    comes about three times a week on the same weekdays all period long, whichever of
    those sessions a group happened to pick up.

    >>> import pandas as pd
    >>> from graphdetect.graph import ClaimsGraph
    >>> mwf = [d for d in pd.date_range("2024-01-01", periods=84) if d.day_of_week in (0, 2, 4)]
    >>> claims = pd.DataFrame([(f"C{k}{i}", f"P{k}", t + pd.Timedelta(hours=8))
    ...     for k in range(3) for i, t in enumerate(mwf)],
    ...     columns=["claim_id", "patient_id", "start_time"]).assign(
    ...     institution_id="H1", visit_type="outpatient", total_amount=420.0)
    >>> g = ClaimsGraph(claims)
    >>> [round(x, 2) for x in calendar(g, np.arange(9), 0)]
    [36.0, 3.07, 1.0]
    """
    m = graph.members("card")
    cards = sorted_unique(graph.codes("card")[rows])
    cards = cards[cards >= 0]
    start, stop = m.indptr[cards], m.indptr[cards + 1]
    count = stop - start
    near = m.indices[np.repeat(start - np.cumsum(count) + count, count)
                     + np.arange(int(count.sum()))]
    v = graph.visit[near]
    near = near[(graph.codes("institution")[near] == place) & ((v == 0) | (v == 2))]
    if not len(near):
        return 0.0, 0.0, 0.0
    card_day = sorted_unique(graph.codes("card")[near].astype(np.int64) << 32
                             | graph.day[near].astype(np.int64))
    card, day = card_day >> 32, card_day & 0xFFFFFFFF
    first = np.flatnonzero(np.concatenate(([True], card[1:] != card[:-1])))
    n_days = np.diff(np.append(first, len(card)))
    span = day[first + n_days - 1] - day[first] + 1
    per_week = n_days / np.maximum(span / 7.0, 1.0)
    which = np.repeat(np.arange(len(first)), n_days)
    dow = np.bincount(which * 7 + (day + 3) % 7, minlength=7 * len(first)).reshape(-1, 7)
    top3 = np.sort(dow, axis=1)[:, -3:].sum(axis=1) / n_days
    return float(np.median(n_days)), float(np.median(per_week)), float(np.median(top3))
