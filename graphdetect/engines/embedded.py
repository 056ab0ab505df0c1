"""The embedded engine: every stage in this process.

Reading is :func:`graphdetect.io.read_folder` (pyarrow batches, checked with vectorised
kernels, a thread per table); the graph and the detectors are those of
:func:`graphdetect.run.detect_folder`, which this engine leaves where they are.
"""

from __future__ import annotations

from pathlib import Path

from ..io import DEFAULT_TIME_ZONE, ClaimsData
from ..io import read_folder as _read_folder

__all__ = ["read_folder"]


def read_folder(data: str | Path, *, since=None, until=None, progress: bool = False,
                time_zone: str = DEFAULT_TIME_ZONE) -> tuple[ClaimsData, dict]:
    """The data folder's typed tables and rejects (:func:`graphdetect.io.read_folder`);
    and what the run's summary records of the engine."""
    return (_read_folder(data, since=since, until=until, progress=progress,
                         time_zone=time_zone), {"engine": "embedded"})
