"""Evidence features shared by the group detectors: holders' homes, stays, times, amounts."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd


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


def far_fraction(graph, rows: np.ndarray, institution: int, prefix: int = 9) -> float | None:
    """Share of the rows' holders whose home region differs from the institution's.

    Regions are compared on their first ``prefix`` characters (township level). None
    when either side's region is unknown.
    """
    homes, places = graph.attribute("patient", "region_code"), \
        graph.attribute("institution", "region_code")
    if homes is None or places is None or places[institution] is None:
        return None
    place = str(places[institution])[:prefix]
    mine = [str(h)[:prefix] for h in homes[np.unique(graph.codes("patient")[rows])]
            if h is not None]
    return float(np.mean([h != place for h in mine])) if mine else None


def shared_address(graph, rows: np.ndarray) -> float | None:
    """Largest share of the rows' holders living at one address (address_hash)."""
    addr = graph.attribute("patient", "address_hash")
    if addr is None:
        return None
    holders = np.unique(graph.codes("patient")[rows])
    known = [a for a in addr[holders] if a is not None]
    if not known:
        return None
    return float(Counter(known).most_common(1)[0][1] / len(holders))


def in_hospital_elsewhere(graph, rows: np.ndarray, stays: pd.DataFrame) -> np.ndarray:
    """Per row, whether its patient was inpatient at another institution that day.

    ``stays`` must be sorted by patient (as :func:`_stays.stays` returns it): each row
    looks up its patient's stays by binary search, never scanning the whole table.
    """
    out = np.zeros(len(rows), bool)
    if not len(rows) or not len(stays):
        return out
    patient = stays["patient"].to_numpy()
    mine = graph.codes("patient")[rows]
    lo = np.searchsorted(patient, mine, "left")
    count = np.searchsorted(patient, mine, "right") - lo
    k = np.repeat(np.arange(len(rows)), count)
    if not len(k):
        return out
    first = np.repeat(lo - (np.cumsum(count) - count), count)
    idx = first + np.arange(len(k))
    day, inst = graph.day[rows][k], graph.codes("institution")[rows][k]
    hit = (day > stays["start"].to_numpy()[idx]) & (day < stays["end"].to_numpy()[idx]) \
        & (inst != stays["institution"].to_numpy()[idx])
    out[k[hit]] = True
    return out


def logistic(z: float) -> float:
    return float(1.0 / (1.0 + np.exp(-z)))
