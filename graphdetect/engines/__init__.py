"""Engines: what does the heavy relational work of a run, on one machine or on a cluster.

A run is the same product whichever engine runs it, and gives the same bytes
(``cases.jsonl``, ``entity_scores.csv``, ``rejects.csv``). An **engine provides the steps
whose work grows with the claims**: reading and checking every row of every file, finding
repeated claim ids across files, applying the window; and the detectors' relational steps
(:class:`Steps`): the stay detectors' — which inpatient stays overlap
(``concurrent_stay``), which are readmissions (``split_stay``) — and the lockstep
engine's groups (streams, bursts and the windows linked by shared cards, behind
``card_pooling`` and ``outpatient_gathering``), and the collusion ring's connected
components and community detection (Leiden, in batches of whole components). The ring's
occasions and its pair graph are still made in the driver.

**What stays shared**, whatever the engine: settings and their validation
(:mod:`graphdetect.settings`), the row rules and their rejects (:mod:`graphdetect.io`,
which the Spark engine runs inside its executors rather than re-implementing), the
detectors' thresholds and scoring, the ranking, case assembly (:mod:`graphdetect.cases`),
explanations, lineage and the run folder (:mod:`graphdetect.run`). A detector asks the
engine that runs its graph (:func:`engine_of`) for a step's rows, and does the rest itself.

- :mod:`graphdetect.engines.embedded` — everything in this process (pyarrow, numpy,
  pandas, threads); the default.
- :mod:`graphdetect.engines.spark` — the read stage, the stay detectors' steps and the
  lockstep groups on Spark (``--engine spark``); the graph, the groups' facts and the
  rest of the detectors still run in the driver on the typed tables the read stage
  collects.

Each engine's ``read`` returns a :class:`graphdetect.io.ClaimsData`, which the rest of
:func:`graphdetect.run.detect_folder` takes as it is.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

import numpy as np

from ..errors import ParameterError

__all__ = ["ENGINES", "DEFAULT_MASTER", "Steps", "open_engine", "read_folder", "attach",
           "engine_of"]

#: The engines ``graphdetect detect --engine`` accepts; the first is the default.
ENGINES = ("embedded", "spark")
#: Spark's master when none is given: every core of this machine.
DEFAULT_MASTER = "local[*]"


class Steps(Protocol):
    """The detectors' relational steps an engine provides. Each takes the graph the
    detector was given and returns claim rows of that graph, the same rows in the same
    order on every engine."""

    def overlapping_stays(self, graph, *, min_overlap_days: int
                          ) -> tuple[np.ndarray, np.ndarray]:
        """Pairs of one patient's inpatient stays at two institutions overlapping by at
        least ``min_overlap_days`` days: rows ``(a, b)``, ``a < b``, sorted."""

    def readmissions(self, graph, *, max_gap_days: int, diagnosis_prefix: int,
                     same: str = "diagnosis") -> tuple[np.ndarray, np.ndarray]:
        """Consecutive stays of one patient at one institution, readmitted within
        ``max_gap_days`` days, both with the same diagnosis (``same="diagnosis"``), the
        same doctor (``"doctor"``) or either (``"nothing"``): rows ``(earlier, later)``,
        sorted by the earlier."""

    def lockstep_groups(self, graph, *, density: float, min_run_cards: int, min_runs: int,
                        min_overlap: float, min_cards: int) -> list:
        """The lockstep engine's groups (streams, their dense windows, windows linked by
        the cards they share): :class:`graphdetect.detectors._lockstep.Group` objects,
        sorted by place then first row, without their facts."""

    def components(self, n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The connected component of each of ``n`` nodes linked by the pairs
        ``(a[k], b[k])``, numbered in order of each component's lowest node (as
        scipy's ``connected_components`` numbers them)."""

    def communities(self, batches: list[tuple], *, resolution: float, seed: int,
                    iterations: int) -> list[np.ndarray]:
        """Leiden's membership of each batch of whole connected components of a pair
        graph (:func:`graphdetect.detectors._leiden.optimise_batches`): a batch is
        ``(edges, weights, node_sizes)``, its nodes numbered from 0."""


@contextmanager
def open_engine(engine: str = "embedded", *, master: str = DEFAULT_MASTER,
                conf: dict[str, str] | None = None) -> Iterator:
    """The engine a run uses, open for the run: ``read(data, **options)`` and the
    :class:`Steps`. Spark's session lives until the block ends, however it ends.

    Raises
    ------
    ParameterError
        When ``engine`` is not one of :data:`ENGINES`.
    EngineError
        When the Spark engine cannot run (PySpark or Java missing, a bad master URL).
    """
    if engine == "embedded":
        from .embedded import EmbeddedEngine
        yield EmbeddedEngine()
    elif engine == "spark":
        from .spark import open_spark
        with open_spark(master, conf) as spark:
            yield spark
    else:
        raise ParameterError("engine", "detect_folder", f"one of {', '.join(ENGINES)}",
                             engine)


def read_folder(data, *, engine: str = "embedded", master: str = DEFAULT_MASTER,
                conf: dict[str, str] | None = None, **options) -> tuple:
    """Read a data folder on ``engine``: its :class:`~graphdetect.io.ClaimsData` and what
    the run's summary records of the engine (``{"engine": "embedded"}``, or for Spark also
    ``"spark": {"master": ..., "version": ...}`` and ``"timings"``, the seconds of each
    step of its read, which a run adds to its own as ``read.<step>``). ``options``:
    ``since``, ``until``, ``progress``, ``time_zone`` (:func:`graphdetect.io.read_folder`).

    Raises
    ------
    ParameterError
        When ``engine`` is not one of :data:`ENGINES`.
    EngineError
        When the Spark engine cannot run (PySpark or Java missing, a bad master URL, a
        failed job).
    """
    with open_engine(engine, master=master, conf=conf) as running:
        return running.read(data, **options)


_ENGINE_OF: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


@contextmanager
def attach(graph, engine: Steps) -> Iterator[None]:
    """Have ``engine`` provide the steps of the detectors run on ``graph`` in this block."""
    with _LOCK:
        _ENGINE_OF[graph] = engine
    try:
        yield
    finally:
        with _LOCK:
            _ENGINE_OF.pop(graph, None)


def engine_of(graph) -> Steps:
    """The engine that provides the steps of the detectors run on ``graph``: the one
    :func:`attach` gave it, else the embedded engine (a graph made by hand, a test's)."""
    with _LOCK:
        engine = _ENGINE_OF.get(graph)
    if engine is None:
        from .embedded import EmbeddedEngine
        engine = EmbeddedEngine()
    return engine
