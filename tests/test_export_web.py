"""Evidence packages through the review UI: who may export, where and how privately."""

from __future__ import annotations

import io
import sqlite3
import stat
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import login
from export_support import need_font
from werkzeug.security import generate_password_hash

from graphdetect.review.store import ReviewStore

ODD_USER = "../../../tmp/x"
ODD_PASSWORD = "a long enough passphrase 1"


@pytest.fixture
def ring(planted_run) -> str:
    import json

    with open(planted_run / "cases.jsonl", encoding="utf-8") as f:
        return next(c["case_id"] for c in map(json.loads, f) if c["pattern"] == "collusion_ring")


def confirm(client, case_id: str) -> None:
    url = f"/api/cases/{case_id}/decision"
    assert client.post(url, json={"status": "in_review"}).status_code == 201
    assert client.post(url, json={"status": "confirmed", "reason": "病历雷同"}).status_code == 201


def test_reviewer_sees_no_export_and_is_refused(make_app, ring, review_db):
    app = make_app()
    li, rev = app.test_client(), app.test_client()
    login(li, "li")
    confirm(li, ring)
    login(rev, "rev")
    assert rev.get(f"/api/cases/{ring}").get_json()["can_export"] is False
    assert f"/cases/{ring}/export" not in rev.get(f"/cases/{ring}").get_data(as_text=True)
    res = rev.post(f"/cases/{ring}/export")
    assert res.status_code == 403 and "review blind" in res.get_data(as_text=True)
    rows, total = ReviewStore(review_db).audit_log(action="export_denied")
    assert total == 1 and rows[0]["user"] == "rev" and rows[0]["target"] == ring
    assert ReviewStore(review_db).audit_log(action="export")[1] == 0


def add_user_directly(db: Path, name: str, role: str, password: str) -> None:
    """A user as a database of an older version may hold one (no name checks then)."""
    with sqlite3.connect(db) as con:
        con.execute("INSERT INTO users (name, role, password_hash, created_at) "
                    "VALUES (?, ?, ?, ?)", (name, role, generate_password_hash(password),
                                            datetime.now(UTC).isoformat(timespec="seconds")))


def test_export_folder_is_built_from_safe_parts_and_private(make_app, ring, review_db,
                                                           tmp_path):
    """A user named ``../../../tmp/x`` exports into the exports folder, nowhere else, and
    every folder and file written there is the owner's alone."""
    need_font()
    add_user_directly(review_db, ODD_USER, "investigator", ODD_PASSWORD)
    exports = tmp_path / "a" / "b" / "exports"
    app = make_app(EXPORT_DIR=str(exports))
    client = app.test_client()
    res = client.post("/login", data={"username": ODD_USER, "password": ODD_PASSWORD})
    assert res.status_code == 302, res.data
    confirm(client, ring)
    with client.post(f"/cases/{ring}/export") as res:
        assert res.status_code == 200 and res.mimetype == "application/zip"
        names = zipfile.ZipFile(io.BytesIO(res.data)).namelist()
    assert any(n.endswith("/report.pdf") for n in names)
    assert not (tmp_path / "tmp").exists()  # where exports/../../../tmp/x would lead
    written = [p for p in tmp_path.rglob("*") if "exports" not in p.parts and p.is_file()
               and p.suffix in (".zip", ".pdf")]
    assert written == []
    (user_dir,) = exports.iterdir()
    assert user_dir.name.startswith("tmp_x-") and user_dir.is_dir()
    assert stat.S_IMODE(exports.stat().st_mode) == 0o700
    assert stat.S_IMODE(user_dir.stat().st_mode) == 0o700
    for p in user_dir.rglob("*"):
        assert stat.S_IMODE(p.stat().st_mode) == (0o700 if p.is_dir() else 0o600), p
    rows, total = ReviewStore(review_db).audit_log(action="export")
    assert total == 1 and rows[0]["user"] == ODD_USER
