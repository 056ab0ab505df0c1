"""The Spark engine (``graphdetect detect --engine spark``): the read stage and the
detectors' relational steps on Spark.

Where the engine boundary lies today: reading and checking every row, repeated keys across
files and the window run on Spark (:mod:`.read`, its keys in :mod:`.keys`); the read stage
keeps the claims in Spark for the detectors' steps that run there — the overlapping stays
and the readmissions (:mod:`.stays`), and the lockstep groups behind card_pooling and
outpatient_gathering (:mod:`.lockstep`, places in buckets, each through the embedded
step); and the collusion ring's connected components (label propagation in DataFrame
rounds) and Leiden on its batches of components run there (:mod:`.communities`). The
graph, the groups' facts, the ring's occasions and pair graph and the other detectors
still run in the driver, on the typed tables the read stage collects. Needs
``pip install 'graphdetect[spark]'`` and Java 17 or later.

The data folder may be any path Spark reads: a local folder, or a URI listed by Hadoop
and read by the executors through ``pyarrow.fs`` (:mod:`.paths`). Spark's stages are shown
as progress bars (:mod:`.progress`); a failed job, a lost executor or a lost connection
to Spark is one :class:`~graphdetect.errors.EngineError` line, raised before anything is
written.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import numpy as np

from ...io import DEFAULT_TIME_ZONE, ClaimsData
from .progress import stage_progress
from .session import check_master, parse_conf, require, spark_session

__all__ = ["SparkEngine", "open_spark", "read_folder", "check_master", "parse_conf",
           "require", "spark_session"]


class SparkEngine:
    """The Spark engine on one session, as :func:`graphdetect.engines.open_engine` gives
    it: :meth:`read`, then the detectors' steps (:class:`graphdetect.engines.Steps`) on the
    claims it read."""

    name = "spark"

    def __init__(self, session):
        self.session = session
        self.claims = None  # the kept claims, numbered with their graph rows (persisted)
        self._rows = 0
        self._progress = False  # the read's: the steps show Spark's stages when it did

    def read(self, data: str | Path, *, since=None, until=None, progress: bool = False,
             time_zone: str = DEFAULT_TIME_ZONE) -> tuple[ClaimsData, dict]:
        """The data folder's typed tables and rejects, read on Spark; and what the run's
        summary records of the engine (``engine``, ``spark``: master and version), with
        the seconds of each step of the read (``timings``, :func:`.read.read`'s)."""
        from . import lockstep, stays
        from .read import read

        self.close()
        self._progress = progress
        keep = tuple(dict.fromkeys(stays.COLUMNS + lockstep.COLUMNS))
        data_out, self.claims, took = read(self.session, data, since=since, until=until,
                                           progress=progress, time_zone=time_zone, keep=keep)
        self._rows = len(data_out.claims)
        return data_out, {"engine": "spark",
                          "spark": {"master": self.session.sparkContext.master,
                                    "version": self.session.version},
                          "timings": took}

    def overlapping_stays(self, graph, *, min_overlap_days: int
                          ) -> tuple[np.ndarray, np.ndarray]:
        from .stays import overlapping_stays

        with self._step("spark overlapping stays"):
            return overlapping_stays(self._stays(graph), min_overlap_days=min_overlap_days)

    def readmissions(self, graph, *, max_gap_days: int, diagnosis_prefix: int,
                     same: str = "diagnosis") -> tuple[np.ndarray, np.ndarray]:
        from .stays import readmissions

        with self._step("spark readmissions"):
            return readmissions(self._stays(graph), max_gap_days=max_gap_days,
                                diagnosis_prefix=diagnosis_prefix, same=same)

    def lockstep_groups(self, graph, **params) -> list:
        from . import lockstep

        claims = self._claims(graph)
        with self._step("spark lockstep"):
            return lockstep.lockstep_groups(
                claims, graph, buckets=lockstep.bucket_count(self.session, self._rows),
                **params)

    def components(self, n, a, b):
        from .communities import components

        with self._step("spark components"):
            return components(self.session, n, a, b)

    def communities(self, batches, **params) -> list:
        from .communities import communities

        with self._step("spark communities"):
            return communities(self.session, batches, **params)

    @contextmanager
    def _step(self, name: str) -> Iterator[None]:
        """A detector's step on Spark: its stages shown as ``name`` when the read's were,
        a failed job as one line."""
        from .read import _job_errors

        with _job_errors(), stage_progress(self.session, self._progress, name):
            yield

    def _stays(self, graph):
        """The inpatient stays of the claims read, which ``graph`` must be made of."""
        from .stays import stay_frame

        return stay_frame(self._claims(graph))

    def _claims(self, graph):
        """The claims kept in Spark, which ``graph`` must be made of."""
        if self.claims is None or len(graph) != self._rows:
            raise RuntimeError("the Spark engine's steps need the graph of the claims it read")
        return self.claims

    def close(self) -> None:
        """Let go of the claims kept in Spark."""
        if self.claims is not None:
            with suppress(Exception):  # after a failed job the JVM may be gone
                self.claims.unpersist()
            self.claims = None


@contextmanager
def open_spark(master: str, conf: dict[str, str] | None = None) -> Iterator[SparkEngine]:
    """A :class:`SparkEngine` on a session on ``master`` (:func:`.session.spark_session`),
    its kept claims let go and its session stopped (if started here) when the block ends."""
    with spark_session(master, conf) as session:
        engine = SparkEngine(session)
        try:
            yield engine
        finally:
            engine.close()


def read_folder(data: str | Path, *, master: str, conf: dict[str, str] | None = None,
                since=None, until=None, progress: bool = False,
                time_zone: str = DEFAULT_TIME_ZONE) -> tuple[ClaimsData, dict]:
    """The data folder's typed tables and rejects, read on Spark; and what the run's
    summary records of the engine (``engine``, ``spark``: master and version)."""
    with open_spark(master, conf) as engine:
        return engine.read(data, since=since, until=until, progress=progress,
                           time_zone=time_zone)
