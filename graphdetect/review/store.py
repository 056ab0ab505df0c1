"""The review database: users, case workflow, append-only notes and audit log (SQLite, WAL).

One file per bureau (``--db review.sqlite``). Notes and audit rows can never be changed
or deleted: triggers refuse it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import GraphdetectError
from ..lineage import mint_key
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

_TABLES = (
    "CREATE TABLE IF NOT EXISTS case_state (case_key TEXT PRIMARY KEY, status TEXT NOT NULL, "
    "assignee TEXT, updated_at TEXT NOT NULL, updated_by TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "case_key TEXT NOT NULL, run_id TEXT NOT NULL, case_id TEXT NOT NULL, author TEXT NOT NULL, "
    "created_at TEXT NOT NULL, status_from TEXT, status_to TEXT, assignee TEXT, "
    "reason TEXT NOT NULL DEFAULT '', body TEXT NOT NULL DEFAULT '', suppress_until TEXT, "
    "snapshot TEXT)",
    "CREATE INDEX IF NOT EXISTS notes_key ON notes (case_key)",
    "CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, "
    "user TEXT, role TEXT, action TEXT NOT NULL, target TEXT NOT NULL DEFAULT '', "
    "detail TEXT NOT NULL DEFAULT '', ip TEXT NOT NULL DEFAULT '')",
    "CREATE TRIGGER IF NOT EXISTS notes_no_update BEFORE UPDATE ON notes "
    "BEGIN SELECT RAISE(ABORT, 'notes are append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS notes_no_delete BEFORE DELETE ON notes "
    "BEGIN SELECT RAISE(ABORT, 'notes are append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
)
#: A database made before case keys (issue 11) keyed states and notes by run and case id.
#: Its two tables are set aside (the notes' triggers dropped, as a rebuild needs), made
#: anew, filled with every row under the key minted from its run and case, and dropped.
_SET_ASIDE = (
    "DROP TRIGGER notes_no_update", "DROP TRIGGER notes_no_delete",
    "DROP INDEX IF EXISTS notes_case",
    "ALTER TABLE notes RENAME TO notes_by_run",
    "ALTER TABLE case_state RENAME TO case_state_by_run",
)
_COPY = (
    "INSERT INTO notes (id, case_key, run_id, case_id, author, created_at, status_from, "
    "status_to, assignee, reason, body) SELECT id, mint_key(run_id, case_id), run_id, "
    "case_id, author, created_at, status_from, status_to, assignee, reason, body "
    "FROM notes_by_run ORDER BY id",
    # two runs whose ids share their first 12 characters mint one key: the latest state wins
    "INSERT OR REPLACE INTO case_state SELECT mint_key(run_id, case_id), status, assignee, "
    "updated_at, updated_by FROM case_state_by_run ORDER BY updated_at, run_id, case_id",
    "DROP TABLE notes_by_run",
    "DROP TABLE case_state_by_run",
)
#: The note that set a case's current status, per key (the latest one, if several did).
_LAST_DECISION = (
    "SELECT n.* FROM notes n JOIN (SELECT n2.case_key, MAX(n2.id) AS id FROM notes n2 "
    "JOIN case_state s ON s.case_key = n2.case_key AND s.status = n2.status_to "
    "WHERE n2.status_from IS NOT n2.status_to{where} GROUP BY n2.case_key) last "
    "ON n.id = last.id")


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
    """The review database at ``path`` (created on first use; an older one, keyed by run
    and case id, is upgraded in place when opened).

    A case's status, assignee and notes belong to its case key, so they carry from run
    to run; each note also records the run and case id it was written on.

    Examples
    --------
    >>> import tempfile, os
    >>> s = ReviewStore(os.path.join(tempfile.mkdtemp(), "review.sqlite"))
    >>> s.add_user("li", "investigator", "a long passphrase")
    >>> s.check_password("li", "a long passphrase")["role"]
    'investigator'
    >>> s.decide("277ef379-R-0001", run_id="run-277ef379eb95", case_id="R-0001", user="li",
    ...          status="in_review", reason="开始核查")["status_to"]
    'in_review'
    >>> s.state("277ef379-R-0001")["status"]
    'in_review'
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Readable by its owner only (it holds password hashes, notes, the audit log);
        # SQLite gives the -wal and -shm files the database file's mode.
        os.close(os.open(self.path, os.O_RDONLY | os.O_CREAT, 0o600))
        self._local = threading.local()
        self._made: set[str] = set()
        with self.connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            init_accounts(db)
            self._schema(db)

    @staticmethod
    def _schema(db: sqlite3.Connection) -> None:
        """Make the tables, upgrading a database keyed by run and case id, in one
        transaction: every note and audit row is kept as it was, now under its key."""
        db.execute("BEGIN IMMEDIATE")
        try:
            columns = {r["name"] for r in db.execute("PRAGMA table_info(notes)")}
            old = bool(columns) and "case_key" not in columns
            for stmt in _SET_ASIDE if old else ():
                db.execute(stmt)
            for stmt in _TABLES:
                db.execute(stmt)
            if old:
                db.create_function("mint_key", 2, mint_key, deterministic=True)
                for stmt in _COPY:
                    db.execute(stmt)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def ensure(self, name: str, statements) -> None:
        """Make the tables of the feature ``name`` (the ledger, committees …) once per store
        object: each of its ``CREATE … IF NOT EXISTS`` statements, the first time it is
        asked for, rather than on every request that uses it."""
        if name not in self._made:
            with self.connect() as db:
                for stmt in statements:
                    db.execute(stmt)
            self._made.add(name)

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
    def state(self, case_key: str) -> dict:
        """A case's status and assignee (``new`` and nobody until someone acts)."""
        with self.connect() as db:
            row = db.execute("SELECT status, assignee, updated_at, updated_by FROM case_state "
                             "WHERE case_key = ?", (case_key,)).fetchone()
        return dict(row) if row else {"status": "new", "assignee": None, "updated_at": None,
                                      "updated_by": None}

    def states(self) -> dict[str, dict]:
        """Every case that has a state, by case key."""
        with self.connect() as db:
            rows = db.execute("SELECT case_key, status, assignee, updated_at, updated_by "
                              "FROM case_state").fetchall()
        return {r["case_key"]: dict(r) for r in rows}

    def decide(self, case_key: str, *, run_id: str, case_id: str, user: str,
               status: str | None = None, assignee: str | None = None, reason: str = "",
               body: str = "", suppress_until: str | None = None, snapshot: dict | None = None,
               audit: dict | None = None,
               on_confirm: Callable[[sqlite3.Connection, dict], None] | None = None,
               on_note: Callable[[sqlite3.Connection, dict], None] | None = None) -> dict:
        """Record a note on the case ``case_key``, and optionally a status change or a new
        assignee, atomically.

        ``run_id`` and ``case_id`` say where the note was written. ``reason`` and ``body``
        lose invisible characters at their ends (:func:`visible`). A dismissal may carry
        ``suppress_until`` (an ISO date: no re-alert until then, see :mod:`.alerts`); a
        decision keeps ``snapshot``, the case as it stood (:func:`.alerts.snapshot`).
        With ``audit`` (``{"role": ..., "ip": ...}``) the decision's audit row is written
        in the same transaction: both are stored, or neither. ``on_confirm(db, note)`` is
        called in that transaction too when the decision confirms the case, with the
        connection and the new note (the integrity ledger's points for a confirmation,
        :meth:`graphdetect.ledger.Ledger.scorer`): what it writes is stored with the
        decision, and what it raises undoes the decision. ``on_note(db, note)`` is called
        likewise for any note (a committee's outcome, written with the note it causes).

        Raises
        ------
        WorkflowError
            When the status change is not allowed from the current status, a decision
            (confirm, dismiss, refer) comes without a reason, or a suppression without
            a dismissal.
        """
        reason, body = visible(reason), visible(body)
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute("SELECT status, assignee FROM case_state WHERE case_key = ?",
                                 (case_key,)).fetchone()
                current = row["status"] if row else "new"
                current_assignee = row["assignee"] if row else None
                if status is not None and status != current:
                    if status not in TRANSITIONS.get(current, ()):
                        raise WorkflowError(f"{case_id}: cannot go from {current} to {status}")
                    if status in ("confirmed", "dismissed", "referred") and not reason:
                        raise WorkflowError(f"{case_id}: a decision to {status} needs a reason")
                dismissal = status == "dismissed" and current != "dismissed"
                if suppress_until and not dismissal:
                    raise WorkflowError(f"{case_id}: only a dismissal may suppress re-alerts")
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
                db.execute("INSERT OR REPLACE INTO case_state VALUES (?, ?, ?, ?, ?)",
                           (case_key, new_status, new_assignee, at, user))
                cur = db.execute(
                    "INSERT INTO notes (case_key, run_id, case_id, author, created_at, "
                    "status_from, status_to, assignee, reason, body, suppress_until, snapshot) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (case_key, run_id, case_id, user, at, current, new_status, new_assignee,
                     reason, body, suppress_until or None,
                     None if snapshot is None else json.dumps(snapshot, ensure_ascii=False,
                                                              sort_keys=True)))
                if audit is not None:
                    until = f"; suppress_until={suppress_until}" if suppress_until else ""
                    self._audit(db, at=at, user=user, role=audit.get("role"), action="decision",
                                target=case_id, ip=audit.get("ip", ""),
                                detail=f"{current} -> {new_status}; assignee={new_assignee or ''}"
                                       f"; reason={reason}; key={case_key}; run={run_id}{until}")
                confirms = new_status == "confirmed" and current != new_status
                if on_note is not None or (on_confirm is not None and confirms):
                    note = _note(db.execute("SELECT * FROM notes WHERE id = ?",
                                            (cur.lastrowid,)).fetchone())
                    if on_confirm is not None and confirms:
                        on_confirm(db, note)
                    if on_note is not None:
                        on_note(db, note)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return self.note(cur.lastrowid)

    def note(self, note_id: int) -> dict:
        with self.connect() as db:
            return _note(db.execute("SELECT * FROM notes WHERE id = ?", (note_id,)).fetchone())

    def history(self, case_key: str) -> list[dict]:
        """Every note on a case, from every run, oldest first."""
        with self.connect() as db:
            return [_note(r) for r in db.execute(
                "SELECT * FROM notes WHERE case_key = ? ORDER BY id", (case_key,))]

    def decisions(self) -> list[dict]:
        """Every status change of every case, oldest first: ``case_key``, ``status_from``,
        ``status_to``, ``created_at``, ``run_id``, ``case_id``."""
        with self.connect() as db:
            return [dict(r) for r in db.execute(
                "SELECT case_key, status_from, status_to, created_at, run_id, case_id "
                "FROM notes WHERE status_from IS NOT status_to ORDER BY id")]

    def last_decision(self, case_key: str) -> dict | None:
        """The note that set the case's current status (None while it is ``new``)."""
        with self.connect() as db:
            row = db.execute(_LAST_DECISION.format(where=" AND n2.case_key = ?"),
                             (case_key,)).fetchone()
        return _note(row) if row else None

    def last_decisions(self) -> dict[str, dict]:
        """:meth:`last_decision` of every case that has one, by case key (one query)."""
        with self.connect() as db:
            return {r["case_key"]: _note(r) for r in db.execute(_LAST_DECISION.format(where=""))}

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


def _note(row: sqlite3.Row) -> dict:
    """A note as a dict, its snapshot read back from JSON."""
    note = dict(row)
    note["snapshot"] = json.loads(note["snapshot"]) if note.get("snapshot") else None
    return note

