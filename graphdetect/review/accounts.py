"""Accounts of the review UI: users and their passwords (mixed into ``ReviewStore``).

A user has a name, a role, a salted password hash and an enabled flag. Names and
passwords are checked when they are set (:func:`check_name`, :func:`check_password_policy`).
Logins open server-side sessions and failed logins are counted, see :mod:`.logins`.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
from datetime import UTC, datetime
from functools import cache
from importlib.resources import files

from werkzeug.security import check_password_hash, generate_password_hash

from ..errors import GraphdetectError
from .logins import LOGINS_SCHEMA, LoginLimits, LoginRefused, Logins

__all__ = ["Accounts", "AccountError", "ACCOUNTS_SCHEMA", "LoginLimits", "LoginRefused", "ROLES",
           "check_name", "check_password_policy", "init_accounts", "now"]

ROLES = ("investigator", "reviewer", "admin")

ACCOUNTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL, enabled INTEGER NOT NULL DEFAULT 1);
""" + LOGINS_SCHEMA

#: 2-32 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit. A name goes
#: into audit rows, CSV cells and export folder names: ASCII without '/' or a leading dot or
#: dash is safe in each, and no two names look alike.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,31}")
#: NIST SP 800-63B accepts 8 characters; these accounts open medical and insurance records,
#: so we ask for 10. The most matches the login form's limit.
MIN_PASSWORD, MAX_PASSWORD = 10, 256


class AccountError(GraphdetectError):
    """A bad user name, role or password, or no such user."""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def init_accounts(db: sqlite3.Connection) -> None:
    """Create the account tables, and add the ``enabled`` column to an older database."""
    db.executescript(ACCOUNTS_SCHEMA)
    columns = {r["name"] for r in db.execute("PRAGMA table_info(users)")}
    if "enabled" not in columns:
        try:
            db.execute("ALTER TABLE users ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1")
        except sqlite3.OperationalError as exc:  # another process added it just now
            if "duplicate column" not in str(exc):
                raise


def check_name(name: str) -> None:
    """Refuse a user name that is not 2-32 ASCII letters, digits, '.', '_' or '-'.

    Examples
    --------
    >>> check_name("wang.li")
    >>> check_name("../x")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    graphdetect.review.accounts.AccountError: a user name is 2-32 ASCII letters, digits, ...
    """
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise AccountError("a user name is 2-32 ASCII letters, digits, '.', '_' or '-', "
                           f"starting with a letter or digit; got {name!r}")


def check_password_policy(name: str, password: str) -> None:
    """Refuse a short password, one that is or holds the user name, or a common one.

    The comparisons ignore case. A name of one or two characters may appear inside a
    password (``li`` in ``olive``); a longer one may not.

    Examples
    --------
    >>> check_password_policy("wang", "a long passphrase")
    >>> check_password_policy("wang", "qwertyuiop")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    graphdetect.review.accounts.AccountError: that password is on the list of common passwords...
    """
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters (and at most "
                           f"{MAX_PASSWORD}); this one has {len(password)}")
    lower, user = password.lower(), name.lower()
    if lower == user or (len(user) >= 3 and user in lower):
        raise AccountError("a password may not be or contain the user name")
    if lower in common_passwords():
        raise AccountError("that password is on the list of common passwords; choose another")


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (``common_passwords.txt``), lower case."""
    text = files(__package__).joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


@cache
def _dummy_hash() -> str:
    """A hash made the way real ones are, checked for unknown names so they cost the same."""
    return generate_password_hash(secrets.token_urlsafe(16))


class Accounts(Logins):
    """User methods of the review database; ``connect()`` comes from ``ReviewStore``."""

    def add_user(self, name: str, role: str, password: str) -> None:
        """Create a user; the password is stored only as a salted hash.

        Raises
        ------
        AccountError
            For a bad name, role or password, or a name already taken (in any case).
        """
        self.check_new_user(name, role)
        check_password_policy(name, password)
        with self.connect() as db:
            added = db.execute(
                "INSERT INTO users (name, role, password_hash, created_at, enabled) "
                "SELECT ?, ?, ?, ?, 1 WHERE NOT EXISTS "
                "(SELECT 1 FROM users WHERE name = ? COLLATE NOCASE)",
                (name, role, generate_password_hash(password), now(), name)).rowcount
        if not added:
            raise AccountError(f"a user {name!r} was added just now by someone else")

    def check_new_user(self, name: str, role: str) -> None:
        """Refuse a bad name or role, or a name taken in any case (``Li`` when ``li`` exists)."""
        check_name(name)
        if role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}; got {role!r}")
        with self.connect() as db:
            row = db.execute("SELECT name FROM users WHERE name = ? COLLATE NOCASE",
                             (name,)).fetchone()
        if row:
            raise AccountError(f"a user {row['name']!r} exists already (names ignore case); "
                               "'graphdetect users passwd' changes a password")

    def set_password(self, name: str, password: str) -> None:
        """Change a user's password and end every session of that user."""
        check_password_policy(name, password)
        digest = generate_password_hash(password)
        self._change(name, "UPDATE users SET password_hash = ? WHERE name = ?", digest, name)

    def set_enabled(self, name: str, enabled: bool) -> None:
        """Enable or disable a user; disabling ends every session of that user."""
        self._change(name, "UPDATE users SET enabled = ? WHERE name = ?", int(enabled), name,
                     revoke=not enabled)

    def remove_user(self, name: str) -> None:
        """Remove a user and end their sessions; notes and audit rows keep the name."""
        self._change(name, "DELETE FROM users WHERE name = ?", name)

    def _change(self, name: str, sql: str, *args, revoke: bool = True) -> None:
        with self.connect() as db, db:
            db.execute("BEGIN IMMEDIATE")
            if not db.execute(sql, args).rowcount:
                raise AccountError(f"no user {name!r} in {self.path}")
            if revoke:
                self._revoke_all(db, name)

    def user(self, name: str) -> dict | None:
        """The user's name, role, created_at and enabled flag, or None."""
        with self.connect() as db:
            row = db.execute("SELECT name, role, created_at, enabled FROM users WHERE name = ?",
                             (name,)).fetchone()
        return _user(row) if row else None

    def users(self) -> list[dict]:
        """Every user (enabled or not), by name."""
        with self.connect() as db:
            return [_user(r) for r in db.execute(
                "SELECT name, role, created_at, enabled FROM users ORDER BY name")]

    def check_password(self, name: str, password: str) -> dict | None:
        """The user if the password is right and the user enabled, else None.

        An unknown name costs the same hash check as a known one, so the time taken
        does not tell which names exist.
        """
        with self.connect() as db:
            row = db.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
        if row is None:
            check_password_hash(_dummy_hash(), password)
            return None
        if not check_password_hash(row["password_hash"], password) or not row["enabled"]:
            return None
        return {"name": row["name"], "role": row["role"]}


def _user(row: sqlite3.Row) -> dict:
    return {**dict(row), "enabled": bool(row["enabled"])}
