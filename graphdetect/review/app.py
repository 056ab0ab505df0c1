"""The review UI's application factory.

Configuration comes from ``config.py`` in the instance folder (beside the review
database), then ``GRAPHDETECT_*`` environment variables (Flask's ``from_prefixed_env``),
then the mapping given to :func:`create_app`, each overriding the one before. Required:
``RUNS`` (run folders and/or folders of run folders) or ``RUN`` (one run folder); ``DB``
(the review database) defaults to ``review.sqlite``.

Each user picks the run the pages show (``?run=RUN_ID``, kept in the session); the
newest is shown until they do.
"""

from __future__ import annotations

import os
import re
import secrets
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from flask import Flask, abort, g, has_request_context, jsonify, render_template, request, session
from flask_babel import Babel
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from markupsafe import Markup, escape
from werkzeug.exceptions import HTTPException

from .._resources import resource_dir
from ..cells import BIDI, plain, shorten
from ..errors import RunError
from ..explain import money
from ..palette import as_json as palette_json
from ..runs import Run, Runs
from .data import RunView, RunViews
from .store import ReviewStore

__all__ = ["create_app", "WEB_DIR", "store", "view", "runs", "audit"]

WEB_DIR = Path(os.environ.get("GRAPHDETECT_WEB_DIR", resource_dir("web")))
LANGUAGES = ("zh", "en")
#: Any character :func:`graphdetect.cells.plain` would change (most text has none).
_UNPLAIN = re.compile(f"[{BIDI}\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _instance_folder(instance: Path) -> None:
    """Make the instance folder (secret key, exports) if missing, for its owner only."""
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)  # parents get the usual mode


def _secret_key(instance: Path) -> str:
    """A per-installation secret kept in the instance folder, made on first start."""
    path = instance / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip()


def create_app(config: dict | None = None) -> Flask:
    """Build the review app.

    Parameters
    ----------
    config : dict, optional
        Overrides: ``RUNS`` (a list of run folders and/or folders of run folders) or
        ``RUN`` (one run folder), ``GRAPHS_KEPT`` (2: how many runs' claims graphs stay
        in memory), ``DB``, ``SECRET_KEY``, ``GRAPH_SOURCE`` (``embedded`` or
        ``neo4j``), ``SESSION_COOKIE_SECURE``, ``MAX_EXPAND`` …, and for logins:

        ``MAX_CONTENT_LENGTH`` (64 MiB)
            The largest request (an appeal with its attachments); a bigger one gets 413.
        ``PERMANENT_SESSION_LIFETIME`` (8 h)
            Seconds a session lives after login; older ones are refused.
        ``LOGIN_MAX_FAILURES`` (5), ``LOGIN_WINDOW`` (900), ``LOGIN_LOCKOUT`` (900)
            A user name (existing or not) with this many failed logins within the window
            (seconds) is locked for the lockout (seconds), even to the right password,
            until it ends or an admin runs ``graphdetect users unlock NAME``.
        ``LOGIN_MAX_FAILURES_PER_IP`` (20)
            An address with this many failed logins within the window is refused until
            they age out of it.
        ``REALERT_MIN_MEMBERS`` (3), ``REALERT_MIN_AMOUNT_SHARE`` (0.5),
        ``REALERT_MIN_OCCASIONS`` (2)
            A dismissed case comes back ("re-alerted") in a later run when it has gained
            this many core members, or its amount rose by this share of the amount at
            dismissal, or it gained this many occasions, unless its dismissal suppressed
            re-alerts until a day not yet past (that day included); see
            :mod:`graphdetect.review.alerts`.
    """
    config = dict(config or {})
    db = Path(config.get("DB") or os.environ.get("GRAPHDETECT_DB", "review.sqlite"))
    # Instance files (secret key, exports, config.py) live beside the review database.
    instance = Path(config.get("INSTANCE_PATH") or os.environ.get("GRAPHDETECT_INSTANCE_PATH")
                    or db.resolve().parent / "graphdetect-instance")
    app = Flask(__name__, template_folder=str(WEB_DIR / "templates"),
                static_folder=str(WEB_DIR / "static"), instance_path=str(instance.resolve()),
                instance_relative_config=True)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=False, REMEMBER_COOKIE_HTTPONLY=True,
        PERMANENT_SESSION_LIFETIME=8 * 3600, WTF_CSRF_TIME_LIMIT=None,
        BABEL_DEFAULT_LOCALE="zh", BABEL_TRANSLATION_DIRECTORIES=str(WEB_DIR / "translations"),
        GRAPH_SOURCE="embedded", MAX_EXPAND=50, TIMEZONE="Asia/Shanghai", PAGE_SIZE=50,
        LOGIN_MAX_FAILURES=5, LOGIN_MAX_FAILURES_PER_IP=20, LOGIN_WINDOW=900, LOGIN_LOCKOUT=900,
        GRAPHS_KEPT=2,
        # the largest request: an appeal with a few scanned attachments (each at most
        # ledger.appeals.MAX_ATTACHMENT); anything bigger is refused before it is read
        MAX_CONTENT_LENGTH=64 * 2**20,
    )
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("GRAPHDETECT")
    app.config.update(config)  # explicit arguments win over the file and the environment
    app.config.setdefault("DB", str(db))
    _instance_folder(Path(app.instance_path))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(Path(app.instance_path))
    app.extensions["review_store"] = ReviewStore(app.config["DB"])
    served = Runs(_run_paths(app.config))
    if not len(served):
        raise RunError("no run folders in " + ", ".join(map(str, _run_paths(app.config))))
    app.extensions["runs"] = served
    app.extensions["run_views"] = RunViews(served, graphs=app.config["GRAPHS_KEPT"])
    # the newest run's view (cases only: its graph is built when a page needs it)
    app.extensions["run_view"] = app.extensions["run_views"].get(served.newest.run_id)

    CSRFProtect(app)
    Babel(app, locale_selector=_locale)
    login = LoginManager(app)
    login.login_view = "auth.login"
    login.login_message = None

    from .auth import User, session_max_age
    from .auth import bp as auth_bp
    from .views_admin import bp as admin_bp
    from .views_cases import bp as cases_bp
    from .views_entities import bp as entities_bp
    from .views_ledger import bp as ledger_bp
    from .views_procedure import bp as procedure_bp

    @login.user_loader
    def load_user(token: str):
        """The user of a live server-side session (``User.get_id()`` is its token)."""
        row = app.extensions["review_store"].session_user(token, max_age=session_max_age(app))
        return User(row["name"], row["role"], token) if row else None

    @login.unauthorized_handler
    def unauthorized():
        if _wants_json():
            return _error(401, "login required")
        from flask import redirect, url_for
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))

    for bp in (auth_bp, cases_bp, entities_bp, admin_bp, ledger_bp, procedure_bp):
        app.register_blueprint(bp)

    @app.before_request
    def remember_language_and_run():
        lang = request.args.get("lang")
        if lang in LANGUAGES:
            session["lang"] = lang
        picked = request.args.get("run")
        if picked is not None and request.endpoint != "static":
            if not any(r.run_id == picked for r in served):
                abort(404, f"no run {shorten(picked, 80)}")
            session["run"] = picked
            g.pop("run_view", None)

    @app.after_request
    def name_the_run(response):
        if request.endpoint and request.endpoint != "static":
            response.headers["X-Graphdetect-Run"] = view().run_id
        return response

    @app.after_request
    def audit_and_secure(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'")
        if request.endpoint != "static":  # case data must not stay in any cache
            response.headers["Cache-Control"] = "no-store"
            response.headers["Pragma"] = "no-cache"
        if request.endpoint and request.endpoint != "static" and \
                current_user.is_authenticated and not g.get("audited"):
            # the store keeps a bounded copy of the path and query (store.bounded)
            store().audit(user=current_user.id, role=current_user.role,
                          action=f"view {request.endpoint}", target=request.full_path,
                          detail=f"{response.status_code} {view().run_id}",
                          ip=request.remote_addr or "")
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return _error(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return _error(400, f"CSRF check failed: {exc.description}")

    @app.template_filter("yuan")
    def yuan(value) -> str:
        if value is None or value == "":
            return ""
        return money(float(value))

    @app.template_filter("when")
    def when(value) -> str:
        if not value:
            return ""
        stamp = datetime.fromisoformat(str(value))
        if stamp.tzinfo is not None:  # audit times are UTC; show the bureau's local time
            stamp = stamp.astimezone(ZoneInfo(app.config["TIMEZONE"]))
        return stamp.strftime("%Y-%m-%d %H:%M")

    @app.template_filter("rule")
    def rule(name: str) -> str:
        from ..explain import rule_label
        return rule_label(name, _locale())

    @app.template_filter("metric")
    def metric(key: str, pattern: str) -> str:
        from ..explain import metric_label
        return metric_label(pattern, key, _locale())

    @app.template_filter("term")
    def term(value, group: str) -> str:
        from .words import term
        return term(value, group)

    @app.template_filter("metric_value")
    def metric_value(value, pattern: str, key: str) -> str:
        from ..explain import metric_value
        return metric_value(pattern, key, value, _locale())

    app.jinja_env.finalize = _shown
    app.add_template_filter(shorten)
    app.add_template_filter(_bdi, "bdi")
    app.jinja_env.globals["palette"] = palette_json()  # the network's colours

    @app.template_global()
    def entity_url(endpoint: str, kind: str, id: str) -> str:
        """``url_for`` an entity route with the id encoded whole, ``/`` included, so that
        an id such as ``../../etc/passwd`` stays one segment the browser leaves alone."""
        from flask import url_for
        return url_for(endpoint, kind=kind, id="ID").replace("/ID", "/" + quote(id, safe=""), 1)

    @app.template_global()
    def name_of(kind: str, id: str) -> str | None:
        """An institution's or doctor's name for the page (None for blind viewers)."""
        from .roles import is_blind
        if not current_user.is_authenticated or is_blind(current_user.role):
            return None
        return view().name(kind, id)

    @app.template_filter("with_page")
    def with_page(args, page: int) -> str:
        return urlencode({**{k: v for k, v in args.items() if k != "page"}, "page": page})

    @app.context_processor
    def inject():
        from .roles import can_decide, is_blind
        role = current_user.role if current_user.is_authenticated else None
        return {"lang": _locale(), "role": role, "blind": bool(role and is_blind(role)),
                "can_decide": bool(role and can_decide(role)), "run": view(),
                "served_runs": [_run_choice(r) for r in reversed(served.runs)]}

    return app


def _shown(value):
    """What every ``{{ value }}`` of every page shows: bidi controls removed and control
    characters as U+FFFD (:func:`graphdetect.cells.plain`); markup stays markup."""
    if value is None:
        return ""
    if isinstance(value, int | float):
        return value
    if hasattr(value, "__html__"):  # Markup, a form field
        html = value.__html__()
        return Markup(plain(html)) if _UNPLAIN.search(html) else value
    text = str(value)
    return plain(text) if _UNPLAIN.search(text) else text


def _bdi(value, limit: int = 80) -> Markup:
    """A user-supplied value in running text: isolated in ``<bdi>`` and cut to ``limit``
    characters, the whole value as its tooltip if cut and not huge (``|bdi`` in pages)."""
    text = plain(value)
    if len(text) <= limit:
        return Markup(f"<bdi>{escape(text)}</bdi>")
    shown = escape(shorten(text, limit))
    if len(text) <= 1000:
        return Markup(f'<bdi title="{escape(text)}">{shown}</bdi>')
    return Markup(f"<bdi>{shown}</bdi>")


def _locale() -> str:
    return session.get("lang") or "zh"


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _error(status: int, message: str):
    titles = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
              405: "Method Not Allowed", 409: "Conflict", 500: "Internal Server Error",
              503: "Service Unavailable"}
    title = titles.get(status, "Error")
    if _wants_json():
        return jsonify({"error": {"status": status, "title": title, "message": message}}), status
    return render_template("error.html", status=status, title=title, message=message), status


def store() -> ReviewStore:
    from flask import current_app
    return current_app.extensions["review_store"]


def ledger_rules():
    """The bureau's scoring table (:func:`graphdetect.ledger.rules.load_rules`): the file
    named by the ``LEDGER_RULES`` setting, else ``GRAPHDETECT_LEDGER_RULES``, else the
    shipped one; read once per app."""
    from flask import current_app

    from ..ledger.rules import load_rules
    ext = current_app.extensions
    if "ledger_rules" not in ext:
        ext["ledger_rules"] = load_rules(current_app.config.get("LEDGER_RULES"))
    return ext["ledger_rules"]


def runs() -> Runs:
    """The runs served, oldest to newest."""
    from flask import current_app
    return current_app.extensions["runs"]


def view() -> RunView:
    """The run the current user picked (``?run=``, kept in the session), else the newest."""
    from flask import current_app
    if has_request_context() and "run_view" in g:
        return g.run_view
    served = runs()
    wanted = session.get("run") if has_request_context() else None
    run_id = wanted if wanted and any(r.run_id == wanted for r in served) \
        else served.newest.run_id  # a run no longer served: the newest
    v = current_app.extensions["run_views"].get(run_id)
    if has_request_context():
        g.run_view = v
    return v


def _run_paths(config) -> list:
    """``RUNS`` as a list (one path given alone is a list of one), else ``[RUN]``."""
    paths = config.get("RUNS") or config.get("RUN")
    if not paths:
        raise RunError("the review UI needs RUNS (run folders or folders of run folders) "
                       "or RUN (one run folder)")
    return [paths] if isinstance(paths, str | os.PathLike) else list(paths)


def _run_choice(run: Run) -> dict:
    """What the run picker shows of a run: its id, data window and case count."""
    s = run.summary
    window, claims = s.get("window") or {}, s.get("claims") or {}
    return {"run_id": run.run_id, "cases": s.get("cases"),
            "first_day": window.get("since") or claims.get("first_day"),
            "last_day": window.get("until") or claims.get("last_day")}


def audit(action: str, target: str = "", detail: str = "") -> None:
    """Record a named action (a decision, an export) in the audit log for this request."""
    store().audit(user=current_user.id, role=current_user.role, action=action, target=target,
                  detail=detail, ip=request.remote_addr or "")
    g.audited = True
