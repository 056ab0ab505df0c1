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
