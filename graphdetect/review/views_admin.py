"""For admins: the audit log (browse, filter, download) and the team figures."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from ..cells import csv_bytes
from .alerts import REALERT_DEFAULTS, re_alerted_keys
from .app import audit, runs, store
from .auth import roles_required
from .figures import team_figures
from .inputs import MAX_PAGE, int_arg

bp = Blueprint("admin", __name__)
COLUMNS = ["id", "at", "user", "role", "action", "target", "detail", "ip"]


def _page() -> tuple[list[dict], int, dict]:
    page = int_arg("page", 1, lo=1, hi=MAX_PAGE)  # past the end: an empty page
    size = 100
    rows, total = store().audit_log(limit=size, offset=(page - 1) * size,
                                    user=request.args.get("user") or None,
                                    action=request.args.get("action") or None)
    return rows, total, {"page": page, "size": size, "total": total,
                         "pages": max(1, -(-total // size))}


@bp.route("/admin/audit")
@roles_required("admin")
def audit_page():
    rows, total, paging = _page()
    return render_template("audit.html", rows=rows, paging=paging, args=request.args)


@bp.route("/api/admin/audit")
@roles_required("admin")
def api_audit():
    rows, total, paging = _page()
    return jsonify({"paging": paging, "audit": rows})


@bp.route("/admin/audit.csv")
@roles_required("admin")
def audit_csv():
    rows, total = store().audit_log(limit=10**9, user=request.args.get("user") or None,
                                    action=request.args.get("action") or None)
    body = csv_bytes(COLUMNS, ([r[c] for c in COLUMNS] for r in rows))
    audit("download audit", "", f"{total} rows")
    return Response(body, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=audit.csv"})


def _figures() -> dict:
    """The team figures over the runs served (:func:`.figures.team_figures`)."""
    served, config = runs(), current_app.config
    today = datetime.now(ZoneInfo(config["TIMEZONE"])).date()
    limits = {k: config[k] for k in REALERT_DEFAULTS if k in config}
    re_alerted = re_alerted_keys(served, store(), limits=limits, today=today)
    out = team_figures(served, store().decisions(), re_alerted=re_alerted,
                       timezone=config["TIMEZONE"])
    return {"run_id": served.newest.run_id, "runs": [r.run_id for r in served], **out}


@bp.route("/admin/figures")
@roles_required("admin")
def figures_page():
    from .views_cases import pattern_labels
    return render_template("figures.html", figures=_figures(), patterns=pattern_labels())


@bp.route("/api/admin/figures")
@roles_required("admin")
def api_figures():
    return jsonify(_figures())
