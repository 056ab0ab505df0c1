"""Engines: what does the heavy relational work of a run, on one machine or on a cluster.

A run is the same product whichever engine runs it, and gives the same bytes
(``cases.jsonl``, ``entity_scores.csv``, ``rejects.csv``). An **engine provides the steps
whose work grows with the claims**: reading and checking every row of every file, finding
repeated claim ids across files, applying the window, and (in the slices still to come)
the relational steps of the detectors — stays and bursts, co-occurring pairs, connected
components.

**What stays shared**, whatever the engine: settings and their validation
(:mod:`graphdetect.settings`), the row rules and their rejects (:mod:`graphdetect.io`,
which the Spark engine runs inside its executors rather than re-implementing), the
detectors' thresholds and scoring, the ranking, case assembly (:mod:`graphdetect.cases`),
explanations, lineage and the run folder (:mod:`graphdetect.run`).

- :mod:`graphdetect.engines.embedded` — everything in this process (pyarrow, numpy,
  threads); the default.
- :mod:`graphdetect.engines.spark` — the read stage on Spark (``--engine spark``); the graph
  and the detectors still run in the driver on the typed tables it collects.

Each engine's ``read`` returns a :class:`graphdetect.io.ClaimsData`, which the rest of
:func:`graphdetect.run.detect_folder` takes as it is.
"""

from __future__ import annotations

from ..errors import ParameterError

__all__ = ["ENGINES", "DEFAULT_MASTER", "read_folder"]

#: The engines ``graphdetect detect --engine`` accepts; the first is the default.
ENGINES = ("embedded", "spark")
#: Spark's master when none is given: every core of this machine.
DEFAULT_MASTER = "local[*]"


def read_folder(data, *, engine: str = "embedded", master: str = DEFAULT_MASTER,
                conf: dict[str, str] | None = None, **options) -> tuple:
    """Read a data folder on ``engine``: its :class:`~graphdetect.io.ClaimsData` and what
    the run's summary records of the engine (``{"engine": "embedded"}``, or for Spark also
    ``"spark": {"master": ..., "version": ...}``). ``options``: ``since``, ``until``,
    ``progress``, ``time_zone`` (:func:`graphdetect.io.read_folder`).

    Raises
    ------
    ParameterError
        When ``engine`` is not one of :data:`ENGINES`.
    EngineError
        When the Spark engine cannot run (PySpark or Java missing, a bad master URL, a
        failed job).
    """
    if engine == "embedded":
        from .embedded import read_folder as read
        return read(data, **options)
    if engine == "spark":
        from .spark import read_folder as read
        return read(data, master=master, conf=conf, **options)
    raise ParameterError("engine", "detect_folder", f"one of {', '.join(ENGINES)}", engine)
