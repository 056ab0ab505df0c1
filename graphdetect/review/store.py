"""The review database: users, case workflow, append-only notes and audit log (SQLite, WAL).

One file per bureau (``--db review.sqlite``). Notes and audit rows can never be changed
or deleted: triggers refuse it.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import GraphdetectError
from .accounts import ROLES, Accounts, init_accounts, now

__all__ = ["ReviewStore", "ROLES", "STATUSES", "TRANSITIONS", "WorkflowError", "bounded",
           "visible", "AUDIT_LIMIT"]

STATUSES = ("new", "in_review", "confirmed", "dismissed", "referred")
#: Allowed status changes; anything else is refused.
TRANSITIONS = {
    "new": ("in_review",),
    "in_review": ("confirmed", "dismissed"),
    "confirmed": ("referred", "in_review"),
    "dismissed": ("in_review",),
    "referred": (),
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS case_state (
    run_id TEXT NOT NULL, case_id TEXT NOT NULL, status TEXT NOT NULL, assignee TEXT,
    updated_at TEXT NOT NULL, updated_by TEXT NOT NULL, PRIMARY KEY (run_id, case_id));
CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, case_id TEXT NOT NULL,
    author TEXT NOT NULL, created_at TEXT NOT NULL, status_from TEXT, status_to TEXT,
    assignee TEXT, reason TEXT NOT NULL DEFAULT '', body TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS notes_case ON notes (run_id, case_id);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, user TEXT, role TEXT,
    action TEXT NOT NULL, target TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '',
    ip TEXT NOT NULL DEFAULT '');
CREATE TRIGGER IF NOT EXISTS notes_no_update BEFORE UPDATE ON notes
    BEGIN SELECT RAISE(ABORT, 'notes are append-only'); END;
CREATE TRIGGER IF NOT EXISTS notes_no_delete BEFORE DELETE ON notes
    BEGIN SELECT RAISE(ABORT, 'notes are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


#: The most characters an audit field keeps of what a request sent (a path and query
#: string, a user name typed at login); the rest is counted, not stored.
AUDIT_LIMIT = 1000
#: Characters that show nothing: controls, format characters (zero-width space, bidi
#: marks, BOM) and separators. A note made only of them is no note.
_INVISIBLE = ("Cc", "Cf", "Zs", "Zl", "Zp")


class WorkflowError(GraphdetectError):
    """A status change the workflow does not allow."""


def bounded(text: str | None, limit: int = AUDIT_LIMIT) -> str | None:
    """At most ``limit`` characters of ``text``, and how many were cut (None stays None).

    >>> bounded("x" * 12, 10)
    'xxxxxxxxxx…[+2 chars]'
    """
    if text is None:
        return None
    text = str(text)
    return text if len(text) <= limit else f"{text[:limit]}…[+{len(text) - limit} chars]"


def visible(text: str) -> str:
    """``text`` without the invisible characters at either end (spaces, zero-width spaces,
    bidi marks and other controls): what is left is empty if nothing shows.

    >>> visible("\u200b 开始核查\u3000\u200f"), visible("\u200b\u2060 ")
    ('开始核查', '')
    """
    start, end = 0, len(text)
    while start < end and unicodedata.category(text[start]) in _INVISIBLE:
        start += 1
    while end > start and unicodedata.category(text[end - 1]) in _INVISIBLE:
        end -= 1
    return text[start:end]


class ReviewStore(Accounts):
    """The review database at ``path`` (created on first use).

    Examples
    --------
    >>> import tempfile, os
    >>> s = ReviewStore(os.path.join(tempfile.mkdtemp(), "review.sqlite"))
    >>> s.add_user("li", "investigator", "a long passphrase")
    >>> s.check_password("li", "a long passphrase")["role"]
    'investigator'
    >>> s.decide("run-1", "R-0001", user="li", status="in_review", reason="开始核查")["status_to"]
    'in_review'
    >>> s.state("run-1", "R-0001")["status"]
    'in_review'
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Readable by its owner only (it holds password hashes, notes, the audit log);
        # SQLite gives the -wal and -shm files the database file's mode.
        os.close(os.open(self.path, os.O_RDONLY | os.O_CREAT, 0o600))
        self._local = threading.local()
        with self.connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            init_accounts(db)
            db.executescript(_SCHEMA)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection (one per thread, reused: the UI serves many requests)."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                 check_same_thread=True)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA busy_timeout=30000")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        yield db

    def close(self) -> None:
        """Close this thread's connection."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # -- workflow ----------------------------------------------------------------------
    def state(self, run_id: str, case_id: str) -> dict:
        """A case's status and assignee (``new`` and nobody until someone acts)."""
        with self.connect() as db:
            row = db.execute("SELECT status, assignee, updated_at, updated_by FROM case_state "
                             "WHERE run_id = ? AND case_id = ?", (run_id, case_id)).fetchone()
        return dict(row) if row else {"status": "new", "assignee": None, "updated_at": None,
                                      "updated_by": None}

    def states(self, run_id: str) -> dict[str, dict]:
        """Every case of a run that has a state, by case id."""
        with self.connect() as db:
            rows = db.execute("SELECT case_id, status, assignee, updated_at, updated_by "
                              "FROM case_state WHERE run_id = ?", (run_id,)).fetchall()
        return {r["case_id"]: dict(r) for r in rows}

    def decide(self, run_id: str, case_id: str, *, user: str, status: str | None = None,
               assignee: str | None = None, reason: str = "", body: str = "",
               audit: dict | None = None) -> dict:
        """Record a note, and optionally a status change or a new assignee, atomically.

        ``reason`` and ``body`` lose invisible characters at their ends (:func:`visible`).
        With ``audit`` (``{"role": ..., "ip": ...}``) the decision's audit row is written
        in the same transaction: both are stored, or neither.

        Raises
        ------
        WorkflowError
            When the status change is not allowed from the current status, or a
            decision (confirm, dismiss, refer) comes without a reason.
        """
        reason, body = visible(reason), visible(body)
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute("SELECT status, assignee FROM case_state WHERE run_id = ? "
                                 "AND case_id = ?", (run_id, case_id)).fetchone()
                current = row["status"] if row else "new"
                current_assignee = row["assignee"] if row else None
                if status is not None and status != current:
                    if status not in TRANSITIONS.get(current, ()):
                        raise WorkflowError(f"{case_id}: cannot go from {current} to {status}")
                    if status in ("confirmed", "dismissed", "referred") and not reason:
                        raise WorkflowError(f"{case_id}: a decision to {status} needs a reason")
                if assignee is not None and assignee != "":
                    who = self.user(assignee)
                    if who is None or not who["enabled"]:
                        raise WorkflowError(f"no such user {assignee!r}, or disabled")
                new_status = status or current
                new_assignee = current_assignee if assignee is None else (assignee or None)
                if not (reason or body) and new_status == current \
                        and new_assignee == current_assignee:
                    raise WorkflowError("nothing to record: write a note or change something")
                at = now()
                db.execute("INSERT OR REPLACE INTO case_state VALUES (?, ?, ?, ?, ?, ?)",
                           (run_id, case_id, new_status, new_assignee, at, user))
                cur = db.execute(
                    "INSERT INTO notes (run_id, case_id, author, created_at, status_from, "
                    "status_to, assignee, reason, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (run_id, case_id, user, at, current, new_status, new_assignee, reason,
                     body))
                if audit is not None:
                    self._audit(db, at=at, user=user, role=audit.get("role"), action="decision",
                                target=case_id, ip=audit.get("ip", ""),
                                detail=f"{current} -> {new_status}; assignee={new_assignee or ''}"
                                       f"; reason={reason}")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return self.note(cur.lastrowid)

    def note(self, note_id: int) -> dict:
        with self.connect() as db:
            return dict(db.execute("SELECT * FROM notes WHERE id = ?", (note_id,)).fetchone())

    def history(self, run_id: str, case_id: str) -> list[dict]:
        """Every note on a case, oldest first."""
        with self.connect() as db:
            return [dict(r) for r in db.execute(
                "SELECT * FROM notes WHERE run_id = ? AND case_id = ? ORDER BY id",
                (run_id, case_id))]

    # -- audit -------------------------------------------------------------------------
    def audit(self, *, user: str | None, role: str | None, action: str, target: str = "",
              detail: str = "", ip: str = "") -> None:
        """Append one line to the audit log: who, when, what, from where.

        Each field keeps at most :data:`AUDIT_LIMIT` characters (:func:`bounded`).
        """
        with self.connect() as db:
            self._audit(db, at=now(), user=user, role=role, action=action, target=target,
                        detail=detail, ip=ip)

    @staticmethod
    def _audit(db: sqlite3.Connection, *, at: str, user, role, action, target, detail,
               ip) -> None:
        db.execute("INSERT INTO audit (at, user, role, action, target, detail, ip) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (at, *(bounded(v) for v in (user, role, action, target, detail, ip))))

    def audit_log(self, *, limit: int = 100, offset: int = 0, user: str | None = None,
                  action: str | None = None) -> tuple[list[dict], int]:
        """Audit rows, newest first, and how many match the filters in all."""
        where, args = [], []
        if user:
            where.append("user = ?")
            args.append(user)
        if action:
            where.append("action = ?")
            args.append(action)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        with self.connect() as db:
            total = db.execute(f"SELECT COUNT(*) FROM audit{clause}", args).fetchone()[0]
            rows = db.execute(f"SELECT * FROM audit{clause} ORDER BY id DESC LIMIT ? OFFSET ?",
                              [*args, limit, offset]).fetchall()
        return [dict(r) for r in rows], total
