"""Monthly runs for the tests that look across runs (lineage, review UI, evidence history).

One generated city is cut into three *cumulative* data folders (the claims of the first
40 days, the first 80, all 120; the same side tables), and each is detected with
``previous`` the one before: run1 <- run2 <- run3. Made once per session.

Use the fixtures in a test module by naming them there (``monthly_runs =
lineage_support.monthly_runs``): an imported name used as an argument reads to ruff as
redefined (F811).
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

#: The generated city: people, seed, days; and the cut-off days of the three months.
CITY = {"patients": 4000, "seed": 23, "days": 120}
MONTH_DAYS = (40, 80, 120)
START = "2024-01-01"


def ring(case_id: str, people, *, pattern: str = "collusion_ring", claims=None,
         amount: float = 100.0, host: str = "H1") -> dict:
    """A hand-made case: ``people`` are patient ids, one institution hosts them.

    >>> ring("R-0001", "ab")["members"][1]
    {'kind': 'patient', 'id': 'a', 'role': 'member'}
    """
    return {"case_id": case_id, "pattern": pattern, "score": 0.9,
            "members": [{"kind": "institution", "id": host, "role": "host"}]
            + [{"kind": "patient", "id": p, "role": "member"} for p in people],
            "claim_ids": sorted(claims if claims is not None else [f"C-{p}" for p in people]),
            "metrics": {"total_amount": amount}}


def cut_month(source: Path, out: Path, days: int) -> Path:
    """A data folder holding the claims of ``source`` that start in its first ``days`` days."""
    from datetime import date, timedelta

    last = (date.fromisoformat(START) + timedelta(days=days)).isoformat()
    out.mkdir(parents=True, exist_ok=True)
    for table in source.glob("*.csv"):
        if table.name != "claims.csv":
            shutil.copyfile(table, out / table.name)
    with open(source / "claims.csv", encoding="utf-8", newline="") as f, \
            open(out / "claims.csv", "w", encoding="utf-8", newline="") as g:
        rows = csv.reader(f)
        header = next(rows)
        start = header.index("start_time")
        w = csv.writer(g, lineterminator="\n")
        w.writerow(header)
        w.writerows(r for r in rows if r[start][:10] < last)
    return out


@pytest.fixture(scope="session")
def monthly_data(tmp_path_factory) -> list[Path]:
    """Three cumulative data folders: the first 40, 80 and 120 days of one city."""
    from graphdetect.synth import generate

    root = tmp_path_factory.mktemp("monthly")
    city = root / "city"
    generate(city, start=START, **CITY)
    return [cut_month(city, root / f"month{n}", days) for n, days in enumerate(MONTH_DAYS, 1)]


@pytest.fixture(scope="session")
def monthly_runs(monthly_data, tmp_path_factory) -> list[Path]:
    """run1, run2 (previous run1), run3 (previous run2), in one folder of runs."""
    from graphdetect.run import detect_folder

    root = tmp_path_factory.mktemp("monthly_runs")
    runs, previous = [], None
    for n, data in enumerate(monthly_data, 1):
        run = root / f"run{n}"
        detect_folder(data, run, previous=previous)
        runs.append(run)
        previous = run
    return runs
