"""Server-side sessions and login throttling of the review UI (mixed into ``ReviewStore``).

A login opens a session: a random token (32 bytes) that the browser's signed cookie
carries and the database keeps only as its SHA-256 digest, so a copy of the database
opens no session. A session ends when it is revoked (logout, a password change, the user
disabled or removed) or grows older than the UI's session lifetime.

Every login attempt is counted as a failure until it succeeds. A user name (whether or
not such a user exists, so a lockout tells nothing) with ``max_failures`` failures
within ``window`` seconds is locked for ``lockout`` seconds; an address with
``max_per_ip`` failures within the window is refused until they age out of it. Times
are Unix seconds.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from ..errors import GraphdetectError

__all__ = ["LOGINS_SCHEMA", "LoginLimits", "LoginRefused", "Logins"]

LOGINS_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY, user TEXT NOT NULL, created_at REAL NOT NULL,
    last_seen REAL NOT NULL, revoked_at REAL, ip TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user);
CREATE TABLE IF NOT EXISTS login_failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, ip TEXT NOT NULL,
    at REAL NOT NULL, counted INTEGER NOT NULL DEFAULT 1);
CREATE INDEX IF NOT EXISTS login_failures_name ON login_failures (name, at);
CREATE INDEX IF NOT EXISTS login_failures_ip ON login_failures (ip, at);
CREATE TABLE IF NOT EXISTS login_locks (name TEXT PRIMARY KEY, until REAL NOT NULL);
"""

#: last_seen is written at most this often (seconds): not one write per request.
_SEEN_EVERY = 60


@dataclass(frozen=True)
class LoginLimits:
    """How many failed logins are allowed, per user name and per address, and for how long."""

    max_failures: int = 5
    max_per_ip: int = 20
    window: float = 900
    lockout: float = 900


class LoginRefused(GraphdetectError):
    """A login refused before the password is checked: the name or the address is locked.

    ``retry_after`` is the number of seconds until it may be tried again.
    """

    def __init__(self, reason: str, retry_after: float):
        super().__init__(reason)
        self.retry_after = max(1.0, retry_after)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Logins:
    """Session and throttling methods of the review database."""

    # -- sessions ----------------------------------------------------------------------
    def open_session(self, name: str, ip: str, *, max_age: float) -> str:
        """Open a session for ``name`` and return its token (sessions past ``max_age`` go)."""
        token, t = secrets.token_urlsafe(32), time.time()
        with self.connect() as db, db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM sessions WHERE created_at < ?", (t - max_age,))
            db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, NULL, ?)",
                       (_digest(token), name, t, t, ip))
        return token

    def session_user(self, token: str, *, max_age: float) -> dict | None:
        """The user (name, role) of a live session: not revoked, younger than ``max_age``
        seconds, its user still there and enabled; else None."""
        if not isinstance(token, str):
            return None
        t = time.time()
        with self.connect() as db:
            row = db.execute(
                "SELECT s.last_seen, u.name, u.role FROM sessions s JOIN users u "
                "ON u.name = s.user WHERE s.token_hash = ? AND s.revoked_at IS NULL "
                "AND s.created_at > ? AND u.enabled = 1", (_digest(token), t - max_age)).fetchone()
            if row is None:
                return None
            if t - row["last_seen"] > _SEEN_EVERY:
                db.execute("UPDATE sessions SET last_seen = ? WHERE token_hash = ?",
                           (t, _digest(token)))
        return {"name": row["name"], "role": row["role"]}

    def revoke_session(self, token: str) -> None:
        """End one session (logout)."""
        with self.connect() as db:
            db.execute("UPDATE sessions SET revoked_at = ? WHERE token_hash = ? "
                       "AND revoked_at IS NULL", (time.time(), _digest(token)))

    @staticmethod
    def _revoke_all(db: sqlite3.Connection, name: str) -> None:
        db.execute("UPDATE sessions SET revoked_at = ? WHERE user = ? AND revoked_at IS NULL",
                   (time.time(), name))

    # -- throttling --------------------------------------------------------------------
    def start_login(self, name: str, ip: str, limits: LoginLimits) -> int:
        """Count a login attempt as a failure, unless the name or address is locked.

        Returns the attempt's id for :meth:`end_login`. Counting before the password is
        checked means parallel guesses cannot slip past the limit while theirs are checked.

        Raises
        ------
        LoginRefused
            When the name is locked or the address has too many failures.
        """
        t = time.time()
        since = t - limits.window
        with self.connect() as db, db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM login_failures WHERE at < ?", (since,))
            lock = db.execute("SELECT until FROM login_locks WHERE name = ?", (name,)).fetchone()
            if lock and lock["until"] > t:
                raise LoginRefused("the user name is locked", lock["until"] - t)
            n, _ = _count(db, "name", name, since)
            if n >= limits.max_failures:  # guesses in flight
                raise LoginRefused("the user name is locked", limits.lockout)
            n, first = _count(db, "ip", ip, since)
            if n >= limits.max_per_ip:
                raise LoginRefused("too many failures from this address", first - since)
            return db.execute("INSERT INTO login_failures (name, ip, at) VALUES (?, ?, ?)",
                              (name, ip, t)).lastrowid

    def end_login(self, attempt: int, name: str, ok: bool, limits: LoginLimits) -> bool:
        """Settle an attempt: a success clears the name's failures; a failure stays counted
        and may lock the name. Returns whether the name is now locked."""
        t = time.time()
        with self.connect() as db, db:
            db.execute("BEGIN IMMEDIATE")
            if ok:
                db.execute("DELETE FROM login_failures WHERE id = ?", (attempt,))
                db.execute("UPDATE login_failures SET counted = 0 WHERE name = ?", (name,))
                return False
            n, _ = _count(db, "name", name, t - limits.window)
            if n < limits.max_failures:
                return False
            # The lock now holds the count: once it ends, the name starts afresh.
            db.execute("INSERT OR REPLACE INTO login_locks VALUES (?, ?)",
                       (name, t + limits.lockout))
            db.execute("UPDATE login_failures SET counted = 0 WHERE name = ?", (name,))
            return True

    def unlock(self, name: str) -> bool:
        """Lift a name's lockout and forget its failures; whether there was anything to lift."""
        with self.connect() as db, db:
            db.execute("BEGIN IMMEDIATE")
            lifted = db.execute("DELETE FROM login_locks WHERE name = ? AND until > ?",
                                (name, time.time())).rowcount
            lifted += db.execute("UPDATE login_failures SET counted = 0 WHERE name = ? "
                                 "AND counted = 1", (name,)).rowcount
        return bool(lifted)

    def lockouts(self) -> dict[str, str]:
        """The user names locked now, with the time (UTC, ISO) each lock ends."""
        with self.connect() as db:
            rows = db.execute("SELECT name, until FROM login_locks WHERE until > ?",
                              (time.time(),)).fetchall()
        return {r["name"]: datetime.fromtimestamp(r["until"], UTC).isoformat(timespec="seconds")
                for r in rows}


_COUNTS = {
    "name": "SELECT count(*), min(at) FROM login_failures WHERE name = ? AND counted = 1 "
            "AND at >= ?",
    "ip": "SELECT count(*), min(at) FROM login_failures WHERE ip = ? AND at >= ?",
}


def _count(db: sqlite3.Connection, by: str, key: str, since: float) -> tuple[int, float]:
    """How many failures of this name (still counted) or address there are since ``since``,
    and when the first was."""
    n, first = db.execute(_COUNTS[by], (key, since)).fetchone()
    return n, first or since
