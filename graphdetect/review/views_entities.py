"""Entity pages: any patient, doctor, institution, card or terminal of the picked run."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, render_template, request
from flask_login import current_user

from ..cells import shorten
from ..graph import KINDS
from .app import view
from .auth import roles_required
from .present import Presenter
from .views_cases import _neighbourhood
from .views_ledger import entity_points

bp = Blueprint("entities", __name__)

#: Reviewers work blind and never see an entity outside a case.
OPEN_ROLES = ("investigator", "admin")


def _entity(kind: str, id: str) -> dict:
    if kind not in KINDS:
        abort(404, f"no kind {shorten(kind, 80)}")
    info = view().entity(kind, id)
    if info is None:
        abort(404, f"no {kind} {shorten(id, 80)}")
    return info


def _network(kind: str, id: str) -> dict:
    cap = current_app.config["MAX_EXPAND"]
    G = _neighbourhood(kind, id, cap)
    fake = {"case_id": "", "members": [], "claim_ids": []}
    return Presenter(fake, blind=False, names=view().name).elements(G)


@bp.route("/entities/<kind>/<path:id>")
@roles_required(*OPEN_ROLES)
def entity_page(kind: str, id: str):
    info = _entity(kind, id)
    rows = view().graph.claims_of(kind, id)[-200:]
    claims = view().claims(view().graph.claims["claim_id"].take(rows).astype(str).tolist())
    claims = claims.iloc[::-1]  # latest first
    return render_template("entity.html", entity=info,
                           claims=claims.astype(object).where(claims.notna(), None)
                           .to_dict("records"), cases=[view().case(c) for c in info["cases"]],
                           ledger=entity_points(kind, id))


@bp.route("/api/entities/<kind>/<path:id>")
@roles_required(*OPEN_ROLES)
def api_entity(kind: str, id: str):
    return jsonify({"run_id": view().run_id, **_entity(kind, id),
                    "ledger": entity_points(kind, id)})


@bp.route("/api/entities/<kind>/<path:id>/network")
@roles_required(*OPEN_ROLES)
def api_entity_network(kind: str, id: str):
    _entity(kind, id)
    return jsonify({"run_id": view().run_id, **_network(kind, id)})


@bp.route("/api/me")
@roles_required("investigator", "reviewer", "admin")
def me():
    return jsonify({"user": current_user.id, "role": current_user.role,
                    "run_id": view().run_id, "lang": request.args.get("lang")})
