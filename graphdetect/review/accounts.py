"""Accounts of the review UI: users and their passwords (mixed into ``ReviewStore``)."""

from __future__ import annotations

from datetime import UTC, datetime

from werkzeug.security import check_password_hash, generate_password_hash

from ..errors import GraphdetectError

__all__ = ["Accounts", "AccountError", "ACCOUNTS_SCHEMA", "ROLES", "now"]

ROLES = ("investigator", "reviewer", "admin")

ACCOUNTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL);
"""


class AccountError(GraphdetectError):
    """A bad user name, role or password."""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Accounts:
    """User methods of the review database; ``connect()`` comes from ``ReviewStore``."""

    # -- users -------------------------------------------------------------------------
    def add_user(self, name: str, role: str, password: str) -> None:
        """Create or replace a user; the password is stored only as a salted hash."""
        if role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}; got {role!r}")
        if not name or len(password) < 8:
            raise AccountError("a user needs a name and a password of at least 8 characters")
        with self.connect() as db:
            db.execute("INSERT OR REPLACE INTO users VALUES (?, ?, ?, ?)",
                       (name, role, generate_password_hash(password), now()))

    def user(self, name: str) -> dict | None:
        with self.connect() as db:
            row = db.execute("SELECT name, role, created_at FROM users WHERE name = ?",
                             (name,)).fetchone()
        return dict(row) if row else None

    def users(self) -> list[dict]:
        with self.connect() as db:
            return [dict(r) for r in db.execute(
                "SELECT name, role, created_at FROM users ORDER BY name")]

    def check_password(self, name: str, password: str) -> dict | None:
        """The user if the password is right, else None."""
        with self.connect() as db:
            row = db.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
        if row is None or not check_password_hash(row["password_hash"], password):
            return None
        return {"name": row["name"], "role": row["role"]}

