"""The review database across monthly runs (issue 11): decisions carried by case key,
re-alerts and suppression after a dismissal, new evidence after a confirmation, the
case's history across runs.

The runs are three cumulative months of one generated city, each detected with the one
before as ``--previous`` (``lineage_support``); the app serves all three and the tests
pick a month with ``?run=`` as a reviewer would.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import login
from lineage_support import monthly_data, monthly_runs  # noqa: F401

from graphdetect.lineage import core_members, total_amount
from graphdetect.review.alerts import alert, lineage_text, re_alerted_keys, snapshot
from graphdetect.review.store import ReviewStore, WorkflowError
from graphdetect.runs import Runs

REASON = "家属陪护住院，经核实非团伙"


@pytest.fixture(scope="module")
def runs(monthly_runs) -> Runs:  # noqa: F811
    return Runs(monthly_runs)


@pytest.fixture
def make_served(monthly_runs, review_db):  # noqa: F811
    from graphdetect.review import create_app

    def make(**config):
        return create_app({"RUNS": [str(r) for r in monthly_runs], "DB": str(review_db),
                           "SECRET_KEY": "test-secret", "WTF_CSRF_ENABLED": False, **config})
    return make


@pytest.fixture
def served(make_served):
    return make_served()


def client_of(app, user: str):
    client = app.test_client()
    login(client, user)
    return client


def show(client, run_id: str) -> None:
    """Pick the run the pages show, as the run picker does."""
    assert client.get("/api/cases", query_string={"run": run_id}).status_code == 200


def today() -> date:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def gains(before: dict, after: dict) -> dict:
    return {"members": len(core_members(after) - core_members(before)),
            "claims": len(after["claim_ids"]) - len(before["claim_ids"]),
            "occasions": after["metrics"]["occasions"] - before["metrics"]["occasions"],
            "share": total_amount(after) / total_amount(before) - 1}


def ring_pair(runs: Runs, first: int, test) -> tuple[dict, dict]:
    """A collusion ring of run ``first`` and the case continuing it in the next run, whose
    gains pass ``test``."""
    for before in runs.runs[first].cases:
        after = runs.runs[first + 1].case(before["case_key"])
        if before["pattern"] == "collusion_ring" and after and test(gains(before, after)):
            return before, after
    pytest.fail("the monthly runs hold no such ring")


def material(g: dict) -> bool:  # the defaults: 3 members, +50 % amount, 2 occasions
    return g["members"] >= 3 or g["share"] >= 0.5 or g["occasions"] >= 2


def decide(client, case: dict, *steps: dict) -> list[dict]:
    notes = []
    for step in steps:
        res = client.post(f"/api/cases/{case['case_id']}/decision", json=step)
        assert res.status_code == 201, res.data
        notes.append(res.json)
    return notes


def dismiss(client, case: dict, **extra) -> dict:
    return decide(client, case, {"status": "in_review", "assignee": "li"},
                  {"status": "dismissed", "reason": REASON, **extra})[-1]


def queue_row(client, case: dict, **args) -> dict | None:
    rows = client.get("/api/cases", query_string=args).json["cases"]
    return next((r for r in rows if r["case_key"] == case["case_key"]), None)


def local_day(note: dict) -> str:
    stamp = datetime.fromisoformat(note["created_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    return stamp.date().isoformat()


# -- carried decisions -----------------------------------------------------------------
def test_a_confirmed_case_carries_its_status_and_notes(served, runs):
    first, second = runs.runs[0], runs.runs[1]
    before, after = ring_pair(runs, 0, lambda g: True)
    li = client_of(served, "li")
    show(li, first.run_id)
    decide(li, before, {"status": "in_review", "assignee": "li", "body": "调取病历"},
           {"status": "confirmed", "reason": "同村老人批量入院，病历雷同"})
    show(li, second.run_id)
    case = li.get(f"/api/cases/{after['case_id']}").json
    assert case["case_key"] == before["case_key"] and case["status"] == "confirmed"
    assert case["assignee"] == "li" and case["next_statuses"] == ["referred", "in_review"]
    assert [(h["run_id"], h["case_id"], h["status_to"]) for h in case["history"]] == \
        [(first.run_id, before["case_id"], "in_review"),
         (first.run_id, before["case_id"], "confirmed")]
    assert case["decided_in"] == {"run_id": first.run_id, "case_id": before["case_id"]}
    row = queue_row(li, after, status="confirmed")
    assert row["status"] == "confirmed" and row["decided_in"]["run_id"] == first.run_id
    page = li.get(f"/cases/{after['case_id']}").get_data(as_text=True)
    assert "病历雷同" in page and first.run_id in page
    # the next run's notes are written there, under the same key
    decide(li, after, {"body": "本月新增结算已调取"})
    notes = ReviewStore(served.config["DB"]).history(before["case_key"])
    assert [n["run_id"] for n in notes] == [first.run_id] * 2 + [second.run_id]


def test_a_confirmed_case_that_gains_claims_shows_new_evidence(served, runs):
    before, after = ring_pair(runs, 0, lambda g: g["claims"] > 0)
    li = client_of(served, "li")
    show(li, runs.runs[0].run_id)
    note = decide(li, before, {"status": "in_review"},
                  {"status": "confirmed", "reason": "病历雷同"})[-1]
    assert li.get(f"/api/cases/{before['case_id']}").json["alert"]["kind"] != "new evidence"
    show(li, runs.runs[1].run_id)
    got = li.get(f"/api/cases/{after['case_id']}").json["alert"]
    claims = len(after["claim_ids"]) - len(before["claim_ids"])
    assert got["kind"] == "new evidence"
    assert got["text_en"].startswith(f"new evidence since confirmation on {local_day(note)}: ")
    assert f"+{claims} claims" in got["text_en"] and f"结算 +{claims}" in got["text_zh"]
    assert queue_row(li, after, alert="new evidence")["alert"] == got


# -- dismissals: quiet, re-alerted, suppressed -------------------------------------------
def test_a_dismissed_ring_that_stays_the_same_is_quiet(served, runs):
    before, after = ring_pair(runs, 1, lambda g: not material(g))
    li = client_of(served, "li")
    show(li, runs.runs[1].run_id)
    dismiss(li, before)
    show(li, runs.runs[2].run_id)
    assert queue_row(li, after) is None  # not in the default queue
    queue = li.get("/api/cases").json
    assert queue["alert_counts"]["quiet"] >= 1
    for args in ({"show_quiet": "1"}, {"alert": "quiet"}, {"status": "dismissed"}):
        row = queue_row(li, after, **args)
        assert row["alert"]["kind"] == "quiet" and row["status"] == "dismissed", args
    assert "not grown materially" in row["alert"]["text_en"] and REASON in row["alert"]["text_zh"]
    assert f"/cases/{after['case_id']}\"" not in li.get("/").get_data(as_text=True)
    assert f"/cases/{after['case_id']}\"" in li.get("/?show_quiet=1").get_data(as_text=True)


def test_a_dismissed_ring_that_doubles_re_alerts_with_the_reason(served, runs):
    before, after = ring_pair(runs, 0, lambda g: g["share"] >= 1.0)
    li = client_of(served, "li")
    show(li, runs.runs[0].run_id)
    note = dismiss(li, before)
    assert note["snapshot"]["claims"] == len(before["claim_ids"])
    show(li, runs.runs[1].run_id)
    row = queue_row(li, after)  # back in the default queue
    g = gains(before, after)
    text = row["alert"]["text_en"]
    assert row["alert"]["kind"] == "re-alerted" and row["status"] == "dismissed"
    assert text.startswith("re-alerted: ")
    assert f"since dismissal on {local_day(note)} (reason: {REASON})" in text
    assert f"+{g['claims']} claims" in text and f"+{g['occasions']} occasions" in text
    amount = total_amount(after) - total_amount(before)
    assert f"+¥{amount:,.0f}" in text
    assert row["alert"]["text_zh"].startswith(f"重新预警：自 {local_day(note)} 排除以来")
    assert f"金额 +¥{amount:,.0f}" in row["alert"]["text_zh"]
    assert f"（排除理由：{REASON}）" in row["alert"]["text_zh"]
    assert li.get("/api/cases").json["alert_counts"]["re-alerted"] >= 1
    page = li.get(f"/cases/{after['case_id']}", query_string={"lang": "en"}).get_data(as_text=True)
    assert "re-alerted: " in page and REASON in page


def test_blind_reviewers_read_the_re_alert_masked(served, runs):
    before, after = ring_pair(runs, 0, material)
    patient = next(m["id"] for m in before["members"] if m["kind"] == "patient")
    li = client_of(served, "li")
    show(li, runs.runs[0].run_id)
    dismiss(li, before, reason=f"{patient} 为家属陪护")
    show(li, runs.runs[1].run_id)
    rev = client_of(served, "rev")
    show(rev, runs.runs[1].run_id)
    got = queue_row(rev, after)["alert"]
    assert got["kind"] == "re-alerted" and "为家属陪护" in got["text_zh"]
    assert patient not in got["text_zh"] + got["text_en"]
    case = rev.get(f"/api/cases/{after['case_id']}").json
    assert patient not in str(case["alert"]) + str(case["history"])
    assert all(h["snapshot"] is None for h in case["history"])


def test_a_suppressed_dismissal_stays_quiet_until_its_day(served, runs, review_db):
    before, after = ring_pair(runs, 0, material)
    until = today() + timedelta(days=30)
    li = client_of(served, "li")
    show(li, runs.runs[0].run_id)
    note = dismiss(li, before, suppress_until=until.isoformat())
    assert note["suppress_until"] == until.isoformat()
    show(li, runs.runs[1].run_id)
    assert queue_row(li, after) is None
    row = queue_row(li, after, show_quiet="1")
    assert row["alert"]["kind"] == "quiet"
    assert f"re-alerts suppressed until {until}" in row["alert"]["text_en"]
    assert f"暂停预警至 {until}" in row["alert"]["text_zh"]
    # the suppression holds through its day; after it the grown ring re-alerts
    store, two = ReviewStore(review_db), Runs([r.folder for r in runs.runs[:2]])
    assert after["case_key"] not in re_alerted_keys(two, store, today=until)
    assert after["case_key"] in re_alerted_keys(two, store, today=until + timedelta(days=1))


def test_suppression_is_checked(served, runs):
    case = runs.runs[0].cases[0]
    li = client_of(served, "li")
    show(li, runs.runs[0].run_id)
    url = f"/api/cases/{case['case_id']}/decision"
    later = (today() + timedelta(days=10)).isoformat()
    for body, message in (
            ({"status": "in_review", "suppress_until": later}, "only with a dismissal"),
            ({"status": "dismissed", "reason": "x", "suppress_until": "2024-13-01"},
             "must be a date"),
            ({"status": "dismissed", "reason": "x", "suppress_until": "next month"},
             "must be a date"),
            ({"status": "dismissed", "reason": "x", "suppress_until": today().isoformat()},
             "after today")):
        res = li.post(url, json=body)
        assert res.status_code == 400 and message in res.json["error"]["message"], body
    rev = client_of(served, "rev")
    show(rev, runs.runs[0].run_id)
    assert rev.post(url, json={"body": "x", "suppress_until": later}).status_code == 403
    store = ReviewStore(served.config["DB"])
    with pytest.raises(WorkflowError, match="only a dismissal"):
        store.decide(case["case_key"], run_id=runs.runs[0].run_id, case_id=case["case_id"],
                     user="li", status="in_review", suppress_until=later)
    # the form: the date input is there, and a suppression is recorded with a dismissal
    decide(li, case, {"status": "in_review"})
    page = li.get(f"/cases/{case['case_id']}").get_data(as_text=True)
    assert 'name="suppress_until"' in page and 'type="date"' in page
    res = li.post(f"/cases/{case['case_id']}/decision",
                  data={"status": "dismissed", "reason": "陪护", "suppress_until": later})
    assert res.status_code == 302
    assert store.last_decision(case["case_key"])["suppress_until"] == later


def test_re_alert_thresholds_are_settings(make_served, runs):
    before, after = ring_pair(runs, 1, lambda g: not material(g) and g["occasions"] >= 1)
    app = make_served(REALERT_MIN_OCCASIONS=1)
    li = client_of(app, "li")
    show(li, runs.runs[1].run_id)
    dismiss(li, before)
    show(li, runs.runs[2].run_id)
    assert queue_row(li, after)["alert"]["kind"] == "re-alerted"


# -- the case across runs ----------------------------------------------------------------
def test_the_case_page_shows_its_history_across_runs(served, runs):
    key = next(c["case_key"] for c in runs.newest.cases
               if sum(r.case(c["case_key"]) is not None for r in runs) == 3)
    rows = runs.history(key)
    li = client_of(served, "li")
    show(li, runs.runs[0].run_id)
    decide(li, runs.runs[0].case(key), {"body": "第一个月的笔记"})
    show(li, runs.newest.run_id)
    case_id = runs.newest.case(key)["case_id"]
    shown = li.get(f"/api/cases/{case_id}").json
    assert [(r["run_id"], r["case_id"], r["state"]) for r in shown["runs"]] == \
        [(r["run_id"], r["case_id"], r["state"]) for r in rows]
    assert [r["current"] for r in shown["runs"]] == [False, False, True]
    assert shown["runs"][1]["change_en"] == lineage_text(rows[1], "en")
    assert shown["history"][0]["run_id"] == runs.runs[0].run_id
    page = li.get(f"/cases/{case_id}", query_string={"lang": "en"}).get_data(as_text=True)
    table = page.split('id="runs"')[1].split("</table>")[0]
    assert all(r["run_id"] in table for r in rows) and table.count("<tr") == 4
    assert lineage_text(rows[2], "en").split(":")[0] in table
    assert "第一个月的笔记" in page


def test_lineage_words_explain_merges_and_splits():
    merged = {"state": "grown", "merged_from": ["277ef379-R-0007", "277ef379-R-0009"],
              "delta": {"members": 6, "lost_members": 0, "claims": 31, "amount": 84000.0}}
    assert lineage_text(merged, "en") == ("grown since the last run: +6 members, +31 claims, "
                                          "+¥84,000; merged from 277ef379-R-0007 and "
                                          "277ef379-R-0009")
    assert lineage_text(merged, "zh").endswith("；由 277ef379-R-0007、277ef379-R-0009 合并而来")
    split = {"state": "new", "split_from": "277ef379-R-0003", "merged_from": []}
    assert lineage_text(split, "zh") == "新案件：由 277ef379-R-0003 拆分而来"
    shrunk = {"state": "shrunk", "delta": {"members": 0, "lost_members": 2, "claims": 0,
                                           "amount": -1500.0}}
    assert lineage_text(shrunk, "en") == "shrunk since the last run: −2 members, −¥1,500"


def test_alert_kinds_from_a_snapshot():
    case = {"case_id": "R-2", "claim_ids": ["C1", "C2", "C3"],
            "metrics": {"total_amount": 140.0, "occasions": 4},
            "members": [{"kind": "patient", "id": p, "role": "member"} for p in "abcd"],
            "lineage": {"state": "grown", "delta": {"members": 2, "lost_members": 0,
                                                    "claims": 1, "amount": 40.0}}}
    snap = {**snapshot(case, "run-1"), "members": [["patient", "a"], ["patient", "b"]],
            "claims": 2, "total_amount": 100.0, "occasions": 3}
    dismissed = {"created_at": "2024-03-02T10:00:00+08:00", "status_to": "dismissed",
                 "reason": "", "suppress_until": None, "snapshot": snap}
    on = date(2024, 4, 1)
    kind = alert(case, {"status": "dismissed"}, dismissed, None, on)["kind"]
    assert kind == "quiet"  # +2 members, +40 %, +1 occasion: below every default
    for limits in ({"REALERT_MIN_MEMBERS": 2}, {"REALERT_MIN_AMOUNT_SHARE": 0.4},
                   {"REALERT_MIN_OCCASIONS": 1}):
        assert alert(case, {"status": "dismissed"}, dismissed, limits, on)["kind"] \
            == "re-alerted", limits
    referred = {**dismissed, "status_to": "referred"}
    got = alert(case, {"status": "referred"}, referred, None, on)
    assert got["kind"] == "new evidence"
    assert got["text_en"] == ("new evidence since referral on 2024-03-02: +2 members, "
                              "+1 claim, +1 occasion, +¥40")
    assert alert(case, None, None, None, on)["kind"] == "grown"
    assert alert(case, {"status": "dismissed"}, {**dismissed, "snapshot": None}, None,
                 on)["kind"] == "quiet"  # a dismissal with nothing to measure against
