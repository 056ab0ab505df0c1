"""Login, logout and role checks."""

from __future__ import annotations

import math
from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from .accounts import LoginLimits, LoginRefused
from .app import store

bp = Blueprint("auth", __name__)


class User(UserMixin):
    """A logged-in user: ``id`` is the user name, ``get_id()`` the session's token.

    Flask-Login keeps ``get_id()`` in the cookie and hands it to the user loader, which
    accepts only a live server-side session (Flask-Login's "alternative tokens"); the
    token also serves as the per-session secret of signed tokens.
    """

    def __init__(self, name: str, role: str, token: str):
        self.id = name
        self.role = role
        self.token = token

    def get_id(self) -> str:
        return self.token


def session_max_age(app: Flask) -> float:
    """How long a session lives (``PERMANENT_SESSION_LIFETIME``), in seconds."""
    return app.permanent_session_lifetime.total_seconds()


def login_limits(app: Flask) -> LoginLimits:
    """The login throttling limits of the app's ``LOGIN_*`` settings."""
    c = app.config
    return LoginLimits(max_failures=int(c["LOGIN_MAX_FAILURES"]),
                       max_per_ip=int(c["LOGIN_MAX_FAILURES_PER_IP"]),
                       window=float(c["LOGIN_WINDOW"]), lockout=float(c["LOGIN_LOCKOUT"]))


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


def roles_required(*roles: str):
    """Let only these roles through (403 for the others)."""
    def wrap(view):
        @wraps(view)
        @login_required
        def inner(*args, **kwargs):
            if current_user.role not in roles:
                abort(403, "your role may not do this")
            return view(*args, **kwargs)
        return inner
    return wrap


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("login.html", form=form, error=None)
    name, ip, limits = form.username.data, request.remote_addr or "", login_limits(current_app)
    try:
        attempt = store().start_login(name, ip, limits)
    except LoginRefused as exc:
        store().audit(user=name, role=None, action="login refused", detail=str(exc), ip=ip)
        error = _l("Too many failed attempts; try again later or ask an admin.")
        return (render_template("login.html", form=form, error=error), 429,
                {"Retry-After": str(math.ceil(exc.retry_after))})
    user = store().check_password(name, form.password.data)
    locked = store().end_login(attempt, name, user is not None, limits)
    if not user:
        store().audit(user=name, role=None, action="login failed", ip=ip,
                      detail=f"name locked for {limits.lockout:g} s" if locked else "")
        error = _l("Wrong user name or password.")
        return render_template("login.html", form=form, error=error), 401
    token = store().open_session(user["name"], ip, max_age=session_max_age(current_app))
    login_user(User(user["name"], user["role"], token))
    store().audit(user=user["name"], role=user["role"], action="login", ip=ip)
    target = request.args.get("next", "")
    parts = urlsplit(target)
    # only a path of this site: browsers read "/\\evil.example" as "//evil.example"
    if not target.startswith("/") or "\\" in target or parts.netloc or parts.scheme:
        target = url_for("cases.queue")
    return redirect(target)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    store().revoke_session(current_user.get_id())
    store().audit(user=current_user.id, role=current_user.role, action="logout",
                  ip=request.remote_addr or "")
    logout_user()
    return redirect(url_for("auth.login"))
