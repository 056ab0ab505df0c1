"""The integrity ledger: the scoring table, recording only confirmed cases, revocations,
append-only storage, and the ``graphdetect ledger`` commands on a real review database."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from graphdetect.cli import main
from graphdetect.ledger import Ledger, load_rules
from graphdetect.ledger.rules import default_rules_path
from graphdetect.review.store import ReviewStore
from graphdetect.runs import Run


def cli(*args: str):
    return CliRunner().invoke(main, ["--lang", "en", "ledger", *map(str, args)])


@pytest.fixture
def case(planted_run) -> dict:
    """A card-pooling case of the planted run that names an institution and a doctor."""
    return next(c for c in Run(planted_run).cases if c["pattern"] == "card_pooling"
                and {"institution", "doctor"} <= {m["kind"] for m in c["members"]})


def confirm(db: Path, case: dict, run_id: str) -> None:
    store = ReviewStore(db)
    for status, reason in (("in_review", ""), ("confirmed", "刷卡与住院记录冲突，已核实")):
        store.decide(case["case_key"], run_id=run_id, case_id=case["case_id"], user="li",
                     status=status, reason=reason)


def record(planted_run, review_db, case, *more: str):
    return cli("record", planted_run, case["case_id"], "--db", review_db, "--severity",
               "serious", "--user", "admin", *more)


# -- the table ----------------------------------------------------------------------------
@pytest.mark.parametrize("kind, points, sanction", [
    ("institution", 0, "budget raised 1-5%"),
    ("institution", 11, "budget raised 1-5%"),
    ("institution", 12, "budget cut 2-5%"),
    ("institution", 18, "budget cut 2-5%"),
    ("institution", 19, "suspended for 1 month"),
    ("institution", 25, "suspended for 3 months"),
    ("institution", 31, "designation cancelled"),
    ("pharmacy", 12, "none"),
    ("pharmacy", 13, "suspended for 1 month"),
    ("pharmacy", 19, "suspended for 3 months"),
    ("pharmacy", 25, "designation cancelled"),
    ("doctor", 8, "none"),
    ("doctor", 9, "billing rights suspended for 1-6 months"),
    ("doctor", 12, "billing rights ended"),
])
def test_published_tiers_from_the_default_table(kind, points, sanction):
    tier = load_rules().tier(kind, points)
    assert sanction in tier["en"] and tier["zh"]


def test_every_entry_names_a_pattern_or_rule_category():
    from graphdetect.detectors import PATTERNS

    rules = load_rules()
    assert set(PATTERNS) <= set(rules.table)  # every pattern scores
    assert set(rules.severities) == {"minor", "serious", "grave"}


def test_rules_command_prints_the_table_and_takes_a_bureaus_copy(tmp_path):
    res = cli("rules")
    assert res.exit_code == 0, res.output
    assert "designation cancelled" in res.output and "card_pooling" in res.output
    mine = tmp_path / "rules.toml"
    mine.write_text(default_rules_path().read_text(encoding="utf-8").replace(
        "billing rights ended", "billing rights ended for good"), encoding="utf-8")
    res = cli("rules", "--rules", mine)
    assert res.exit_code == 0 and "billing rights ended for good" in res.output


@pytest.mark.parametrize("old, new, entry", [
    ("grave = { institution = 12, pharmacy = 12, doctor = 9 }",
     "grave = { institution = 12, pharmacy = 12, doctor = -1 }",
     "points.collusion_ring.grave.doctor"),
    ("[points.split_stay]", "[points.odd_pattern]", "points.odd_pattern"),
    ('[points."医患合谋"]\nminor = { institution = 4, pharmacy = 4, doctor = 3 }\n',
     '[points."医患合谋"]\n', "points.医患合谋"),
    ("min = 13\nmax = 18", "min = 14\nmax = 18", "tiers.pharmacy[2].min"),
    ('serious = { zh = "情节较重", en = "serious" }', 'serious = { zh = "情节较重" }',
     "severities.serious"),
    ("from_yuan = 500000", "from_yuan = 50000", "amount_bands[2].from_yuan"),
    ("[severities]", "[severities", "file"),
])
def test_an_invalid_table_is_refused_in_one_line_naming_the_entry(tmp_path, old, new, entry):
    text = default_rules_path().read_text(encoding="utf-8")
    assert old in text
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace(old, new, 1), encoding="utf-8")
    res = cli("rules", "--rules", bad)
    assert res.exit_code == 2, res.output
    assert res.output.count("\n") == 1 and "Traceback" not in res.output
    assert res.output.startswith(f"Error: {bad}: {entry}: "), res.output


def test_the_setting_names_the_table(tmp_path, monkeypatch):
    bad = tmp_path / "bad.toml"
    bad.write_text("[kinds]\n", encoding="utf-8")
    monkeypatch.setenv("GRAPHDETECT_LEDGER_RULES", str(bad))
    res = cli("rules")
    assert res.exit_code == 2 and f"{bad}: " in res.output


# -- recording ----------------------------------------------------------------------------
def test_a_case_not_confirmed_cannot_score(planted_run, review_db, case):
    res = record(planted_run, review_db, case)
    assert res.exit_code == 2 and "only a confirmed case scores; its status is new" in res.output
    ReviewStore(review_db).decide(case["case_key"], run_id=Run(planted_run).run_id,
                                  case_id=case["case_id"], user="li", status="in_review")
    res = record(planted_run, review_db, case)
    assert res.exit_code == 2 and "its status is in_review" in res.output
    assert Ledger(ReviewStore(review_db)).entries() == []


def test_only_an_admin_records(planted_run, review_db, case):
    confirm(review_db, case, Run(planted_run).run_id)
    res = cli("record", planted_run, case["case_id"], "--db", review_db, "--severity", "serious",
              "--user", "li")
    assert res.exit_code == 2 and "not an enabled admin" in res.output


def test_a_confirmed_case_scores_its_institution_and_doctors(planted_run, review_db, case):
    run_id = Run(planted_run).run_id
    confirm(review_db, case, run_id)
    res = record(planted_run, review_db, case)
    assert res.exit_code == 0, res.output
    store = ReviewStore(review_db)
    rows = Ledger(store).entries()
    named = {(m["kind"], m["id"]) for m in case["members"] if m["kind"] in ("institution",
                                                                             "doctor")}
    assert {(r["entity_kind"], r["entity_id"]) for r in rows} == named
    decided = store.last_decision(case["case_key"])
    rules = load_rules()
    points, _ = rules.points(case, "serious")
    for r in rows:
        assert r["points"] == points[r["entity_kind"]] > 0
        assert (r["case_key"], r["run_id"], r["case_id"]) == (case["case_key"], run_id,
                                                              case["case_id"])
        assert (r["severity"], r["decided_by"], r["recorded_by"]) == ("serious", "li", "admin")
        assert r["year"] == int(decided["created_at"][:4]) and r["reason"] == decided["reason"]
        assert r["rule"] in rules.table and r["revokes"] is None
    audit, _ = store.audit_log(action="ledger recorded")
    assert len(audit) == 1 and audit[0]["user"] == "admin" and case["case_key"] in \
        audit[0]["detail"]
    again = record(planted_run, review_db, case)
    assert again.exit_code == 2 and "already has points" in again.output


def test_a_pharmacy_scores_as_a_pharmacy(planted_run, review_db, case):
    confirm(review_db, case, Run(planted_run).run_id)
    host = next(m["id"] for m in case["members"] if m["kind"] == "institution")
    res = record(planted_run, review_db, case, "--pharmacy", host, "--severity", "grave")
    assert res.exit_code == 0, res.output
    rows = Ledger(ReviewStore(review_db)).entries()
    assert {r["entity_kind"] for r in rows if r["entity_id"] == host} == {"pharmacy"}
    assert {r["severity"] for r in rows} == {"grave"}


# -- revocation and append-only storage ----------------------------------------------------
def test_a_revocation_keeps_the_original_and_nets_the_points(planted_run, review_db, case):
    confirm(review_db, case, Run(planted_run).run_id)
    assert record(planted_run, review_db, case).exit_code == 0
    store = ReviewStore(review_db)
    first = Ledger(store).entries()[0]
    res = cli("revoke", first["id"], "--db", review_db, "--user", "admin", "--reason",
              "复议撤销：证据不足")
    assert res.exit_code == 0, res.output
    entries = Ledger(store).entries()
    assert entries[0] == first  # the original stays as it was
    revocation = entries[-1]
    assert (revocation["revokes"], revocation["points"]) == (first["id"], -first["points"])
    assert revocation["reason"] == "复议撤销：证据不足"
    standing = {(r["entity_kind"], r["entity_id"]): r
                for r in Ledger(store).standing(first["year"], load_rules())}
    assert standing[first["entity_kind"], first["entity_id"]]["points"] == 0
    assert store.audit_log(action="ledger revoked")[1] == 1
    twice = cli("revoke", first["id"], "--db", review_db, "--user", "admin", "--reason", "x")
    assert twice.exit_code == 2 and "revoked already" in twice.output
    of_revocation = cli("revoke", revocation["id"], "--db", review_db, "--user", "admin",
                        "--reason", "x")
    assert of_revocation.exit_code == 2 and "is a revocation" in of_revocation.output


def test_the_ledger_refuses_update_and_delete(planted_run, review_db, case):
    confirm(review_db, case, Run(planted_run).run_id)
    assert record(planted_run, review_db, case).exit_code == 0
    db = sqlite3.connect(review_db)
    for stmt in ("UPDATE ledger SET points = 0", "DELETE FROM ledger"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute(stmt)
    db.close()
    assert all(r["points"] > 0 for r in Ledger(ReviewStore(review_db)).entries())


# -- a year's standing ---------------------------------------------------------------------
def test_show_csv_parses_with_points_tiers_and_sanctions(planted_run, review_db, case):
    confirm(review_db, case, Run(planted_run).run_id)
    assert record(planted_run, review_db, case, "--severity", "grave").exit_code == 0
    year = Ledger(ReviewStore(review_db)).entries()[0]["year"]
    res = cli("show", "--year", year, "--csv", "--db", review_db)
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert list(rows[0]) == ["year", "entity_kind", "entity_id", "points", "entries", "tier",
                             "sanction_zh", "sanction_en", "since", "until"]
    rules = load_rules()
    points, _ = rules.points(case, "grave")
    for r in rows:
        assert int(r["points"]) == points[r["entity_kind"]] and r["entries"] == "1"
        assert r["sanction_en"] == rules.tier(r["entity_kind"], int(r["points"]))["en"]
    res = cli("show", "--year", year, "--kind", "doctor", "--csv", "--db", review_db)
    assert {r["entity_kind"] for r in csv.DictReader(io.StringIO(res.stdout))} == {"doctor"}
    res = cli("show", "--year", year, "--db", review_db)
    assert res.exit_code == 0 and "billing rights" in res.output
    res = cli("show", "--year", year - 1, "--db", review_db)
    assert res.exit_code == 0 and "no ledger entries" in res.output
    res = cli("show", "--year", year, "--kind", "patient", "--db", review_db)
    assert res.exit_code == 2 and "not a kind of the table" in res.output


def test_refusals_in_chinese(planted_run, review_db, case, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(default_rules_path().read_text(encoding="utf-8").replace(
        "min = 13\nmax = 18", "min = 14\nmax = 18"), encoding="utf-8")
    res = CliRunner().invoke(main, ["--lang", "zh", "ledger", "rules", "--rules", str(bad)])
    assert res.exit_code == 2
    assert res.output == f"错误：{bad}：tiers.pharmacy[2].min：应为 13（各档从 0 起连续相接）；" \
                         "实际为 14\n"
    res = CliRunner().invoke(main, ["--lang", "zh", "ledger", "record", str(planted_run),
                                    case["case_id"], "--db", str(review_db), "--severity",
                                    "minor", "--user", "admin"])
    assert res.exit_code == 2
    assert res.output == f"错误：{case['case_id']}：只有已确认的案件才能记分；其状态为新建\n"


def test_a_case_naming_nobody_who_scores_is_refused(review_db):
    from graphdetect.errors import LedgerError

    store = ReviewStore(review_db)
    case = {"case_id": "M-0009", "case_key": "277ef379-M-0009", "pattern": "shared_identity",
            "rules": ["多户头"], "metrics": {},
            "members": [{"kind": "patient", "id": "P1", "role": "member"}]}
    confirm(review_db, case, "run-277ef379eb95")
    with pytest.raises(LedgerError, match="names no entity the table gives points to"):
        Ledger(store).record_confirmation(case, run_id="run-277ef379eb95", severity="minor",
                                          user="admin", rules=load_rules())
    assert Ledger(store).entries() == []


def test_places_named_as_context_are_not_scored(review_db):
    """A concurrent stay confirmed scores the two hospitals, not the pharmacy where the
    person's card was used during the stays (named as context, a matter of its own)."""
    store = ReviewStore(review_db)
    case = {"case_id": "C-0009", "case_key": "277ef379-C-0009", "pattern": "concurrent_stay",
            "rules": ["同一时间多家住院", "住院期间异地就医购药"], "metrics": {},
            "members": [{"kind": "patient", "id": "P1", "role": "patient"},
                        {"kind": "institution", "id": "H1", "role": "host"},
                        {"kind": "institution", "id": "H2", "role": "host"},
                        {"kind": "institution", "id": "PH1", "role": "elsewhere"}]}
    confirm(review_db, case, "run-277ef379eb95")
    rows = Ledger(store).record_confirmation(case, run_id="run-277ef379eb95",
                                             severity="serious", user="admin",
                                             rules=load_rules(), pharmacies={"PH1"})
    assert sorted((r["entity_kind"], r["entity_id"]) for r in rows) == [
        ("institution", "H1"), ("institution", "H2")]


def test_confirmation_scores_at_once_with_the_decision_or_not_at_all(planted_run, review_db,
                                                                     case):
    """The setting where confirming scores: the decision and its points are one
    transaction, so a scoring the ledger refuses leaves the case as it was."""
    from graphdetect.errors import LedgerError

    run_id, key, cid = Run(planted_run).run_id, case["case_key"], case["case_id"]
    store = ReviewStore(review_db)
    ledger = Ledger(store)
    hook = ledger.scorer(case, run_id=run_id, severity="minor", user="li", rules=load_rules(),
                         role="investigator")
    store.decide(key, run_id=run_id, case_id=cid, user="li", status="in_review",
                 on_confirm=hook)
    assert ledger.entries() == []  # not a confirmation: nothing scores
    note = store.decide(key, run_id=run_id, case_id=cid, user="li", status="confirmed",
                        reason="核实属实", on_confirm=hook)
    rows = ledger.entries()
    assert rows and {(r["decided_at"], r["reason"], r["severity"]) for r in rows} == \
        {(note["created_at"], "核实属实", "minor")}
    store.decide(key, run_id=run_id, case_id=cid, user="li", status="in_review", body="复核")
    with pytest.raises(LedgerError, match="already has points"):
        store.decide(key, run_id=run_id, case_id=cid, user="li", status="confirmed",
                     reason="再次确认", on_confirm=hook)
    assert store.state(key)["status"] == "in_review"  # the decision was undone with it
    assert len(ledger.entries()) == len(rows)
