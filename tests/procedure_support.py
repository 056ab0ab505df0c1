"""What the procedure's tests share: a review database with users (made once per module:
passwords are slow to hash on purpose), cases made by hand, and the steps that bring a
case to a committee, a confirmation and points."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from graphdetect.ledger import Ledger, load_rules
from graphdetect.review.committee import Committees
from graphdetect.review.store import ReviewStore

RUN = "run-277ef379eb95"
REVIEWERS = ("rev", "rev2", "rev3", "rev4", "rev5")
INVESTIGATORS = ("li", "inv2", "inv3", "inv4", "inv5", "inv6")


def make_case(n: int = 1, places: tuple[str, ...] = ("H1",)) -> dict:
    members = [{"kind": "institution", "id": p, "role": "host"} for p in places]
    members.append({"kind": "doctor", "id": "D1", "role": "doctor"})
    return {"case_id": f"K-{n:04d}", "case_key": f"277ef379-K-{n:04d}", "pattern":
            "card_pooling", "rules": ["聚敛盗刷"], "metrics": {"total_amount": 9000.0},
            "members": members}


@pytest.fixture(scope="module")
def users_db(tmp_path_factory) -> Path:
    """A review database with the users only (passwords are slow to hash on purpose:
    made once, copied for each test)."""
    path = tmp_path_factory.mktemp("procedure") / "review.sqlite"
    s = ReviewStore(path)
    s.add_user("admin", "admin", "keeper-of-keys-1")
    for name in REVIEWERS:
        s.add_user(name, "reviewer", "blind reading passphrase")
    for name in INVESTIGATORS:
        s.add_user(name, "investigator", "investigating passphrase")
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    s.close()
    return path


@pytest.fixture
def store(users_db, tmp_path) -> ReviewStore:
    copy = tmp_path / "review.sqlite"
    shutil.copyfile(users_db, copy)
    return ReviewStore(copy)


def in_review(store: ReviewStore, case: dict) -> None:
    store.decide(case["case_key"], run_id=RUN, case_id=case["case_id"], user="li",
                 status="in_review", reason="开始核查")


def committee(store, case, members=("rev", "rev2", "rev3"), **kw) -> dict:
    return Committees(store).open(case, case_key=case["case_key"], run_id=RUN, by="admin",
                                  members=list(members), role="admin", **kw)


def audit(store: ReviewStore, action: str) -> list[dict]:
    return [r for r in store.audit_log(limit=1000)[0] if r["action"] == action]


def confirmed_with_points(store, n=1) -> dict:
    case = make_case(n)
    in_review(store, case)
    store.decide(case["case_key"], run_id=RUN, case_id=case["case_id"], user="li",
                 status="confirmed", reason="已核实")
    Ledger(store).record_confirmation(case, run_id=RUN, severity="serious", user="admin",
                                      rules=load_rules())
    return case


def scored_at(store, n: int, when: str, severity: str = "grave", rules=None) -> None:
    """Confirm and score case ``n`` with its confirmation and recording stamped ``when``."""
    from unittest import mock

    case = make_case(n)
    with mock.patch("graphdetect.review.store.now", return_value=when), \
            mock.patch("graphdetect.ledger.book.now", return_value=when):
        in_review(store, case)
        store.decide(case["case_key"], run_id=RUN, case_id=case["case_id"], user="li",
                     status="confirmed", reason="已核实")
        Ledger(store).record_confirmation(case, run_id=RUN, severity=severity, user="admin",
                                          rules=rules or load_rules())
