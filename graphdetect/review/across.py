"""What the case pages show of a case across runs: its key, the status it carries and
the decision that set it, its alert, and its history over the runs served."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app

from .alerts import (
    ALERT_KINDS,
    ALERT_LABELS,
    REALERT_DEFAULTS,
    alert,
    key_of,
    lineage_text,
    with_snapshot,
)
from .app import _locale, store, view
from .inputs import LIMITS
from .present import Presenter

__all__ = ["alert_settings", "served_runs", "case_alert", "decided_in", "alert_labels", "carried",
           "runs_history"]


def alert_settings() -> tuple[dict, date]:
    """The re-alert thresholds (app config, :data:`.alerts.REALERT_DEFAULTS`) and the
    bureau's today (``TIMEZONE``)."""
    limits = {k: current_app.config.get(k, d) for k, d in REALERT_DEFAULTS.items()}
    return limits, datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date()


def served_runs():
    """The runs served (:class:`graphdetect.runs.Runs`), or None for one run alone."""
    return current_app.extensions.get("runs")


def case_alert(case: dict, state: dict, last: dict | None, p: Presenter) -> dict:
    """The case's alert: the decision's day in the bureau's time zone, its reason as
    this viewer may read it."""
    if last:
        at = datetime.fromisoformat(last["created_at"])
        if at.tzinfo is not None:
            at = at.astimezone(ZoneInfo(current_app.config["TIMEZONE"]))
        last = {**last, "created_at": at.isoformat(),
                "reason": p.note(last.get("reason") or "", LIMITS["reason"])}
    return alert(case, state, last, *alert_settings())


def decided_in(last: dict | None) -> dict | None:
    """Where the status the case carries was set: run and case id (None: still new)."""
    return {"run_id": last["run_id"], "case_id": last["case_id"]} if last else None


def alert_labels() -> dict[str, str]:
    """Every alert kind's badge in the viewer's language."""
    at = 0 if _locale() == "zh" else 1
    return {k: ALERT_LABELS[k][at] for k in ALERT_KINDS}


def carried(case: dict) -> tuple[str, dict, dict | None]:
    """The case's key, the state it carries and the decision that set it (its snapshot
    filled in from its run for a note from before snapshots)."""
    key = key_of(case, view().run_id)
    return key, store().state(key), with_snapshot(store().last_decision(key), served_runs())


def runs_history(case: dict, key: str) -> list[dict]:
    """The case (key ``key``) across the runs served, oldest first, each row's change in
    words."""
    runs, run_id = served_runs(), view().run_id
    if runs is not None and any(r.run_id == run_id for r in runs):
        rows = runs.history(key)
    else:  # one run alone: its own row
        lin = case.get("lineage") or {"state": "new", "delta": None, "merged_from": [],
                                      "split_from": None}
        rows = [{"run_id": run_id, "case_id": case["case_id"], "score": case.get("score"),
                 "members": len(case["members"]), "claims": len(case["claim_ids"]),
                 "total_amount": case["metrics"].get("total_amount"), "state": lin["state"],
                 "delta": lin.get("delta"), "merged_from": lin.get("merged_from") or [],
                 "split_from": lin.get("split_from")}]
    return [{**r, "current": r["run_id"] == run_id, "change_zh": lineage_text(r, "zh"),
             "change_en": lineage_text(r, "en")} for r in rows]
