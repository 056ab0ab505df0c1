"""Inpatient stays as a small table, shared by the stay detectors.

The stay detectors' relational steps (which stays overlap, which are readmissions) are
the engine's (:func:`graphdetect.engines.engine_of`); the detectors find the rows the
engine names in these tables and assemble the findings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..graph import INPATIENT
from ._arrays import cached


def stays(graph) -> pd.DataFrame:
    """One row per inpatient claim: row, patient and institution codes, start and end day.

    Sorted by patient, start, end, institution and row, so that results do not
    depend on the input's row order. Made once per graph and shared by every detector
    and the ranking: callers must not modify it (derive new frames instead).
    """
    return cached(graph, "stays", lambda: _stays(graph))


def stays_by_place(graph) -> pd.DataFrame:
    """:func:`stays` sorted by patient, institution, start, end and row (each patient's
    stays at one place in a run, in time order); made once per graph, not to be modified."""
    return cached(graph, "stays_by_place", lambda: stays(graph).sort_values(
        ["patient", "institution", "start", "end", "row"], kind="stable", ignore_index=True))


def continued(graph) -> np.ndarray:
    """Per link of :func:`stays_by_place` (stay ``k`` to stay ``k + 1``), whether the later
    stay continues the earlier across a settlement day: made once per graph.

    Many bureaus settle every stay in progress on a fixed day (跨年度结算 on 31
    December; some hospitals each month, 中途结算), and an export then shows each such
    stay as a discharge and a readmission the same day or the next. A patient's two
    consecutive stays at one place, the later admitted on the earlier's discharge day or
    the next and going on past it, are such a cut when that day is a settlement day: at
    their place, or across the city, two or more stays were cut on it and they were at
    least half of the patients in bed that night (a place splitting admissions does not
    discharge most of its ward on one day). split_stay does not count these as
    readmissions nor the ranking as a place's; collusion_ring and concurrent_stay take
    the parts as one stay (:func:`whole_stays`, :func:`resumed`).
    """
    return cached(graph, "continued", lambda: _continued(stays_by_place(graph)))


def resumed(graph) -> tuple[np.ndarray, np.ndarray]:
    """The stays cut on a settlement day (:func:`continued`) as claim rows ``(earlier,
    later)``: the parts of one stay."""
    rows = stays_by_place(graph)["row"].to_numpy()
    cut = continued(graph)
    return rows[:-1][cut], rows[1:][cut]


def whole_stays(graph) -> tuple[pd.DataFrame, np.ndarray, dict[int, np.ndarray]]:
    """:func:`stays` with each stay cut on settlement days (:func:`resumed`) as one: its
    first part's row and its last part's end; the claims' amounts with each such stay's
    parts added up on its first part's row; and each first part's later parts' rows.
    Data without such stays give :func:`stays` and ``graph.amount`` themselves."""
    return cached(graph, "whole_stays", lambda: _whole_stays(graph))


def _whole_stays(graph):
    s, amount = stays(graph), graph.amount
    cut = continued(graph)
    if not cut.any():
        return s, amount, {}
    # a stay's parts are a run of :func:`stays_by_place` joined by cuts
    by_place = stays_by_place(graph)
    head = np.flatnonzero(np.r_[True, ~cut])           # each stay's first part
    stay = np.r_[0, np.cumsum(~cut)]                   # each part's stay
    rows = by_place["row"].to_numpy()
    later = np.r_[False, cut]
    lead = rows[head[stay]][later]                     # each later part's first part
    amount = amount.copy()
    np.add.at(amount, lead, amount[rows[later]])
    row = s["row"].to_numpy()
    whole = s[~np.isin(row, rows[later])].reset_index(drop=True)
    several = np.unique(stay[later])                   # the stays in more than one part
    at = positions(whole["row"].to_numpy(), rows[head[several]])
    for col in ("end", "end_s"):
        values = whole[col].to_numpy().copy()
        values[at] = np.maximum.reduceat(by_place[col].to_numpy(), head)[several]
        whole[col] = values
    bounds = np.searchsorted(stay[later], several, "left"), \
        np.searchsorted(stay[later], several, "right")
    parts = {int(rows[head[k]]): rows[later][a:b]
             for k, a, b in zip(several.tolist(), *bounds, strict=True)}
    return whole, amount, parts


def _continued(s: pd.DataFrame) -> np.ndarray:
    if len(s) < 2:
        return np.zeros(max(len(s) - 1, 0), bool)
    p, h = s["patient"].to_numpy(), s["institution"].to_numpy().astype(np.int64)
    start, end = s["start"].to_numpy().astype(np.int64), s["end"].to_numpy().astype(np.int64)
    first = min(start.min(), end.min())   # days from the first, none negative
    start, end = start - first, end - first
    gap = start[1:] - end[:-1]
    # the later stay goes on past the day (a patient readmitted and cut again the same
    # day was readmitted first)
    cut = np.flatnonzero((p[1:] == p[:-1]) & (h[1:] == h[:-1]) & (gap >= 0) & (gap <= 1)
                         & (end[1:] > end[:-1]))
    out = np.zeros(len(s) - 1, bool)
    if len(cut) < 2:
        return out
    day = end[cut]
    # a cut patient is in bed that night: through the later stay when it began that day
    uncounted = start[cut + 1] > day
    for key, at in ((np.zeros(len(s), np.int64), np.zeros(len(cut), np.int64)),
                    (h, h[cut])):
        # stays in bed the night after ``day`` at the place: started by then, not ended
        starts = np.sort(key << 32 | start)
        ends = np.sort(key << 32 | end)
        night = at << 32 | day
        in_bed = np.searchsorted(starts, night, "right") - np.searchsorted(ends, night, "right")
        _, inv = np.unique(night, return_inverse=True)
        cuts = np.bincount(inv)
        beds = np.bincount(inv, weights=uncounted)[inv] + in_bed
        out[cut] |= (cuts[inv] >= 2) & (2 * cuts[inv] >= beds)
    return out


def positions(rows: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Where each of the ``wanted`` claim rows lies in ``rows`` (distinct rows, each
    wanted one among them).

    >>> positions(np.array([7, 2, 5]), np.array([5, 7])).tolist()
    [2, 0]
    """
    order = np.argsort(rows, kind="stable")
    return order[np.searchsorted(rows[order], wanted)]


def _stays(graph) -> pd.DataFrame:
    claims = graph.claims
    if not len(claims):
        return pd.DataFrame(columns=["row", "patient", "institution", "start", "end", "diagnosis"])
    rows = np.flatnonzero(graph.visit == INPATIENT)
    end = claims["end_time"].to_numpy()[rows].astype("datetime64[s]").astype(np.int64)
    diagnosis = claims["diagnosis_code"].cat.codes.to_numpy()[rows] \
        if "diagnosis_code" in claims else np.full(len(rows), -1)
    frame = pd.DataFrame({
        "row": rows,
        "patient": graph.codes("patient")[rows],
        "institution": graph.codes("institution")[rows],
        "start": graph.day[rows],
        "end": (end // 86400).astype(np.int32),
        "start_s": graph.seconds[rows],
        "end_s": end,
        "diagnosis": diagnosis,
    })
    return frame.sort_values(["patient", "start", "end", "institution", "row"],
                             kind="stable", ignore_index=True)


def day_str(day: int) -> str:
    """Days since 1970-01-01 as ``YYYY-MM-DD``.

    >>> day_str(19784)
    '2024-03-02'
    """
    return str(np.datetime64(int(day), "D"))


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected-component label of each of ``n`` items linked by pairs (a[k], b[k])."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    m = sp.coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    return connected_components(m, directed=False)[1]


def id_array(graph, kind: str) -> np.ndarray:
    """The ids of a kind as a numpy object array, made once per graph: picking a
    finding's few ids from it is far cheaper than indexing ``graph.index(kind)``."""
    return cached(graph, ("id_array", kind), lambda: graph.index(kind).to_numpy(object))


def with_claim_ids(graph, findings: list, rows: list[np.ndarray]) -> list:
    """The findings with their evidence claim ids filled in, ``rows[k]`` the rows of
    ``findings[k]`` in order: one look-up of the claim ids for all of them, since each
    look-up costs about as much for a few rows as for thousands."""
    if findings:
        ids = graph.claim_ids(np.concatenate(rows))
        at = 0
        for f, r in zip(findings, rows, strict=True):
            f.claim_ids = ids[at:at + len(r)]
            at += len(r)
    return findings


#: An ICD-10 code as claims write it: a letter and two digits, then the rest (J18.900x001).
ICD10 = r"^[A-Za-z][0-9]{2}"


def diagnosis_keys(codes: pd.Index, prefix: int) -> np.ndarray:
    """Per code, what a readmission's diagnosis is compared on: the first ``prefix``
    characters of an ICD-10 code (3: its category, so that J18.900 and the insurance
    edition's J18.000x001 are one illness), the whole code otherwise (a local numbering's
    digits say nothing by their first few) and always with ``prefix`` 0.

    >>> diagnosis_keys(pd.Index(["J18.900", "J18.000x001", "J44.1", "1234567"]), 3).tolist()
    ['J18', 'J18', 'J44', '1234567']
    """
    codes = pd.Index(codes).astype(str)
    if not prefix:
        return codes.to_numpy(object)
    icd = codes.str.contains(ICD10)
    return np.where(icd, codes.str[:prefix], codes).astype(object)

