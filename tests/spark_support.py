"""What the Spark tests share: the master they run on, the sample, the outputs that must be
the same bytes on both engines, and the rule that they skip on a bare machine without
PySpark or Java and FAIL when CI=true (``make test`` installs both). The ``spark``
fixture (one local[2] session for the whole test run: a JVM takes seconds to start) is in
conftest.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from graphdetect.engines.spark.session import require
from graphdetect.errors import EngineError

SAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "sample"
SAME = ("cases.jsonl", "entity_scores.csv", "rejects.csv")
MASTER = "local[2]"


def missing() -> str | None:
    """What this machine lacks to run Spark, or None."""
    try:
        require()
    except EngineError as exc:
        return str(exc)
    return None


def need_spark() -> None:
    """Called at a test module's top: skip it without Spark, or fail when CI=true."""
    lack = missing()
    if lack:
        if os.environ.get("CI") == "true":
            raise RuntimeError(f"{lack} (make test installs PySpark and Java)")
        pytest.skip(lack, allow_module_level=True)


def same_outputs(a: Path, b: Path, names=SAME) -> None:
    """The run folders ``a`` and ``b`` hold the same bytes in each of ``names``."""
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
