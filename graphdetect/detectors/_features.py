"""Evidence features shared by the group detectors: holders' homes, stays, times, amounts."""

from __future__ import annotations

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


def region_of(table: pd.DataFrame | None, ids: list[str]) -> list[str | None]:
    if table is None or "region_code" not in table:
        return [None] * len(ids)
    col = table["region_code"]
    return [None if i not in col.index or pd.isna(col.get(i)) else str(col.get(i)) for i in ids]


def far_fraction(graph, holders: list[str], institution: str, prefix: int = 9) -> float | None:
    """Share of holders whose home region differs from the institution's (township level).

    None when either table or region is missing.
    """
    place = region_of(graph.institutions, [institution])[0]
    homes = [h for h in region_of(graph.patients, holders) if h]
    if not place or not homes:
        return None
    return float(np.mean([h[:prefix] != place[:prefix] for h in homes]))


def shared_address(graph, holders: list[str]) -> float | None:
    """Largest share of holders living at one address (address_hash); None if unknown."""
    p = graph.patients
    if p is None or "address_hash" not in p:
        return None
    addr = p["address_hash"].reindex(holders).dropna()
    if not len(addr):
        return None
    return float(addr.value_counts().iloc[0] / len(holders))


def in_hospital_elsewhere(graph, rows: np.ndarray, stays: pd.DataFrame) -> np.ndarray:
    """Per row, whether its patient was inpatient at another institution that day."""
    if not len(rows) or not len(stays):
        return np.zeros(len(rows), bool)
    q = pd.DataFrame({"k": np.arange(len(rows)), "patient": graph.codes("patient")[rows],
                      "day": graph.day[rows], "inst": graph.codes("institution")[rows]})
    m = q.merge(stays[["patient", "institution", "start", "end"]], on="patient")
    hit = (m["day"] > m["start"]) & (m["day"] < m["end"]) & (m["inst"] != m["institution"])
    out = np.zeros(len(rows), bool)
    out[m.loc[hit, "k"].to_numpy()] = True
    return out


def logistic(z: float) -> float:
    return float(1.0 / (1.0 + np.exp(-z)))
