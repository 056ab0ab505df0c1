"""The integrity ledger (医保诚信记分) in the review UI, read-only: a year's standing, one
entity's history over the years, and the points and tier an entity page shows.

For investigators and admins only: reviewers work blind and never see a real id. Points
are recorded and revoked with ``graphdetect ledger record|revoke``, never from here.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, jsonify, render_template, request

from ..cells import shorten
from ..errors import RunError
from ..explain import pattern_name, rule_label
from ..ledger import Ledger
from ..ledger.book import COLUMNS
from ..ledger.rules import Rules
from .app import _locale, ledger_rules, runs, store, view
from .auth import roles_required
from .inputs import int_arg

__all__ = ["bp", "entity_points", "this_year"]

bp = Blueprint("ledger", __name__)

#: Reviewers work blind and never see an entity outside a case.
OPEN_ROLES = ("investigator", "admin")
#: The ledger kinds an entity of the run's claims may score as (an institution scores as
#: a pharmacy when the bureau records it as one).
LEDGER_KINDS = {"institution": ("institution", "pharmacy"), "doctor": ("doctor",)}


def this_year() -> int:
    """The current year in the bureau's time zone (``TIMEZONE``)."""
    return datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).year


def _ledger() -> Ledger:
    return Ledger(store(), time_zone=current_app.config["TIMEZONE"])


def _tier(rules: Rules, kind: str, points: int) -> dict:
    """The tier ``points`` put a ``kind`` in: its index from 0 (as ``ledger show``
    gives it; pages show it from 1), span and sanctions."""
    t = rules.tier(kind, points)
    return {"tier": t["n"], "min": t["min"], "max": t["max"], "sanction_zh": t["zh"],
            "sanction_en": t["en"]}


def _in_run(kind: str, id: str) -> tuple[str | None, str | None]:
    """The kind the picked run's claims know the entity as (a pharmacy is an institution
    there), None when they do not name it, and its name from the side tables."""
    as_kind = "institution" if kind == "pharmacy" else kind
    if as_kind not in ("institution", "doctor"):
        return None, None
    try:
        known = id in view().graph.index(as_kind)
    except RunError:  # the run's data folder is gone: the ledger still shows
        return None, None
    return (as_kind, view().name(as_kind, id)) if known else (None, None)


def _case_in_run(case_key: str) -> str | None:
    """The id of the case holding ``case_key`` in the picked run, if it holds it."""
    case = runs().get(view().run_id).case(case_key)
    return case["case_id"] if case else None


def _rule_words(rule: str) -> str:
    """An entry's rule (a pattern's name or a rule category) in the viewer's language."""
    lang = _locale()
    named = pattern_name(rule, lang)
    return named if named != rule else rule_label(rule, lang)


def _standing() -> dict:
    rules, ledger = ledger_rules(), _ledger()
    kind = request.args.get("kind", "")
    if kind and kind not in rules.kinds:
        abort(400, f"'kind' must be one of {', '.join(rules.kinds)}; got {shorten(kind, 40)!r}")
    years = sorted({e["year"] for e in ledger.entries()}, reverse=True)
    now = this_year()
    year = int_arg("year", now if now in years or not years else years[0], lo=1, hi=9999)
    rows = []
    for r in ledger.standing(year, rules, kind or None):
        as_kind, name = _in_run(r["entity_kind"], r["entity_id"])
        t = rules.tiers[r["entity_kind"]][r["tier"]]
        rows.append({**r, "name": name, "run_kind": as_kind, "min": t["min"], "max": t["max"]})
    return {"year": year, "kind": kind or None, "years": years, "this_year": now,
            "rows": rows}


@bp.route("/ledger")
@roles_required(*OPEN_ROLES)
def ledger_page():
    return render_template("ledger.html", standing=_standing(), kinds=ledger_rules().kinds)


@bp.route("/api/ledger")
@roles_required(*OPEN_ROLES)
def api_ledger():
    s = _standing()
    return jsonify({"run_id": view().run_id, "year": s["year"], "kind": s["kind"],
                    "years": s["years"], "columns": [*COLUMNS, "name"],
                    "standing": [{c: r[c] for c in (*COLUMNS, "name")} for r in s["rows"]]})


def _history(kind: str, id: str) -> dict:
    """Every entry of one entity, newest year first, each year with its net points and
    tier; each entry with the case's id in the picked run, and who revoked it."""
    rules = ledger_rules()
    if kind not in rules.kinds:
        abort(404, f"no ledger kind {shorten(kind, 80)}")
    entries = [e for e in _ledger().entries(entity_id=id) if e["entity_kind"] == kind]
    revoked_by = {e["revokes"]: e["id"] for e in entries if e["revokes"] is not None}
    by_year: dict[int, list[dict]] = {}
    for e in entries:
        by_year.setdefault(e["year"], []).append(
            {**e, "revoked_by": revoked_by.get(e["id"]), "rule_words": _rule_words(e["rule"]),
             "case_in_run": _case_in_run(e["case_key"])})
    ledger = _ledger()

    def dates(year: int) -> dict:
        """When the year's sanction runs (:meth:`Ledger.standing`'s since and until)."""
        row = next((r for r in ledger.standing(year, rules, kind) if r["entity_id"] == id), {})
        return {"since": row.get("since", ""), "until": row.get("until", "")}

    years = [{"year": y, "points": (p := sum(e["points"] for e in by_year[y])),
              "entries": sum(e["revokes"] is None for e in by_year[y]),
              **_tier(rules, kind, p), **dates(y), "rows": by_year[y]}
             for y in sorted(by_year, reverse=True)]
    as_kind, name = _in_run(kind, id)
    return {"kind": kind, "id": id, "name": name, "run_kind": as_kind, "years": years}


@bp.route("/ledger/<kind>/<path:id>")
@roles_required(*OPEN_ROLES)
def entity_ledger(kind: str, id: str):
    return render_template("ledger_entity.html", history=_history(kind, id),
                           kinds=ledger_rules().kinds, severities=ledger_rules().severities)


@bp.route("/api/ledger/<kind>/<path:id>")
@roles_required(*OPEN_ROLES)
def api_entity_ledger(kind: str, id: str):
    h = _history(kind, id)
    years = [{**{k: v for k, v in y.items() if k != "rows"},
              "entries": [{k: v for k, v in e.items() if k != "rule_words"}
                          for e in y["rows"]]} for y in h["years"]]
    return jsonify({"run_id": view().run_id, **h, "years": years})


def entity_points(kind: str, id: str) -> list[dict]:
    """What an entity page shows of the ledger: per ledger kind the run's entity may
    score as, its points and tier this year (0 points, the lowest tier, when none). An
    institution's pharmacy line shows only when it has pharmacy entries."""
    rules, year = ledger_rules(), this_year()
    kinds = [k for k in LEDGER_KINDS.get(kind, ()) if k in rules.kinds]
    if not kinds:
        return []
    entries = [e for e in _ledger().entries(entity_id=id) if e["entity_kind"] in kinds]
    out = []
    for k in kinds:
        mine = [e for e in entries if e["entity_kind"] == k]
        if k != kinds[0] and not mine:
            continue
        points = sum(e["points"] for e in mine if e["year"] == year)
        out.append({"kind": k, "id": id, "year": year, "points": points,
                    "entries": sum(e["year"] == year and e["revokes"] is None for e in mine),
                    **_tier(rules, k, points)})
    return out
