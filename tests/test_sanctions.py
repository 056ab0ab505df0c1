"""What a confirmed case leads to, on a real review database: appeals with their
attachments that revoke points when upheld, the bureau's year, and the dates a sanction
runs."""

from __future__ import annotations

import hashlib
import sqlite3

import procedure_support
import pytest
from procedure_support import RUN, committee, confirmed_with_points, in_review, make_case, scored_at

from graphdetect.errors import ProcedureError
from graphdetect.ledger import Ledger, load_rules
from graphdetect.ledger.appeals import Appeals
from graphdetect.review.committee import Committees

#: the fixtures a test asks for by name
users_db, store = procedure_support.users_db, procedure_support.store


# -- appeals ------------------------------------------------------------------------------
def test_an_upheld_appeal_revokes_the_points_and_reopens_the_case(store):
    case = confirmed_with_points(store)
    appeals = Appeals(store)
    scan = b"%PDF-1.4 scanned letter"
    a = appeals.file(case, case_key=case["case_key"], run_id=RUN, appellant="H1",
                     text="刷卡为患者本人授权，附授权书", by="li",
                     attachments=[("../../授权书.pdf", scan)], role="investigator")
    assert a["files"][0]["name"] == "授权书.pdf"
    assert a["files"][0]["sha256"] == hashlib.sha256(scan).hexdigest()
    assert appeals.attachment(a["files"][0]["id"])[1] == scan
    with pytest.raises(ProcedureError, match="still open"):
        appeals.file(case, case_key=case["case_key"], run_id=RUN, appellant="H1", text="再诉",
                     by="li")
    done = appeals.decide(a["id"], outcome="upheld", reason="授权书属实", by="admin",
                          role="admin")
    assert done["outcome"]["outcome"] == "upheld"
    standing = {r["entity_id"]: r["points"] for r in Ledger(store).standing(
        int(done["outcome"]["decided_at"][:4]), load_rules())}
    assert standing == {"H1": 0, "D1": 0}
    revocations = [e for e in Ledger(store).entries(case_key=case["case_key"])
                   if e["revokes"] is not None]
    assert len(revocations) == 2 and all("授权书属实" in e["reason"] for e in revocations)
    assert store.state(case["case_key"])["status"] == "in_review"
    with pytest.raises(ProcedureError, match="decided already"):
        appeals.decide(a["id"], outcome="rejected", reason="x", by="admin")


def test_a_rejected_appeal_by_committee_leaves_the_points(store):
    case = confirmed_with_points(store)
    appeals = Appeals(store)
    a = appeals.file(case, case_key=case["case_key"], run_id=RUN, appellant="H1",
                     text="不服认定", by="li")
    c = committee(store, case, appeal_id=a["id"])
    cs = Committees(store)
    with pytest.raises(ProcedureError, match="one of"):
        cs.vote(c["id"], member="rev", vote="confirm", reason="理由")
    for m, v in zip(c["members"], ("reject", "reject", "uphold"), strict=True):
        cs.vote(c["id"], member=m, vote=v, reason="意见")
    got = appeals.get(a["id"])
    assert got["outcome"]["outcome"] == "rejected"
    assert got["outcome"]["committee_id"] == c["id"]
    assert store.state(case["case_key"])["status"] == "confirmed"
    assert sum(e["points"] for e in Ledger(store).entries(case_key=case["case_key"])) == 10


def test_only_a_confirmed_case_is_appealed_and_attachments_are_checked(store):
    case = make_case()
    in_review(store, case)
    appeals = Appeals(store)
    with pytest.raises(ProcedureError, match="confirmed or referred"):
        appeals.file(case, case_key=case["case_key"], run_id=RUN, appellant="H1", text="x",
                     by="li")
    case = confirmed_with_points(store, 2)
    with pytest.raises(ProcedureError, match="empty"):
        appeals.file(case, case_key=case["case_key"], run_id=RUN, appellant="H1", text="x",
                     by="li", attachments=[("a.pdf", b"")])
    a = appeals.file(case, case_key=case["case_key"], run_id=RUN, appellant="H1", text="x",
                     by="li", attachments=[("a.pdf", b"real")])
    # the row cannot be changed through the triggers; a content swapped behind them
    # (the file edited outside graphdetect) is caught on reading
    with sqlite3.connect(store.path) as db:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("UPDATE appeal_files SET content = x'00'")
        db.execute("DROP TRIGGER appeal_files_no_update")
        db.execute("UPDATE appeal_files SET content = x'00'")
    with pytest.raises(ProcedureError, match="does not match its SHA-256"):
        appeals.attachment(a["files"][0]["id"])


# -- the bureau's year and the sanctions' dates ---------------------------------------------
def test_points_fall_in_the_bureaus_year_not_utcs(store):
    scored_at(store, 1, "2025-12-31T20:00:00+00:00")  # 04:00 on 1 January in Shanghai
    assert {e["year"] for e in Ledger(store).entries()} == {2026}
    utc = Ledger(store, time_zone="UTC")
    scored_at(store, 2, "2025-12-31T20:00:00+00:00")
    assert {e["year"] for e in utc.entries(case_key=make_case(2)["case_key"])} == {2026}


@pytest.mark.parametrize("cases, tier, since, until", [
    (1, 1, "2026-03-02", ""),            # 12 points: interview and a cut, no end date
    (2, 2, "2026-04-02", "2026-05-02"),  # 24: suspended 1 month from the second case
    (3, 4, "2026-05-31", ""),            # 36: designation cancelled, no end date
])
def test_sanctions_run_from_the_day_the_tier_was_reached(store, cases, tier, since, until):
    stamps = ("2026-03-02T01:00:00+00:00", "2026-04-02T01:00:00+00:00",
              "2026-05-30T17:00:00+00:00")  # the last is 31 May in Shanghai
    for n, when in list(enumerate(stamps, 1))[:cases]:
        scored_at(store, n, when)
    row = next(r for r in Ledger(store).standing(2026, load_rules(), "institution"))
    assert (row["tier"], row["since"], row["until"]) == (tier, since, until)


def test_a_revocation_ends_the_tier_and_its_dates(store):
    scored_at(store, 1, "2026-03-02T01:00:00+00:00")
    ledger = Ledger(store)
    for e in ledger.entries():
        ledger.revoke(e["id"], user="admin", reason="申诉成立")
    row = ledger.standing(2026, load_rules(), "institution")[0]
    assert (row["points"], row["tier"], row["since"], row["until"]) == (0, 0, "", "")


def test_a_tier_fallen_back_to_keeps_the_day_it_was_first_reached(store):
    stamps = ("2026-03-02T01:00:00+00:00", "2026-04-02T01:00:00+00:00",
              "2026-05-02T01:00:00+00:00")
    for n, when in enumerate(stamps, 1):  # 12, 24 (suspended 1 month), 36 (cancelled)
        scored_at(store, n, when)
    ledger = Ledger(store)
    third = [e for e in ledger.entries(case_key=make_case(3)["case_key"])
             if e["entity_kind"] == "institution"][0]
    ledger.revoke(third["id"], user="admin", reason="申诉成立")  # back to 24 points
    row = ledger.standing(2026, load_rules(), "institution")[0]
    assert (row["points"], row["tier"], row["since"], row["until"]) == \
        (24, 2, "2026-04-02", "2026-05-02")
