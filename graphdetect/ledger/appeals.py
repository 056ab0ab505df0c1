"""Appeals (申诉): an institution contests a confirmed case before its sanction stands.

An investigator or admin files the institution's appeal on a confirmed (or referred) case:
its text and attachments, each stored with its SHA-256 and checked against it whenever
it is read back. The appeal is decided like a case: by an admin, or by a committee
(:mod:`graphdetect.review.committee`, votes ``uphold`` / ``reject``). An upheld appeal
revokes every ledger entry the case produced, with the decision's reason, and sends a
confirmed case back to review; a rejected one leaves both as they were. Either outcome is
a note on the case. Appeals, attachments and outcomes are append-only.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable

from ..errors import ProcedureError
from ..review.accounts import now
from ..review.store import ReviewStore, visible
from .book import SCORED_STATUSES, Ledger, open_entry_ids, revoke_in

__all__ = ["Appeals", "MAX_ATTACHMENT", "OUTCOMES"]

#: The largest attachment kept (bytes): scans of letters and contracts, not video.
MAX_ATTACHMENT = 20 * 1024 * 1024
OUTCOMES = ("upheld", "rejected")

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS appeals (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "case_key TEXT NOT NULL, run_id TEXT NOT NULL, case_id TEXT NOT NULL, "
    "appellant TEXT NOT NULL, text TEXT NOT NULL, filed_by TEXT NOT NULL, "
    "filed_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS appeal_files (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "appeal_id INTEGER NOT NULL REFERENCES appeals (id), name TEXT NOT NULL, "
    "sha256 TEXT NOT NULL, size INTEGER NOT NULL, content BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS appeal_outcomes (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "appeal_id INTEGER NOT NULL UNIQUE REFERENCES appeals (id), outcome TEXT NOT NULL "
    "CHECK (outcome IN ('upheld', 'rejected')), reason TEXT NOT NULL, "
    "decided_by TEXT NOT NULL, decided_at TEXT NOT NULL, committee_id INTEGER, "
    "revocations TEXT NOT NULL DEFAULT '')",
    "CREATE INDEX IF NOT EXISTS appeals_case ON appeals (case_key)",
    *(f"CREATE TRIGGER IF NOT EXISTS {t}_no_{op.lower()} BEFORE {op} ON {t} "
      f"BEGIN SELECT RAISE(ABORT, '{t} are append-only'); END"
      for t in ("appeals", "appeal_files", "appeal_outcomes") for op in ("UPDATE", "DELETE")),
)


class Appeals:
    """The appeals in the review database ``store``."""

    def __init__(self, store: ReviewStore):
        self.store = store
        Ledger(store)  # the ledger's tables, which an upheld appeal writes to
        store.ensure("appeals", _SCHEMA)

    def file(self, case: dict, *, case_key: str, run_id: str, appellant: str, text: str,
             by: str, attachments: list[tuple[str, bytes]] = (), role: str | None = None,
             ip: str = "") -> dict:
        """File ``appellant``'s appeal (an institution of the case) against the confirmed
        ``case``, with ``attachments`` (file name, content). Audited with each file's
        SHA-256.

        Raises
        ------
        ProcedureError
            When the case is not confirmed or referred, has an open appeal, the text or
            appellant is missing, or an attachment is empty or too large.
        """
        appellant, text = visible(appellant), visible(text)
        if not appellant or not text:
            raise ProcedureError("procedure.appeal_fields")
        status = self.store.state(case_key)["status"]
        if status not in SCORED_STATUSES:
            raise ProcedureError("procedure.appeal_status", case_id=case["case_id"],
                                 status=status)
        files = []
        for name, content in attachments:
            name = visible(name.replace("\\", "/").rsplit("/", 1)[-1])[:200] or "attachment"
            if not content:
                raise ProcedureError("procedure.attachment", name=name, problem="empty")
            if len(content) > MAX_ATTACHMENT:
                raise ProcedureError("procedure.attachment", name=name,
                                     problem=f"over {MAX_ATTACHMENT // 2**20} MiB")
            files.append((name, hashlib.sha256(content).hexdigest(), len(content), content))
        at = now()
        with self.store.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                pending = self._open(db, case_key)
                if pending is not None:
                    raise ProcedureError("procedure.appeal_open", case_id=case["case_id"],
                                         appeal=pending)
                new = db.execute("INSERT INTO appeals (case_key, run_id, case_id, appellant, "
                                 "text, filed_by, filed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                 (case_key, run_id, case["case_id"], appellant, text, by,
                                  at)).lastrowid
                for name, digest, size, content in files:
                    db.execute("INSERT INTO appeal_files (appeal_id, name, sha256, size, "
                               "content) VALUES (?, ?, ?, ?, ?)",
                               (new, name, digest, size, content))
                ReviewStore._audit(db, at=at, user=by, role=role, action="appeal filed",
                                   target=case["case_id"], ip=ip,
                                   detail=f"appeal={new}; appellant={appellant}; key={case_key}; "
                                          + "; ".join(f"{n} sha256={d}" for n, d, *_ in files))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return self.get(new)

    @staticmethod
    def _open(db: sqlite3.Connection, case_key: str) -> int | None:
        row = db.execute("SELECT a.id FROM appeals a LEFT JOIN appeal_outcomes o "
                         "ON o.appeal_id = a.id WHERE a.case_key = ? AND o.id IS NULL",
                         (case_key,)).fetchone()
        return row[0] if row else None

    def decide(self, appeal_id: int, *, outcome: str, reason: str, by: str,
               role: str | None = None, ip: str = "", committee_id: int | None = None,
               also: Callable[[sqlite3.Connection, dict], None] | None = None) -> dict:
        """Decide the appeal: ``upheld`` revokes the case's open ledger entries with
        ``reason`` and sends a confirmed case back to review; ``rejected`` changes
        nothing else. Written as a note on the case, in one transaction with the outcome,
        the revocations and ``also(db, note)`` (a committee's own outcome). Audited.

        Raises
        ------
        ProcedureError
            When there is no such appeal, it was decided already, the outcome is unknown
            or no reason is given.
        """
        reason = visible(reason)
        a = self.get(appeal_id)
        if a is None:
            raise ProcedureError("procedure.no_appeal", appeal=appeal_id)
        if a["outcome"] is not None:
            raise ProcedureError("procedure.appeal_decided", appeal=appeal_id)
        if outcome not in OUTCOMES:
            raise ProcedureError("procedure.bad_vote", vote=outcome, choices=", ".join(OUTCOMES))
        if not reason:
            raise ProcedureError("procedure.needs_reason")
        status = self.store.state(a["case_key"])["status"]
        back = outcome == "upheld" and status == "confirmed"
        text = f"appeal #{appeal_id} {outcome}: {reason}"

        def record(db: sqlite3.Connection, note: dict) -> None:
            if db.execute("SELECT 1 FROM appeal_outcomes WHERE appeal_id = ?",
                          (appeal_id,)).fetchone():
                raise ProcedureError("procedure.appeal_decided", appeal=appeal_id)
            revoked = [revoke_in(db, e, user=by, reason=text, role=role, ip=ip)
                       for e in (open_entry_ids(db, a["case_key"]) if outcome == "upheld"
                                 else ())]
            db.execute("INSERT INTO appeal_outcomes (appeal_id, outcome, reason, decided_by, "
                       "decided_at, committee_id, revocations) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (appeal_id, outcome, reason, by, note["created_at"], committee_id,
                        ",".join(map(str, revoked))))
            ReviewStore._audit(db, at=note["created_at"], user=by, role=role,
                               action="appeal decided", target=a["case_id"], ip=ip,
                               detail=f"appeal={appeal_id}; outcome={outcome}; "
                                      f"revocations={','.join(map(str, revoked))}; "
                                      f"reason={reason}")
            if also is not None:
                also(db, note)

        self.store.decide(a["case_key"], run_id=a["run_id"], case_id=a["case_id"], user=by,
                          status="in_review" if back else None, reason=text if back else "",
                          body="" if back else text, on_note=record)
        return self.get(appeal_id)

    # -- reading -----------------------------------------------------------------------
    def get(self, appeal_id: int) -> dict | None:
        """An appeal with its attachments (name, sha256, size, id; no content) and its
        outcome (None while open)."""
        with self.store.connect() as db:
            row = db.execute("SELECT * FROM appeals WHERE id = ?", (appeal_id,)).fetchone()
            if row is None:
                return None
            files = [dict(f) for f in db.execute(
                "SELECT id, name, sha256, size FROM appeal_files WHERE appeal_id = ? "
                "ORDER BY id", (appeal_id,))]
            out = db.execute("SELECT * FROM appeal_outcomes WHERE appeal_id = ?",
                             (appeal_id,)).fetchone()
        return {**dict(row), "files": files, "outcome": dict(out) if out else None}

    def of_case(self, case_key: str) -> list[dict]:
        """Every appeal of a case, oldest first."""
        with self.store.connect() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM appeals WHERE case_key = ? "
                                            "ORDER BY id", (case_key,))]
        return [self.get(i) for i in ids]

    def attachment(self, file_id: int) -> tuple[dict, bytes]:
        """An attachment's row and content, checked against its SHA-256.

        Raises
        ------
        ProcedureError
            When there is no such attachment, or its content no longer matches.
        """
        with self.store.connect() as db:
            row = db.execute("SELECT * FROM appeal_files WHERE id = ?", (file_id,)).fetchone()
        if row is None:
            raise ProcedureError("procedure.attachment", name=f"#{file_id}", problem="missing")
        if hashlib.sha256(row["content"]).hexdigest() != row["sha256"]:
            raise ProcedureError("procedure.attachment", name=row["name"],
                                 problem="content does not match its SHA-256")
        meta = {k: row[k] for k in ("id", "appeal_id", "name", "sha256", "size")}
        return meta, bytes(row["content"])
