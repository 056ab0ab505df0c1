"""The embedded engine: every stage in this process.

Reading is :func:`graphdetect.io.read_folder` (pyarrow batches, checked with vectorised
kernels, a thread per table). The detectors' relational steps that an engine provides
(:class:`graphdetect.engines.Steps`) run here on the graph's arrays with numpy and pandas:
the overlapping stays of :func:`~graphdetect.detectors.concurrent_stay`, the
readmissions of :func:`~graphdetect.detectors.split_stay`, and the lockstep groups behind
``card_pooling`` and ``outpatient_gathering``
(:func:`graphdetect.detectors._lockstep.find_groups`), and the collusion ring's connected
components (scipy) and Leiden on its batches of components
(:func:`graphdetect.detectors._leiden.optimise_batches`; a large job in a child process,
:func:`~graphdetect.detectors._leiden.optimise_apart`, as leidenalg holds the GIL that the
other detectors' threads need).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io import DEFAULT_TIME_ZONE, ClaimsData
from ..io import read_folder as _read_folder

__all__ = ["EmbeddedEngine", "read_folder", "overlapping_stays", "readmissions", "APART_EDGES"]

#: Edges from which Leiden runs in a child process of its own (:meth:`EmbeddedEngine.communities`).
APART_EDGES = 20_000


def read_folder(data: str | Path, *, since=None, until=None, progress: bool = False,
                time_zone: str = DEFAULT_TIME_ZONE) -> tuple[ClaimsData, dict]:
    """The data folder's typed tables and rejects (:func:`graphdetect.io.read_folder`);
    and what the run's summary records of the engine."""
    return (_read_folder(data, since=since, until=until, progress=progress,
                         time_zone=time_zone), {"engine": "embedded"})


def overlapping_stays(graph, *, min_overlap_days: int) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of inpatient stays of one patient at two institutions that overlap by at
    least ``min_overlap_days`` days (``min(end) - max(start)``, in days): their claim rows
    ``(a, b)``, ``a < b``, sorted by ``a`` then ``b``.

    A self-join of the stays on the patient (:func:`graphdetect.detectors._stays.stays`).
    """
    from ..detectors._stays import stays

    s = stays(graph)
    s = s[s["patient"].duplicated(keep=False)].reset_index(drop=True)
    if not len(s):
        return _pairs(np.zeros(0, np.int64), np.zeros(0, np.int64))
    s["i"] = np.arange(len(s))
    pairs = s.merge(s, on="patient", suffixes=("_a", "_b"))
    pairs = pairs[(pairs["i_a"] < pairs["i_b"])
                  & (pairs["institution_a"] != pairs["institution_b"])]
    overlap = np.minimum(pairs["end_a"], pairs["end_b"]) - np.maximum(pairs["start_a"],
                                                                       pairs["start_b"])
    pairs = pairs[overlap >= min_overlap_days]
    return _pairs(pairs["row_a"].to_numpy(), pairs["row_b"].to_numpy())


def readmissions(graph, *, max_gap_days: int, diagnosis_prefix: int,
                 same: str = "diagnosis") -> tuple[np.ndarray, np.ndarray]:
    """The readmissions: pairs of consecutive inpatient stays of one patient at one
    institution (in start, end, row order), the later admitted 0..``max_gap_days`` days
    after the earlier's discharge, with the same diagnosis (an ICD-10 code's first
    ``diagnosis_prefix`` characters when not 0), the same doctor (``same="doctor"``) or
    either (``"nothing"``); none matches a missing one. Their claim rows ``(earlier,
    later)``, sorted by the earlier.

    A lag over the stays by patient and institution
    (:func:`graphdetect.detectors._stays.stays_by_place`).
    """
    from ..detectors._stays import stays_by_place

    s = stays_by_place(graph)
    if len(s) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    row = s["row"].to_numpy().astype(np.int64)
    if same == "diagnosis":
        key = _diagnosis_keys(graph, s["diagnosis"].to_numpy(), diagnosis_prefix)
    elif same == "doctor":
        key = graph.codes("doctor")[row]
    else:
        key = np.zeros(len(row), np.int64)
    p, h = s["patient"].to_numpy(), s["institution"].to_numpy()
    start, end = s["start"].to_numpy(), s["end"].to_numpy()
    gap = start[1:] - end[:-1]
    link = (p[1:] == p[:-1]) & (h[1:] == h[:-1]) & (gap >= 0) & (gap <= max_gap_days) \
        & (key[1:] >= 0) & (key[1:] == key[:-1])
    earlier, later = row[:-1][link], row[1:][link]
    order = np.argsort(earlier, kind="stable")
    return earlier[order], later[order]


def _diagnosis_keys(graph, codes: np.ndarray, prefix: int) -> np.ndarray:
    """Per stay, a key equal for equal diagnoses (:func:`._stays.diagnosis_keys`: an
    ICD-10 code's first ``prefix`` characters when not 0), -1 where the diagnosis is
    missing."""
    from ..detectors._stays import diagnosis_keys

    if not prefix or "diagnosis_code" not in graph.claims:
        return codes
    cats = diagnosis_keys(graph.claims["diagnosis_code"].cat.categories, prefix)
    keys = np.unique(cats, return_inverse=True)[1] if len(cats) else np.zeros(0, int)
    return np.where(codes >= 0, keys[np.maximum(codes, 0)] if len(keys) else -1, -1)


def _pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of rows, each as (smaller, larger), sorted."""
    a, b = a.astype(np.int64), b.astype(np.int64)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    order = np.lexsort((hi, lo))
    return lo[order], hi[order]


class EmbeddedEngine:
    """The embedded engine as :func:`graphdetect.engines.open_engine` gives it."""

    name = "embedded"

    @staticmethod
    def read(data, **options) -> tuple[ClaimsData, dict]:
        return read_folder(data, **options)

    overlapping_stays = staticmethod(overlapping_stays)
    readmissions = staticmethod(readmissions)

    @staticmethod
    def components(n, a, b):
        from ..detectors._stays import components

        return components(n, a, b)

    @staticmethod
    def communities(batches, **params) -> list:
        from ..detectors._leiden import optimise_apart, optimise_batches

        # a child process costs a quarter of a second's start: worth it where leidenalg
        # would hold the GIL for longer (about 25 microseconds an edge)
        edges = sum(len(batch[0]) for batch in batches)
        return (optimise_apart if edges >= APART_EDGES else optimise_batches)(batches, **params)

    @staticmethod
    def lockstep_groups(graph, **params) -> list:
        from ..detectors._lockstep import find_groups

        return find_groups(graph, **params)
