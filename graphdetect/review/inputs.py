"""What a request may send: decision fields, page numbers, limits, scores.

Every check refuses with ``abort(400, message)``, which the app answers in its one error
shape (``{"error": {"status", "title", "message"}}`` for JSON), never with a 500. The
form route and the JSON route of a decision share :func:`decision_fields`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date

from flask import abort, request

from ..cells import shorten
from .store import STATUSES

__all__ = ["DECISION_FIELDS", "LIMITS", "MAX_PAGE", "decision_fields", "int_arg", "float_arg"]

#: What a decision may carry.
DECISION_FIELDS = ("status", "assignee", "reason", "body", "suppress_until")
#: The most characters of each text field (a user name has at most 32, see accounts).
LIMITS = {"reason": 500, "body": 5000, "assignee": 64}
#: The most pages a listing is paged to (SQLite offsets and slices stay small).
MAX_PAGE = 10**6
_JSON_TYPES = {bool: "a boolean", int: "a number", float: "a number", dict: "an object",
               list: "an array"}
_INTEGER = re.compile(r"[+-]?[0-9]{1,40}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def decision_fields(data, *, may_decide: bool, today: date | None = None) -> dict:
    """The fields of one decision, checked: a mapping of :data:`DECISION_FIELDS` only,
    each a string (or null), within :data:`LIMITS`; ``status`` one of the statuses;
    ``suppress_until`` an ISO date after ``today``, and only with a dismissal.

    A role that may not decide may send a note (``reason``, ``body``) and nothing else:
    a ``status``, ``assignee`` or ``suppress_until`` key, whatever its value, is refused
    with 403.

    Returns ``{"status": str | None, "assignee": str | None, "reason": str, "body": str,
    "suppress_until": str | None}`` (``status`` None: unchanged; ``assignee`` None:
    unchanged, ``""``: nobody; ``suppress_until`` None: no suppression).
    """
    if not isinstance(data, Mapping):
        abort(400, "send a JSON object with any of: " + ", ".join(DECISION_FIELDS))
    unknown = sorted(str(k) for k in data if k not in DECISION_FIELDS)
    if unknown:
        abort(400, f"a decision takes {', '.join(DECISION_FIELDS)}; got "
                   f"{', '.join(repr(shorten(k, 40)) for k in unknown[:5])}")
    for key, value in data.items():
        if value is not None and not isinstance(value, str):
            kind = _JSON_TYPES.get(type(value), type(value).__name__)
            abort(400, f"'{key}' must be a string; got {kind}")
    if not may_decide and {"status", "assignee", "suppress_until"} & set(data):
        abort(403, "your role may add notes but not change status or assignee")
    for key, limit in LIMITS.items():
        if len(data.get(key) or "") > limit:
            abort(400, f"'{key}' must be at most {limit} characters; got {len(data[key])}")
    status = data.get("status") or None
    if status is not None and status not in STATUSES:
        abort(400, f"'status' must be one of {', '.join(STATUSES)}; got {shorten(status, 40)!r}")
    return {"status": status, "assignee": data.get("assignee"),
            "reason": data.get("reason") or "", "body": data.get("body") or "",
            "suppress_until": _suppression(data.get("suppress_until") or None, status, today)}


def _suppression(raw: str | None, status: str | None, today: date | None) -> str | None:
    """``suppress_until`` checked: a real ISO date after ``today``, with a dismissal."""
    if raw is None:
        return None
    try:
        until = date.fromisoformat(raw) if _DATE.fullmatch(raw) else None
    except ValueError:
        until = None
    if until is None:
        abort(400, f"'suppress_until' must be a date (YYYY-MM-DD); got {shorten(raw, 40)!r}")
    if status != "dismissed":
        abort(400, "'suppress_until' comes only with a dismissal ('status': 'dismissed')")
    if today is not None and until <= today:
        abort(400, f"'suppress_until' must be a date after today ({today}); got {raw}")
    return until.isoformat()


def int_arg(name: str, default: int, *, lo: int, hi: int) -> int:
    """The whole number in query argument ``name``: below ``lo`` or not a whole number
    is refused, above ``hi`` is taken as ``hi`` (SQLite and slices need bounded ints)."""
    raw = request.args.get(name, "")
    if raw == "":
        return default
    if not _INTEGER.fullmatch(raw):
        abort(400, f"'{name}' must be a whole number; got {shorten(raw, 40)!r}")
    value = int(raw)
    if value < lo:
        abort(400, f"'{name}' must be a whole number >= {lo}; got {value}")
    return min(value, hi)


def float_arg(name: str, default: float) -> float:
    """The finite number in query argument ``name`` (``nan`` and ``inf`` are refused)."""
    raw = request.args.get(name, "").strip()
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        abort(400, f"'{name}' must be a finite number; got {shorten(raw, 40)!r}")
    return value
