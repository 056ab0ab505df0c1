"""The review procedure on the case page: committees and their blind votes, random
assignment with recusal, the ledger's points for a confirmed case, appeals; and each
user's declared affiliations.

Every form posts with its CSRF token (Flask-WTF checks every POST), every step writes its
own audit row (in the procedure's transaction), and a step the procedure refuses answers
409 with its reason in the user's language (one error handler for the blueprint).
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..errors import LedgerError
from ..ledger import Ledger
from ..ledger.appeals import MAX_ATTACHMENT, Appeals
from ..ledger.book import SCORED_STATUSES
from .app import _error, _locale, ledger_rules, store, view
from .auth import roles_required
from .committee import CHOICES, Committees
from .draw import Draws, institutions_of
from .roles import is_blind
from .views_cases import _get_case, key_of, presenter

__all__ = ["bp", "panel"]

bp = Blueprint("procedure", __name__)

#: The most characters kept of an appeal's text and of a vote's or decision's reason.
TEXT_LIMIT, REASON_LIMIT = 20_000, 2_000


@bp.app_context_processor
def awaiting_votes() -> dict:
    """Every page tells a reviewer which committees wait for their vote, in the picked
    run (a case of another run is reached by picking that run)."""
    if not current_user.is_authenticated or current_user.role != "reviewer":
        return {}
    waiting = Committees(store()).awaiting(current_user.id)
    if not waiting:
        return {}
    run = view()
    here = {key_of(c, run.run_id): c["case_id"] for c in run.cases}
    return {"awaiting_votes": [{**c, "case_id": here[c["case_key"]]} for c in waiting
                               if c["case_key"] in here]}


def _who() -> dict:
    return {"role": current_user.role, "ip": request.remote_addr or ""}


@bp.errorhandler(LedgerError)
def _refused(exc: LedgerError):
    """A step the procedure refuses (a ProcedureError, or the ledger's): 409 with its
    reason in the user's language."""
    return _error(409, exc.text(_locale()))


def _back(case_id: str):
    g.audited = True  # the procedure wrote its own audit row
    return redirect(url_for("cases.case_page", case_id=case_id) + "#procedure")


def _text(name: str, limit: int) -> str:
    value = request.form.get(name, "")
    if len(value) > limit:
        abort(400, f"{name}: at most {limit} characters")
    return value


def _pharmacies(case: dict) -> set[str]:
    """The case's institutions that the run's side table says are pharmacies."""
    graph = view().graph
    kinds = graph.attribute("institution", "kind")
    if kinds is None:
        return set()
    return {i for i in institutions_of(case) if kinds[graph.code_of("institution", i)]
            == "pharmacy"}


def _lang(words: dict) -> str:
    """The key of ``words`` (``zh``/``en``) in the UI's language."""
    return "zh" if _locale() == "zh" else "en"


def panel(case: dict) -> dict:
    """What the case page's procedure section shows this viewer."""
    key = key_of(case, view().run_id)
    me, role = current_user.id, current_user.role
    blind = is_blind(role)
    p = presenter(case)
    committees = []
    for c in Committees(store()).of_case(key):
        if blind and me not in c["members"]:
            continue  # a reviewer sees only the committees they sit on
        shown = Committees.shown(c, me)
        if blind:  # members are anonymous to one another
            alias = {m: (m if m == me else f"#{n}") for n, m in enumerate(c["members"], 1)}
            shown = {**shown, "members": [alias[m] for m in c["members"]],
                     "voted": [alias[m] for m in shown["voted"]],
                     "votes": [{**v, "member": alias[v["member"]],
                                "reason": p.note(v["reason"], REASON_LIMIT)}
                               for v in shown["votes"]],
                     "opened_by": "—"}
        shown["may_vote"] = c["outcome"] is None and me in c["members"] and \
            all(v["member"] != me for v in c["votes"])
        shown["choices"] = CHOICES[c["subject"]]
        committees.append(shown)
    state = store().state(key)
    out = {"committees": committees, "blind": blind, "status": state["status"],
           "choices": CHOICES, "max_attachment_mib": MAX_ATTACHMENT // 2**20}
    if blind:
        appeals = [a for a in Appeals(store()).of_case(key)
                   if any(c["appeal_id"] == a["id"] for c in committees)]
        out["appeals"] = [{**a, "appellant": p.entity("institution", a["appellant"]),
                           "filed_by": "—", "files": [],
                           "text": p.note(a["text"], TEXT_LIMIT),
                           "outcome": a["outcome"] and {
                               **a["outcome"], "reason": p.note(a["outcome"]["reason"],
                                                                REASON_LIMIT)}}
                          for a in appeals]
        return out
    rules = ledger_rules()
    out.update(
        appeals=Appeals(store()).of_case(key),
        entries=Ledger(store()).entries(case_key=key),
        institutions=institutions_of(case),
        reviewers=[u["name"] for u in store().users()
                   if u["role"] == "reviewer" and u["enabled"]] if role == "admin" else [],
        affiliated=Draws(store()).affiliations() if role == "admin" else {},
        severities=[(k, v[_lang(v)]) for k, v in rules.severities.items()],
        severity_words={k: v[_lang(v)] for k, v in rules.severities.items()},
        kinds={k: v[_lang(v)] for k, v in rules.kinds.items()},
        committee_size=rules.procedure["committee_size"],
        committee_required=rules.procedure["committee_required"],
        pharmacies=_pharmacies(case),
        is_admin=role == "admin",
        may_score=role == "admin" and state["status"] in SCORED_STATUSES,
        may_appeal=state["status"] in SCORED_STATUSES,
        may_commit=role == "admin" and state["status"] == "in_review" and all(
            c["outcome"] is not None for c in committees if c["subject"] == "case"),
    )
    out["open_entries"] = [e for e in out["entries"] if e["revokes"] is None and not any(
        r["revokes"] == e["id"] for r in out["entries"])]
    return out


# -- committees ---------------------------------------------------------------------------
@bp.route("/cases/<case_id>/committee", methods=["POST"])
@roles_required("admin")
def open_committee(case_id: str):
    """Send the case (or one of its appeals) to a committee: the members ticked, or
    ``size`` reviewers drawn at random with recusal."""
    case = _get_case(case_id)
    members = request.form.getlist("members") or None
    try:
        size = int(request.form.get("size") or ledger_rules().procedure["committee_size"])
        quorum = int(request.form["quorum"]) if request.form.get("quorum") else None
        appeal = int(request.form["appeal_id"]) if request.form.get("appeal_id") else None
    except ValueError:
        abort(400, "size, quorum and appeal_id are whole numbers")
    if appeal is not None:
        _appeal_of(case, appeal)
    Committees(store()).open(case, case_key=key_of(case, view().run_id),
                             run_id=view().run_id, by=current_user.id, members=members,
                             size=size, quorum=quorum, appeal_id=appeal, **_who())
    return _back(case_id)


def _committee_of(case: dict, committee_id: int) -> dict:
    c = Committees(store()).get(committee_id)
    if c is None or c["case_key"] != key_of(case, view().run_id):
        abort(404, f"no committee {committee_id} on {case['case_id']}")
    return c


@bp.route("/cases/<case_id>/committee/<int:committee_id>/vote", methods=["POST"])
@roles_required("reviewer")
def vote(case_id: str, committee_id: int):
    case = _get_case(case_id)
    _committee_of(case, committee_id)
    Committees(store()).vote(committee_id, member=current_user.id,
                             vote=request.form.get("vote", ""),
                             reason=_text("reason", REASON_LIMIT), **_who())
    return _back(case_id)


@bp.route("/cases/<case_id>/committee/<int:committee_id>/close", methods=["POST"])
@roles_required("admin")
def close_committee(case_id: str, committee_id: int):
    case = _get_case(case_id)
    _committee_of(case, committee_id)
    Committees(store()).close(committee_id, by=current_user.id, **_who())
    return _back(case_id)


# -- random assignment and affiliations ---------------------------------------------------
@bp.route("/cases/<case_id>/assign-random", methods=["POST"])
@roles_required("admin")
def assign_random(case_id: str):
    case = _get_case(case_id)
    Draws(store()).assign_at_random([(case, key_of(case, view().run_id))],
                                    run_id=view().run_id, by=current_user.id, **_who())
    return _back(case_id)


@bp.route("/assign-random", methods=["POST"])
@roles_required("admin")
def assign_batch():
    """Give every open case of the picked run that has no assignee (new or in review) to
    an investigator drawn at random, one seed for the batch."""
    run = view()
    states = store().states()
    batch = [(c, key) for c in run.cases if (st := states.get(key := key_of(c, run.run_id)))
             is None or (not st["assignee"] and st["status"] in ("new", "in_review"))]
    Draws(store()).assign_at_random(batch, run_id=run.run_id, by=current_user.id, **_who())
    g.audited = True
    return redirect(url_for("cases.queue"))


@bp.route("/affiliations", methods=["GET", "POST"])
@login_required
def affiliations():
    """Each user declares (and withdraws, with a reason) their own ties to institutions;
    an admin sees everyone's."""
    draws = Draws(store())
    if request.method == "POST":
        if request.form.get("action") == "withdraw":
            draws.withdraw(current_user.id, request.form.get("institution_id", ""),
                           by=current_user.id, reason=_text("reason", REASON_LIMIT),
                           **_who())
        else:
            draws.declare(current_user.id, _text("institution_id", 200),
                          _text("relation", 200), by=current_user.id, **_who())
        g.audited = True
        return redirect(url_for("procedure.affiliations"))
    everyone = draws.affiliations() if current_user.role == "admin" else {}
    return render_template("affiliations.html", mine=draws.affiliations(current_user.id),
                           everyone=everyone)


# -- the ledger's points ------------------------------------------------------------------
@bp.route("/cases/<case_id>/ledger", methods=["POST"])
@roles_required("admin")
def score(case_id: str):
    """Record the confirmed case's points at the severity the admin picked."""
    case = _get_case(case_id)
    key = key_of(case, view().run_id)
    Ledger(store(), time_zone=current_app.config["TIMEZONE"]).record_confirmation(
        {**case, "case_key": key}, run_id=view().run_id,
        severity=request.form.get("severity", ""), user=current_user.id,
        rules=ledger_rules(), reason=_text("reason", REASON_LIMIT),
        pharmacies=set(request.form.getlist("pharmacies")) & set(institutions_of(case)),
        role=current_user.role)
    return _back(case_id)


# -- appeals ------------------------------------------------------------------------------
@bp.route("/cases/<case_id>/appeals", methods=["POST"])
@roles_required("investigator", "admin")
def file_appeal(case_id: str):
    case = _get_case(case_id)
    appellant = request.form.get("appellant", "")
    if appellant not in institutions_of(case):
        abort(400, "the appellant is an institution of the case")
    files = [(f.filename or "attachment", f.read(MAX_ATTACHMENT + 1))
             for f in request.files.getlist("files") if f and f.filename]
    Appeals(store()).file(case, case_key=key_of(case, view().run_id), run_id=view().run_id,
                          appellant=appellant, text=_text("text", TEXT_LIMIT),
                          attachments=files, by=current_user.id, **_who())
    return _back(case_id)


def _appeal_of(case: dict, appeal_id: int) -> dict:
    a = Appeals(store()).get(appeal_id)
    if a is None or a["case_key"] != key_of(case, view().run_id):
        abort(404, f"no appeal {appeal_id} on {case['case_id']}")
    return a


@bp.route("/cases/<case_id>/appeals/<int:appeal_id>/decision", methods=["POST"])
@roles_required("admin")
def decide_appeal(case_id: str, appeal_id: int):
    case = _get_case(case_id)
    _appeal_of(case, appeal_id)
    Appeals(store()).decide(appeal_id, outcome=request.form.get("outcome", ""),
                            reason=_text("reason", REASON_LIMIT), by=current_user.id,
                            **_who())
    return _back(case_id)


@bp.route("/cases/<case_id>/appeals/<int:appeal_id>/files/<int:file_id>")
@roles_required("investigator", "admin")
def attachment(case_id: str, appeal_id: int, file_id: int):
    """An appeal's attachment, checked against its SHA-256, as a download (never shown
    inline: it came from outside)."""
    from flask import Response

    case = _get_case(case_id)
    a = _appeal_of(case, appeal_id)
    if file_id not in {f["id"] for f in a["files"]}:
        abort(404, f"no attachment {file_id}")
    meta, content = Appeals(store()).attachment(file_id)
    from urllib.parse import quote
    return Response(content, mimetype="application/octet-stream", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(meta['name'])}",
        "X-Content-SHA256": meta["sha256"]})
