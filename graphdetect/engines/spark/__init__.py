"""The Spark engine (``graphdetect detect --engine spark``): the read stage on Spark.

Where the engine boundary lies today: reading and checking every row, repeated keys across
files and the window run on Spark (:mod:`.read`); the graph and the detectors still run in
the driver, on the typed tables the read stage collects. The next slices move the
detectors' relational steps (sessions and bursts, co-occurring pairs, connected components).
Needs ``pip install 'graphdetect[spark]'`` and Java 17 or later.
"""

from __future__ import annotations

from pathlib import Path

from ...io import DEFAULT_TIME_ZONE, ClaimsData
from .session import check_master, parse_conf, require, spark_session

__all__ = ["read_folder", "check_master", "parse_conf", "require", "spark_session"]


def read_folder(data: str | Path, *, master: str, conf: dict[str, str] | None = None,
         since=None, until=None, progress: bool = False,
         time_zone: str = DEFAULT_TIME_ZONE) -> tuple[ClaimsData, dict]:
    """The data folder's typed tables and rejects, read on Spark; and what the run's
    summary records of the engine (``engine``, ``spark``: master and version)."""
    from .read import read

    with spark_session(master, conf) as spark:
        data_out = read(spark, data, since=since, until=until, progress=progress,
                              time_zone=time_zone)
        about = {"engine": "spark",
                 "spark": {"master": spark.sparkContext.master, "version": spark.version}}
    return data_out, about
