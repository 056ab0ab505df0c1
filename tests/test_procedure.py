"""The review procedure on a real review database: committees (blind votes, quorum,
agreement), random assignment with recusal that replays from its audit row, appeals that
revoke points, and the append-only tables."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from graphdetect.errors import LedgerError, ProcedureError
from graphdetect.ledger import Ledger, load_rules
from graphdetect.ledger.appeals import Appeals
from graphdetect.ledger.rules import default_rules_path
from graphdetect.review.committee import Committees, outcome_of
from graphdetect.review.draw import Draws, replay
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


# -- committees ---------------------------------------------------------------------------
@pytest.mark.parametrize("votes, quorum, outcome, agreement", [
    (["confirm", "confirm", "confirm"], 2, "confirm", 1.0),
    (["confirm", "dismiss", "confirm"], 2, "confirm", 0.6667),
    (["dismiss", "dismiss", "confirm"], 3, "dismiss", 0.6667),
    (["confirm", "dismiss"], 2, "tied", 0.5),
    (["confirm"], 2, "no_quorum", 1.0),
    ([], 1, "no_quorum", 0.0),
])
def test_outcome_is_the_majority_of_votes_cast_when_the_quorum_is_met(votes, quorum, outcome,
                                                                      agreement):
    assert outcome_of("case", votes, quorum) == (outcome, agreement)


def test_committee_confirms_the_case_when_all_have_voted(store):
    case = make_case()
    in_review(store, case)
    c = committee(store, case)
    assert c["quorum"] == 2 and c["outcome"] is None
    cs = Committees(store)
    cs.vote(c["id"], member="rev", vote="confirm", reason="刷卡时间集中")
    cs.vote(c["id"], member="rev2", vote="dismiss", reason="证据不足")
    assert store.state(case["case_key"])["status"] == "in_review"  # not closed yet
    done = cs.vote(c["id"], member="rev3", vote="confirm", reason="与住院记录冲突")
    assert done["outcome"]["outcome"] == "confirm"
    assert done["outcome"]["agreement"] == pytest.approx(2 / 3, abs=1e-4)
    assert (done["outcome"]["votes_for"], done["outcome"]["votes_against"]) == (2, 1)
    state = store.state(case["case_key"])
    assert state["status"] == "confirmed"
    last = store.last_decision(case["case_key"])
    assert last["author"] == f"committee #{c['id']}" and "2 confirm, 1 dismiss" in last["reason"]
    closed = audit(store, "committee closed")[0]
    assert "rev=confirm" in closed["detail"] and "rev2=dismiss" in closed["detail"]


def test_votes_are_blind_until_the_committee_closes(store):
    case = make_case()
    in_review(store, case)
    c = committee(store, case)
    cs = Committees(store)
    cs.vote(c["id"], member="rev", vote="dismiss", reason="证据不足，说明略")
    cs.vote(c["id"], member="rev2", vote="confirm", reason="时段高度集中")
    for viewer in ("rev2", "rev3", "admin"):
        shown = Committees.shown(cs.get(c["id"]), viewer)
        assert all(v["member"] == viewer for v in shown["votes"])
        assert "证据不足" not in json.dumps(shown, ensure_ascii=False)
        assert shown["voted"] == ["rev", "rev2"]
    # the audit log of a vote does not say how the member voted
    assert all("dismiss" not in r["detail"] and "confirm" not in r["detail"]
               for r in audit(store, "committee vote"))
    cs.vote(c["id"], member="rev3", vote="dismiss", reason="同意第一位意见")
    shown = Committees.shown(cs.get(c["id"]), "rev3")
    assert [v["vote"] for v in shown["votes"]] == ["dismiss", "confirm", "dismiss"]
    assert store.state(case["case_key"])["status"] == "dismissed"


def test_members_are_enabled_reviewers_with_no_tie_to_the_case(store):
    case = make_case(places=("H1", "H2"))
    in_review(store, case)
    with pytest.raises(ProcedureError, match="reviewers"):
        committee(store, case, members=("rev", "li", "rev3"))  # an investigator sees real ids
    with pytest.raises(ProcedureError, match="reviewers"):
        committee(store, case, members=("rev", "rev", "rev3"))
    Draws(store).declare("rev2", "H2", "配偶在该院工作", by="rev2")
    with pytest.raises(ProcedureError, match="must recuse"):
        committee(store, case)
    with pytest.raises(ProcedureError, match="quorum"):
        committee(store, case, members=("rev", "rev3"), quorum=3)


def test_one_open_committee_and_one_vote_each(store):
    case = make_case()
    in_review(store, case)
    c = committee(store, case)
    with pytest.raises(ProcedureError, match="open committee"):
        committee(store, case)
    cs = Committees(store)
    cs.vote(c["id"], member="rev", vote="confirm", reason="理由")
    with pytest.raises(ProcedureError, match="voted already"):
        cs.vote(c["id"], member="rev", vote="dismiss", reason="改主意")
    with pytest.raises(ProcedureError, match="not a member"):
        cs.vote(c["id"], member="rev4", vote="confirm", reason="理由")
    with pytest.raises(ProcedureError, match="one of"):
        cs.vote(c["id"], member="rev2", vote="maybe", reason="理由")
    with pytest.raises(ProcedureError, match="reason"):
        cs.vote(c["id"], member="rev2", vote="confirm", reason="\u200b ")


def test_an_admin_closes_with_a_member_absent_and_no_quorum_leaves_the_case(store):
    case = make_case()
    in_review(store, case)
    c = committee(store, case, quorum=3)
    cs = Committees(store)
    cs.vote(c["id"], member="rev", vote="confirm", reason="理由一")
    cs.vote(c["id"], member="rev2", vote="confirm", reason="理由二")
    closed = cs.close(c["id"], by="admin", role="admin")
    assert closed["outcome"]["outcome"] == "no_quorum"
    assert store.state(case["case_key"])["status"] == "in_review"
    with pytest.raises(ProcedureError, match="closed"):
        cs.vote(c["id"], member="rev3", vote="confirm", reason="迟到")
    assert committee(store, case)["id"] != c["id"]  # a new committee may sit


def test_committee_members_drawn_at_random_with_recusal(store):
    case = make_case()
    in_review(store, case)
    Draws(store).declare("rev", "H1", "曾在该院任职", by="rev")
    c = Committees(store).open(case, case_key=case["case_key"], run_id=RUN, by="admin",
                               seed="s1")
    assert len(c["members"]) == 3 and "rev" not in c["members"]
    draw = Draws(store).get(c["draw_id"])
    assert draw["excluded"] == {"rev": ["H1"]} and replay(draw) == c["members"]


def test_the_rules_can_require_a_committee_before_points(store, tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text(default_rules_path().read_text(encoding="utf-8").replace(
        "committee_required = false", "committee_required = true"), encoding="utf-8")
    rules = load_rules(path)
    ledger = Ledger(store)
    direct = make_case(1)
    in_review(store, direct)
    store.decide(direct["case_key"], run_id=RUN, case_id=direct["case_id"], user="li",
                 status="confirmed", reason="直接确认")
    with pytest.raises(LedgerError, match="committee"):
        ledger.record_confirmation(direct, run_id=RUN, severity="serious", user="admin",
                                   rules=rules)
    assert ledger.entries(case_key=direct["case_key"]) == []
    voted = make_case(2)
    in_review(store, voted)
    c = committee(store, voted)
    for m in c["members"]:
        Committees(store).vote(c["id"], member=m, vote="confirm", reason="一致认定")
    rows = ledger.record_confirmation(voted, run_id=RUN, severity="serious", user="admin",
                                      rules=rules)
    assert [(r["entity_id"], r["points"]) for r in rows] == [("H1", 6), ("D1", 4)]
    assert rows[0]["decided_by"] == f"committee #{c['id']}"


# -- random assignment --------------------------------------------------------------------
@pytest.mark.parametrize("seed", [f"seed-{i}" for i in range(40)])
def test_random_assignment_never_picks_an_affiliated_investigator(store, seed):
    draws = Draws(store)
    draws.declare("li", "H1", "曾在该院任职", by="li")
    draws.declare("inv2", "H2", "配偶在该院工作", by="admin")
    draws.declare("inv3", "H9", "亲属在该院工作", by="inv3")
    cases = [(c, c["case_key"]) for c in (make_case(1, ("H1",)), make_case(2, ("H1", "H2")),
                                          make_case(3, ("H3",)))]
    done = draws.assign_at_random(cases, run_id=RUN, by="admin", seed=seed, role="admin")
    picked = [d["picked"][0] for d in done]
    assert picked[0] != "li" and picked[1] not in ("li", "inv2")
    for (_case, key), d in zip(cases, done, strict=True):
        assert store.state(key)["assignee"] == d["picked"][0]
        assert d["picked"][0] in d["candidates"]


def test_a_draw_replays_from_its_audit_row_alone(store):
    draws = Draws(store)
    draws.declare("inv4", "H1", "曾在该院任职", by="inv4")
    cases = [(make_case(n), make_case(n)["case_key"]) for n in range(1, 6)]
    done = draws.assign_at_random(cases, run_id=RUN, by="admin", role="admin")
    rows = audit(store, "random draw assign")[::-1]
    assert len(rows) == 5
    for row, d in zip(rows, done, strict=True):
        detail = json.loads(row["detail"])
        assert detail["seed"] == d["seed"] and "inv4" not in detail["candidates"]
        assert replay(row["detail"]) == detail["picked"] == d["picked"]
    # another seed would have picked otherwise for some case: the seed is what decides
    details = [json.loads(r["detail"]) for r in rows]
    assert any(replay({**d, "seed": d["seed"] + "x"}) != d["picked"] for d in details)
    # the seeds are drawn, not fixed: two batches differ
    again = draws.assign_at_random(cases[:1], run_id=RUN, by="admin")
    assert again[0]["seed"] != done[0]["seed"]


def test_too_few_eligible_investigators_is_refused(store):
    draws = Draws(store)
    for name in INVESTIGATORS:
        draws.declare(name, "H1", "同一医联体", by="admin")
    with pytest.raises(ProcedureError, match="0 eligible"):
        draws.assign_at_random([(make_case(), make_case()["case_key"])], run_id=RUN, by="admin")


def test_affiliations_are_declared_and_withdrawn_on_record(store):
    draws = Draws(store)
    draws.declare("li", "H1", "曾在该院任职", by="li")
    assert draws.affiliations("li") == {"H1": "曾在该院任职"}
    draws.withdraw("li", "H1", by="admin", reason="申报有误")
    assert draws.affiliations("li") == {}
    with pytest.raises(ProcedureError):
        draws.withdraw("li", "H1", by="admin", reason="again")
    assert [r["action"] for r in audit(store, "affiliation declare")] == ["affiliation declare"]


# -- appeals ------------------------------------------------------------------------------
def confirmed_with_points(store, n=1) -> dict:
    case = make_case(n)
    in_review(store, case)
    store.decide(case["case_key"], run_id=RUN, case_id=case["case_id"], user="li",
                 status="confirmed", reason="已核实")
    Ledger(store).record_confirmation(case, run_id=RUN, severity="serious", user="admin",
                                      rules=load_rules())
    return case


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


@pytest.mark.parametrize("table", ["committees", "committee_votes", "committee_outcomes",
                                   "draws", "affiliations", "appeals", "appeal_files",
                                   "appeal_outcomes"])
def test_procedure_tables_refuse_update_and_delete(store, table):
    case = confirmed_with_points(store)
    Draws(store).declare("li", "H9", "亲属", by="li")
    Appeals(store).file(case, case_key=case["case_key"], run_id=RUN, appellant="H1",
                        text="不服", by="li", attachments=[("a.txt", b"a")])
    a = Appeals(store).of_case(case["case_key"])[0]
    c = committee(store, case, appeal_id=a["id"])
    for m in c["members"]:
        Committees(store).vote(c["id"], member=m, vote="reject", reason="意见")
    Draws(store).assign_at_random([(make_case(5), make_case(5)["case_key"])], run_id=RUN,
                                  by="admin")
    with sqlite3.connect(Path(store.path)) as db:
        assert db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] >= 1
        for stmt in (f"UPDATE {table} SET id = id + 100", f"DELETE FROM {table}"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                db.execute(stmt)


# -- the bureau's year and the sanctions' dates ---------------------------------------------
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


# -- the command line ---------------------------------------------------------------------
def test_assign_and_draws_commands(planted_run, users_db, tmp_path):
    from click.testing import CliRunner

    from graphdetect.cli import main
    from graphdetect.runs import Run

    db = tmp_path / "review.sqlite"
    shutil.copyfile(users_db, db)

    def cli(*args):
        return CliRunner().invoke(main, ["--lang", "en", *map(str, args)])

    cases = Run(planted_run).cases
    host = next(m["id"] for m in cases[0]["members"] if m["kind"] == "institution")
    res = cli("users", "affiliate", "li", host, "--relation", "曾在该院任职", "--db", db)
    assert res.exit_code == 0, res.output
    assert host in cli("users", "affiliations", "--db", db).output
    res = cli("assign", planted_run, "--db", db, "--user", "li")
    assert res.exit_code == 2 and "not an enabled admin" in res.output
    res = cli("assign", planted_run, "--db", db, "--user", "admin", "--seed", "monthly-7")
    assert res.exit_code == 0, res.output
    assert f"{len(cases)} cases assigned" in res.output
    store = ReviewStore(db)
    first = store.state(cases[0]["case_key"])
    assert first["assignee"] and first["assignee"] != "li"
    assert "recused: li" in res.output
    # a second run of the command assigns nothing: every case has its investigator
    again = cli("assign", planted_run, "--db", db, "--user", "admin")
    assert again.exit_code == 0 and "0 cases assigned" in again.output
    res = cli("draws", "--db", db)
    assert res.exit_code == 0 and res.output.count("replays") == len(cases)
    # a draw altered behind the triggers' back is caught
    with sqlite3.connect(db) as con:
        con.execute("DROP TRIGGER draws_no_update")
        con.execute("""UPDATE draws SET picked = '["inv6-by-hand"]' WHERE id = 1""")
    res = cli("draws", "--db", db, "--case", cases[0]["case_id"])
    assert res.exit_code == 1 and "DOES NOT REPLAY" in res.output
    res = cli("users", "unaffiliate", "li", host, "--reason", "申报有误", "--db", db)
    assert res.exit_code == 0 and cli("users", "affiliations", "--db", db).output == ""


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
