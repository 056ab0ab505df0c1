"""The small generated city the generator tests look at (fixtures in conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

SMALL = {"patients": 2000, "seed": 11, "days": 120}
TABLES = ("claims", "patients", "institutions", "doctors")


def read_table(folder: Path, name: str) -> pd.DataFrame:
    """A generated CSV table as strings, empty cells as ""."""
    return pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)


#: Parameters the period or the world may cap below their drawn value.
CAPPED = {"occasions", "nights", "weeks", "per_week", "days", "sites"}


def gaps(rows: pd.DataFrame) -> pd.Series:
    """Seconds between consecutive claims of one day (``rows`` has a ``start`` column)."""
    r = rows.sort_values("start")
    return r.groupby(r.start.dt.date).start.diff().dropna().dt.total_seconds()


def variant_figures(data: Path, run: Path, variants) -> tuple[dict, int]:
    """Detect ``data`` into ``run`` and score it: per variant of ``variants``, (groups,
    found, cases, cases right), and the look-alikes flagged."""
    from graphdetect.evaluate import evaluate
    from graphdetect.run import detect_folder

    detect_folder(data, run)
    report = evaluate(data, run)
    return ({v: (x["truth"], x["found"], x["cases"], x["cases_right"])
             for v, x in report["variants"].items() if v in variants},
            report["lookalikes"]["flagged"])


def assert_no_worse(figures: dict, baseline: dict) -> None:
    """Every case of ``figures`` (:func:`variant_figures`) is right, and each variant's
    groups are found at least as often as in ``baseline``."""
    for variant, (_, found, cases, right) in figures.items():
        assert cases == right, (variant, figures)
        assert found >= baseline[variant][1], (variant, figures, baseline)
