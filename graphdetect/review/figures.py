"""Team figures for the admin: per pattern and month, cases raised and how they ended.

Each case (a ``case_key``) is counted once, in its *cohort*: the month of the data end
(``summary.claims.last_day``) of the first served run that holds it. Its outcome is the
latest confirmation or dismissal recorded on its key (a referred case was confirmed
first); the days to decision run from that data end day to the date of the first
confirmation or dismissal, in the bureau's time zone.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

__all__ = ["team_figures", "DECIDED"]

#: The statuses that decide a case.
DECIDED = ("confirmed", "dismissed")


def team_figures(runs, decisions: Iterable[dict], *, re_alerted: set[str] | None = None,
                 timezone: str = "Asia/Shanghai") -> dict:
    """Cases raised, confirmed, dismissed and re-alerted, per pattern and cohort month.

    Parameters
    ----------
    runs : graphdetect.runs.Runs
        The runs served, oldest to newest.
    decisions : iterable of dict
        Status changes on case keys (``case_key``, ``status_to``, ``created_at``: an ISO
        time), as ``ReviewStore.decisions()`` gives them.
    re_alerted : set of str, optional
        The keys of the newest run's cases that came back after a dismissal; ``None``
        when unknown (the column is then ``None`` throughout).
    timezone : str
        The bureau's time zone, for the day of a decision.

    Returns
    -------
    dict
        ``months``: one row per pattern and month with ``raised``, ``confirmed``,
        ``dismissed``, ``re_alerted`` and ``median_days_to_decision``; ``patterns``: the
        same over all months, with ``confirmation_rate`` (confirmed / (confirmed +
        dismissed), ``None`` before any decision); ``unplaced``: decided keys that no
        served run holds.

    Examples
    --------
    >>> class R:  # the two attributes of a Run that count here
    ...     def __init__(self, day, cases): self.last_day, self.cases = day, cases
    >>> new = {"state": "new"}
    >>> runs = [R("2024-01-31", [{"case_key": "k1", "pattern": "p", "lineage": new}])]
    >>> out = team_figures(runs, [{"case_key": "k1", "status_to": "dismissed",
    ...                            "created_at": "2024-02-10T02:00:00+00:00"}])
    >>> out["patterns"][0]["dismissed"], out["patterns"][0]["median_days_to_decision"]
    (1, 10.0)
    """
    zone = ZoneInfo(timezone)
    cohort: dict[str, tuple[str, str, str]] = {}  # key -> (pattern, month, data end day)
    raised: set[str] = set()
    for run in runs:
        for case in run.cases:
            key = case["case_key"]
            if key not in cohort:
                cohort[key] = (case["pattern"], run.last_day[:7] or "—", run.last_day)
                if case["lineage"]["state"] == "new":
                    raised.add(key)
    first_at: dict[str, str] = {}
    outcome: dict[str, str] = {}
    unplaced: set[str] = set()
    changes = (d for d in decisions
               if d["status_to"] in DECIDED and d.get("status_from") != d["status_to"])
    for d in sorted(changes, key=lambda d: d["created_at"]):
        key = d["case_key"]
        if key not in cohort:
            unplaced.add(key)
            continue
        first_at.setdefault(key, d["created_at"])
        outcome[key] = d["status_to"]

    def days(key: str) -> int | None:
        end = cohort[key][2]
        if key not in first_at or not end:
            return None
        decided = datetime.fromisoformat(first_at[key]).astimezone(zone).date()
        return (decided - date.fromisoformat(end)).days

    cells: dict[tuple[str, str], list[str]] = defaultdict(list)
    for key, (pattern, month, _) in cohort.items():
        cells[(pattern, month)].append(key)
    months = [_row({"pattern": p, "month": m}, keys, raised, outcome, re_alerted, days)
              for (p, m), keys in sorted(cells.items(), key=lambda kv: kv[0][::-1])]
    months = [r for r in months if r["raised"] or r["confirmed"] or r["dismissed"]
              or r["re_alerted"]]
    by_pattern: dict[str, list[str]] = defaultdict(list)
    for key, (pattern, _, _) in cohort.items():
        by_pattern[pattern].append(key)
    patterns = []
    for p, keys in sorted(by_pattern.items()):
        row = _row({"pattern": p}, keys, raised, outcome, re_alerted, days)
        decided = row["confirmed"] + row["dismissed"]
        row["confirmation_rate"] = round(row["confirmed"] / decided, 3) if decided else None
        patterns.append(row)
    return {"months": months, "patterns": patterns, "unplaced": len(unplaced)}


def _row(head: dict, keys: list[str], raised: set[str], outcome: dict[str, str],
         re_alerted: set[str] | None, days) -> dict:
    waited = [n for n in map(days, keys) if n is not None]
    return {**head, "raised": sum(k in raised for k in keys),
            "confirmed": sum(outcome.get(k) == "confirmed" for k in keys),
            "dismissed": sum(outcome.get(k) == "dismissed" for k in keys),
            "re_alerted": None if re_alerted is None else sum(k in re_alerted for k in keys),
            "median_days_to_decision": float(statistics.median(waited)) if waited else None}
