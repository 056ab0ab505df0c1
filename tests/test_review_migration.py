"""The upgrade of a review database made before case keys (keyed by run and case id):
in place, losing nothing, the append-only rules kept."""

from __future__ import annotations

import sqlite3

import pytest
from werkzeug.security import generate_password_hash

from graphdetect.review.store import ReviewStore

# -- the upgrade of an old database -------------------------------------------------------
#: The review database's tables before case keys (``git show eb31ca9:graphdetect/review/store.py``).
OLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL);
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
OLD_NOTES = [  # run, case, author, at, from, to, assignee, reason, body
    ("run-277ef379eb95", "R-0003", "li", "2024-02-01T01:00:00+00:00", "new", "in_review", "li",
     "", "开始核查"),
    ("run-277ef379eb95", "R-0003", "li", "2024-02-03T01:00:00+00:00", "in_review", "confirmed",
     "li", "病历雷同", ""),
    ("run-9a0b1c2d3e4f", "R-0001", "li", "2024-03-01T01:00:00+00:00", "new", "in_review", None,
     "", "另一个月"),
    ("run-9a0b1c2d3e4f", "S-0002", "rev", "2024-03-02T01:00:00+00:00", "new", "new", None,
     "", "评审意见"),
]
OLD_STATES = [("run-277ef379eb95", "R-0003", "confirmed", "li", "2024-02-03T01:00:00+00:00", "li"),
              ("run-9a0b1c2d3e4f", "R-0001", "in_review", None, "2024-03-01T01:00:00+00:00",
               "li")]


def test_an_old_database_is_upgraded_in_place_losing_nothing(tmp_path):
    path = tmp_path / "review.sqlite"
    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA)
    db.execute("INSERT INTO users VALUES ('li', 'investigator', ?, '2024-01-01T00:00:00+00:00')",
               (generate_password_hash("investigator-secret-1"),))
    db.executemany("INSERT INTO notes (run_id, case_id, author, created_at, status_from, "
                   "status_to, assignee, reason, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   OLD_NOTES)
    db.executemany("INSERT INTO case_state VALUES (?, ?, ?, ?, ?, ?)", OLD_STATES)
    db.executemany("INSERT INTO audit (at, user, role, action, target, detail, ip) VALUES "
                   "(?, ?, ?, ?, ?, ?, ?)",
                   [(n[3], n[2], "investigator", "decision", n[1], f"{n[4]} -> {n[5]}", "10.0.0.1")
                    for n in OLD_NOTES])
    db.commit()
    old_audit = db.execute("SELECT * FROM audit ORDER BY id").fetchall()
    db.close()

    store = ReviewStore(path)
    notes = [n for key in ("277ef379-R-0003", "9a0b1c2d-R-0001", "9a0b1c2d-S-0002")
             for n in store.history(key)]
    assert [n["id"] for n in notes] == [1, 2, 3, 4]
    assert [(n["run_id"], n["case_id"], n["author"], n["created_at"], n["status_from"],
             n["status_to"], n["assignee"], n["reason"], n["body"]) for n in notes] == OLD_NOTES
    assert [n["case_key"] for n in notes] == ["277ef379-R-0003"] * 2 + ["9a0b1c2d-R-0001",
                                                                      "9a0b1c2d-S-0002"]
    assert all(n["suppress_until"] is None and n["snapshot"] is None for n in notes)
    assert store.states() == {
        "277ef379-R-0003": {"case_key": "277ef379-R-0003", "status": "confirmed",
                            "assignee": "li", "updated_at": OLD_STATES[0][4], "updated_by": "li"},
        "9a0b1c2d-R-0001": {"case_key": "9a0b1c2d-R-0001", "status": "in_review",
                            "assignee": None, "updated_at": OLD_STATES[1][4], "updated_by": "li"}}
    assert store.last_decision("277ef379-R-0003")["id"] == 2
    assert [d["status_to"] for d in store.decisions()] == ["in_review", "confirmed", "in_review"]
    assert store.check_password("li", "investigator-secret-1")["role"] == "investigator"
    with store.connect() as db:
        assert [tuple(r) for r in db.execute("SELECT * FROM audit ORDER BY id")] == old_audit
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
        assert not {"notes_by_run", "case_state_by_run", "notes_case"} & tables
        for stmt in ("UPDATE notes SET body = 'x'", "DELETE FROM notes",
                     "UPDATE audit SET detail = 'x'", "DELETE FROM audit"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                db.execute(stmt)
    # a new note follows the old ones; opening the database again changes nothing
    new = store.decide("277ef379-R-0003", run_id="run-5c6d7e8f9a0b", case_id="R-0002",
                       user="li", status="referred", reason="移送公安")
    assert new["id"] == 5 and new["status_from"] == "confirmed"
    again = ReviewStore(path)
    assert [n["id"] for n in again.history("277ef379-R-0003")] == [1, 2, 5]
