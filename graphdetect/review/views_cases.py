"""The queue of cases and the case page, each with its JSON twin."""

from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional

from ..cells import csv_bytes, shorten
from ..detectors import PATTERNS
from ..errors import GraphdetectError
from ..explain import pattern_name
from ..export._common import safe_name
from ..graph import KINDS
from ..statuses import status_word
from .across import (
    alert_labels,
    alert_settings,
    carried,
    case_alert,
    decided_in,
    runs_history,
    served_runs,
)
from .alerts import ALERT_KINDS, classify, key_of, snapshot, with_snapshot
from .app import _locale, audit, runs, store, view
from .inputs import LIMITS, MAX_PAGE, decision_fields, float_arg, int_arg
from .present import Presenter
from .roles import can_decide, can_export, is_blind
from .store import STATUSES, TRANSITIONS, WorkflowError
from .tokens import NodeTokens

bp = Blueprint("cases", __name__)

SORTS = {"score": lambda c: (-c["score"], c["case_id"]), "case_id": lambda c: c["case_id"],
         "pattern": lambda c: (c["pattern"], -c["score"]),
         "status": lambda c: (STATUSES.index(c["status"]), -c["score"]),
         "amount": lambda c: (-c["metrics"].get("total_amount", 0), c["case_id"])}


class DecisionForm(FlaskForm):
    """The decision form; its fields are checked by :func:`.inputs.decision_fields`, as
    the JSON route's are."""
    status = SelectField(_l("Status"), choices=[], validate_choice=False)
    assignee = SelectField(_l("Assignee"), choices=[], validate_choice=False)
    reason = StringField(_l("Reason"))
    body = TextAreaField(_l("Note"))
    suppress_until = DateField(_l("Suppress re-alerts until"), validators=[Optional()])


def status_labels() -> dict[str, str]:
    """Every status's word in the viewer's language (the PDF's words: one vocabulary)."""
    lang = _locale()
    return {s: status_word(s, lang) for s in STATUSES}


def pattern_labels() -> dict[str, str]:
    """Every pattern's name in the viewer's language, for filters and headings."""
    lang = _locale()
    return {name: pattern_name(name, lang) for name in sorted(PATTERNS)}


def presenter(case: dict) -> Presenter:
    """The case as the current user may see it (blind: serials, this session's tokens,
    the run's other ids and names hidden in free text)."""
    if not is_blind(current_user.role):
        return Presenter(case, blind=False, names=view().name)
    tokens = NodeTokens(current_app.config["SECRET_KEY"], session=current_user.get_id(),
                        case_id=case["case_id"])
    return Presenter(case, blind=True, names=view().name, tokens=tokens,
                     redactor=view().redactor)


def _get_case(case_id: str) -> dict:
    case = view().case(case_id)
    if case is None:
        abort(404, f"no case {shorten(case_id, 80)}")
    return case


def _queue_rows() -> tuple[list[dict], dict, dict, dict]:
    """The page of the queue asked for, the counts per status and per alert kind (over
    every case of the run), and the paging. Quiet cases are left out unless asked for
    (``show_quiet``, ``alert=quiet``, or any ``status``)."""
    v, args = view(), request.args
    min_score = float_arg("min_score", 0.0)
    page = int_arg("page", 1, lo=1, hi=MAX_PAGE)
    wanted = args.get("alert", "")
    if wanted and wanted not in ALERT_KINDS:
        abort(400, f"'alert' must be one of {', '.join(ALERT_KINDS)}; got {shorten(wanted, 40)!r}")
    states, lasts = store().states(), store().last_decisions()
    limits, today = alert_settings()
    blind = is_blind(current_user.role)
    rows = []
    for c in v.cases:  # blind viewers see no assignee, and cannot filter by one
        key = key_of(c, v.run_id)
        st = states.get(key, {"status": "new", "assignee": None})
        last = with_snapshot(lasts.get(key), served_runs())
        kind = classify(c, st, last, limits, today)[0]
        rows.append({**c, "case_key": key, "status": st["status"], "alert_kind": kind,
                     "assignee": None if blind else st["assignee"], "state": st, "last": last})
    counts = {s: sum(r["status"] == s for r in rows) for s in STATUSES}
    alerts = {k: sum(r["alert_kind"] == k for r in rows) for k in ALERT_KINDS}
    q = args.get("q", "").strip()
    if q and not blind:
        rows = [r for r in rows if v.matches(r, q) or q == r["case_key"]]
    for key in ("pattern", "status"):
        if args.get(key):
            rows = [r for r in rows if r[key] == args[key]]
    if wanted:
        rows = [r for r in rows if r["alert_kind"] == wanted]
    elif not (args.get("show_quiet") or args.get("status")):  # quiet cases wait unseen
        rows = [r for r in rows if r["alert_kind"] != "quiet"]
    if args.get("assignee") and not blind:
        rows = [r for r in rows if (r["assignee"] or "") == args["assignee"]]
    if args.get("institution") and not blind:
        rows = [r for r in rows if any(m["kind"] == "institution" and m["id"] ==
                                       args["institution"] for m in r["members"])]
    rows = [r for r in rows if r["score"] >= min_score]
    rows.sort(key=SORTS.get(args.get("sort", "score"), SORTS["score"]))
    total = len(rows)
    size = current_app.config["PAGE_SIZE"]
    pages = max(1, -(-total // size))
    page = min(page, pages)  # past the end: the last page
    paging = {"page": page, "size": size, "total": total, "pages": pages}
    return rows[(page - 1) * size: page * size], counts, alerts, paging


def _row_json(r: dict) -> dict:
    p = presenter(r)
    c = p.case()
    host = view().host(r)
    return {"case_id": r["case_id"], "case_key": r["case_key"], "pattern": r["pattern"],
            "score": r["score"], "status": r["status"], "decided_in": decided_in(r["last"]),
            "alert": case_alert(r, r["state"], r["last"], p), "assignee": r["assignee"],
            "rules": r["rules"],
            "institution": p.entity("institution", host) if host else None,
            "institution_name": None if p.blind or not host else view().name("institution", host),
            "period": view().period(r),
            "members": len(r["members"]), "claims": len(r["claim_ids"]),
            "total_amount": r["metrics"].get("total_amount"), "explanation": c["explanation"]}


@bp.route("/")
@login_required
def queue():
    rows, counts, alerts, paging = _queue_rows()
    return render_template("queue.html", rows=[_row_json(r) for r in rows], counts=counts,
                           alert_counts=alerts, paging=paging, args=request.args,
                           patterns=pattern_labels(), statuses=status_labels(),
                           alert_labels=alert_labels(),
                           users=[] if is_blind(current_user.role) else store().users())


@bp.route("/api/cases")
@login_required
def api_queue():
    rows, counts, alerts, paging = _queue_rows()
    return jsonify({"run_id": view().run_id, "counts": counts, "alert_counts": alerts,
                    "paging": paging, "cases": [_row_json(r) for r in rows]})


def _shown_note(note: dict, p: Presenter) -> dict:
    """A note as this viewer may read it: masked, cut, and without the snapshot's ids
    for blind viewers (who see no author but themselves, and no assignee)."""
    note = {**note, "reason": p.note(note["reason"], LIMITS["reason"]),
            "body": p.note(note["body"], LIMITS["body"])}
    if is_blind(current_user.role):
        note.update(author="—" if note["author"] != current_user.id else note["author"],
                    assignee=None, snapshot=None)
    return note


def _case_payload(case: dict) -> dict:
    key, st, last = carried(case)
    p = presenter(case)
    history = [_shown_note(h, p) for h in store().history(key)]
    return {**p.case(), "run_id": view().run_id, "case_key": key, "status": st["status"],
            "alert": case_alert(case, st, last, p), "decided_in": decided_in(last),
            "can_export": can_export(current_user.role, st["status"]),
            "assignee": None if is_blind(current_user.role) else st["assignee"],
            "history": history, "runs": runs_history(case, key),
            "next_statuses": list(TRANSITIONS[st["status"]])}


@bp.route("/cases/<case_id>")
@login_required
def case_page(case_id: str):
    case = _get_case(case_id)
    payload = _case_payload(case)
    form = DecisionForm()
    form.status.choices = [("", "—")] + [(s, status_word(s, _locale())) for s in
                                         payload["next_statuses"]]
    users = [] if is_blind(current_user.role) else [u for u in store().users() if u["enabled"]]
    form.assignee.choices = [("", "—")] + [(u["name"], u["name"]) for u in users]
    claims = presenter(case).claims(_claims_records(case))
    from .views_procedure import panel
    return render_template("case.html", case=payload, form=form, claims=claims,
                           patterns=pattern_labels(), statuses=status_labels(),
                           alert_labels=alert_labels(), procedure=panel(case))


@bp.route("/api/cases/<case_id>")
@login_required
def api_case(case_id: str):
    from .views_procedure import panel
    case = _get_case(case_id)
    procedure = panel(case)
    procedure["pharmacies"] = sorted(procedure.get("pharmacies", ()))
    return jsonify({**_case_payload(case), "procedure": procedure})


def _claims_records(case: dict) -> list[dict]:
    frame = view().claims(case["claim_ids"])
    out = []
    for rec in frame.astype(object).where(frame.notna(), None).to_dict("records"):
        out.append({k: (None if v is None else (round(v, 2) if isinstance(v, float) else str(v)))
                    for k, v in rec.items()})
    return out


@bp.route("/api/cases/<case_id>/claims")
@login_required
def api_claims(case_id: str):
    case = _get_case(case_id)
    return jsonify({"run_id": view().run_id, "case_id": case_id, **_timeline_facts(case),
                    "claims": presenter(case).claims(_claims_records(case))})


def _timeline_facts(case: dict) -> dict:
    """What the timeline draws besides the claims: the pattern and the detector's batches
    (``details.occasions``), by day and time of day only, so they name no entity."""
    batches = []
    for o in (case.get("details") or {}).get("occasions") or []:
        if isinstance(o, dict) and (o.get("first_day") or o.get("day")):
            batches.append({"first_day": str(o.get("first_day") or o["day"]),
                            "last_day": str(o.get("last_day") or o.get("day") or o["first_day"]),
                            "from": o.get("from"), "to": o.get("to")})
    return {"pattern": case["pattern"], "batches": batches}


@bp.route("/cases/<case_id>/claims.csv")
@login_required
def claims_csv(case_id: str):
    case = _get_case(case_id)
    rows = presenter(case).claims(_claims_records(case))
    header = list(rows[0]) if rows else ["claim_id"]
    body = csv_bytes(header, ([r.get(c) for c in header] for r in rows))
    audit("download claims", case_id, f"{len(rows)} claims")
    return Response(body, mimetype="text/csv; charset=utf-8", headers={
        "Content-Disposition": f"attachment; filename=claims-{safe_name(case_id)}.csv"})


@bp.route("/api/cases/<case_id>/network")
@login_required
def api_network(case_id: str):
    case = _get_case(case_id)
    return jsonify({"run_id": view().run_id, **presenter(case).elements(view().network(case))})


@bp.route("/api/cases/<case_id>/expand")
@login_required
def api_expand(case_id: str):
    """Neighbours of one node of the case network in the whole claims graph (hub-capped).

    A blind viewer names a node by a serial of this case or by a token this session
    got for this case; anything else, a real id included, is not found.
    """
    case = _get_case(case_id)
    shown = request.args.get("node", "")
    cap = int_arg("limit", current_app.config["MAX_EXPAND"], lo=1, hi=500)
    p = presenter(case)
    kind, _, rest = shown.partition(":")
    id = p.resolve(kind, rest) if kind in KINDS and rest else None
    if not id:
        abort(404, f"no node {shorten(shown, 80)}")
    try:
        G = _neighbourhood(kind, id, cap)
    except KeyError:
        abort(404, f"no node {shorten(shown, 80)}")
    except GraphdetectError as exc:  # the Neo4j source is down or refuses us
        abort(503, str(exc))
    out = p.elements(G)
    out["expanded"] = shown
    out["run_id"] = view().run_id
    return jsonify(out)


def _neighbourhood(kind: str, id: str, cap: int):
    if current_app.config["GRAPH_SOURCE"] == "neo4j":
        from ..neo4j import Neighbourhood
        return Neighbourhood.from_env().ego_network(kind, id, max_neighbors=cap)
    return view().expand(kind, id, max_neighbors=cap)


def _decide(case_id: str, data) -> dict:
    """Check a decision's fields (one validator for the form and the JSON route) and
    record it under the case key with its audit row, in one transaction; a status change
    keeps a snapshot of the case shown."""
    case = _get_case(case_id)
    v = view()
    fields = decision_fields(data, may_decide=can_decide(current_user.role),
                             today=alert_settings()[1])
    try:
        note = store().decide(key_of(case, v.run_id), run_id=v.run_id, case_id=case_id,
                              user=current_user.id, **fields,
                              snapshot=snapshot(case, v.run_id) if fields["status"] else None,
                              audit={"role": current_user.role, "ip": request.remote_addr or ""})
    except WorkflowError as exc:
        abort(409, str(exc))
    g.audited = True
    return _shown_note(note, presenter(case))


@bp.route("/cases/<case_id>/decision", methods=["POST"])
@login_required
def decision(case_id: str):
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400, "; ".join(f"{k}: {', '.join(v)}" for k, v in form.errors.items()))
    # The selects' "—" (an empty value) leaves the status and the assignee as they are.
    data = {k: None if k in ("status", "assignee", "suppress_until") and v == "" else v
            for k, v in request.form.items() if k != "csrf_token"}
    _decide(case_id, data)
    return redirect(url_for("cases.case_page", case_id=case_id) + "#history")


@bp.route("/cases/<case_id>/export", methods=["POST"])
@login_required
def export(case_id: str):
    """Build the case's evidence package and send its zip (the export audits itself).

    Packages go to ``EXPORT_DIR/<user>/``, the user name made a safe file name; the
    folders are the server user's alone (0700), as are the files (0600).
    """
    from ..export import ExportError, export_case, export_refusal, zip_path

    status = store().state(key_of(_get_case(case_id), view().run_id))["status"]
    refusal = export_refusal(current_user.id, current_user.role, case_id, status)
    if refusal:
        audit("export_denied", case_id, f"role {current_user.role}, status {status}")
        abort(403, refusal)
    out = Path(current_app.config.get("EXPORT_DIR") or Path(current_app.instance_path) / "exports")
    mine = out / safe_name(current_user.id)  # a user name is never a path
    for folder in (out, mine):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.chmod(0o700)
    try:
        folder = export_case(view().path, case_id, mine, db=store(), user=current_user.id,
                             data=view().data_folder, ip=request.remote_addr or "", runs=runs())
    except ExportError as exc:
        abort(409, str(exc))
    g.audited = True
    return send_file(zip_path(folder), as_attachment=True, download_name=zip_path(folder).name,
                     mimetype="application/zip")


@bp.route("/api/cases/<case_id>/decision", methods=["POST"])
@login_required
def api_decision(case_id: str):
    return jsonify(_decide(case_id, request.get_json(silent=True))), 201
