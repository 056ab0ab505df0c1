"""Login, logout and role checks."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from .app import store

bp = Blueprint("auth", __name__)


class User(UserMixin):
    def __init__(self, name: str, role: str):
        self.id = name
        self.role = role


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
    error = None
    if form.validate_on_submit():
        user = store().check_password(form.username.data, form.password.data)
        ip = request.remote_addr or ""
        if user:
            login_user(User(user["name"], user["role"]))
            store().audit(user=user["name"], role=user["role"], action="login", ip=ip)
            target = request.args.get("next", "")
            parts = urlsplit(target)
            if not target.startswith("/") or parts.netloc or parts.scheme:
                target = url_for("cases.queue")
            return redirect(target)
        store().audit(user=form.username.data, role=None, action="login failed", ip=ip)
        error = _l("Wrong user name or password.")
    return render_template("login.html", form=form, error=error), 401 if error else 200


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    store().audit(user=current_user.id, role=current_user.role, action="logout",
                  ip=request.remote_addr or "")
    logout_user()
    return redirect(url_for("auth.login"))
