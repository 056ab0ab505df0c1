"""Hardening of the review UI (issue 10): every write checked field by field, one
validator and one error shape, one transaction per decision, bounded audit rows,
``no-store`` caching, blind queues and notes, linear masking, per-session expand tokens."""

from __future__ import annotations

import json
import re
import sqlite3
import time

import pandas as pd
import pytest
from conftest import login

from graphdetect.review.present import MARKER, Presenter
from graphdetect.review.roles import BLIND_LABELS
from graphdetect.review.store import ReviewStore, bounded

#: Users beside conftest's admin, li (investigator) and rev (reviewer).
EXTRA = {"rev2": ("reviewer", "second-reviewer-pass-7"),
         "wangwu": ("investigator", "east-gate-ledger-9")}
ALIAS = re.compile("(?:" + "|".join(BLIND_LABELS.values()) + r")\d+")


@pytest.fixture
def make(make_app, review_db):
    store = ReviewStore(review_db)
    for name, (role, password) in EXTRA.items():
        store.add_user(name, role, password)
    return make_app


@pytest.fixture
def app(make):
    return make()


def client_of(app, name: str):
    client = app.test_client()
    if name in EXTRA:
        res = client.post("/login", data={"username": name, "password": EXTRA[name][1]})
        assert res.status_code == 302, res.data
    else:
        login(client, name)
    return client


def error_of(res, status: int) -> dict:
    """The one JSON error shape, with this status."""
    assert res.status_code == status, (res.status_code, res.get_data(as_text=True)[:300])
    assert res.json == {"error": {"status": status, "title": res.json["error"]["title"],
                                  "message": res.json["error"]["message"]}}
    return res.json["error"]


def visible_text(res) -> str:
    """A response as a person reads it (JSON unescaped)."""
    if res.is_json:
        return json.dumps(res.json, ensure_ascii=False)
    return res.get_data(as_text=True)


# -- 1. every write, field by field ----------------------------------------------------
def test_reviewer_may_only_add_notes(app, ring):
    """A reviewer may write a note; any status or assignee key at all is refused."""
    cid = ring["case_id"]
    url = f"/api/cases/{cid}/decision"
    li = client_of(app, "li")
    assert li.post(url, json={"status": "in_review", "assignee": "li"}).status_code == 201
    rev = client_of(app, "rev")
    for payload in ({"assignee": ""}, {"assignee": None}, {"assignee": "rev"},
                    {"status": None, "body": "x"}, {"status": "", "body": "x"},
                    {"status": "confirmed", "reason": "x"}):
        error_of(rev.post(url, json=payload), 403)
    res = rev.post(f"/cases/{cid}/decision", data={"assignee": "", "body": "x"})
    assert res.status_code == 403
    assert rev.post(url, json={"reason": "复核意见", "body": "证据充分"}).status_code == 201
    case = li.get(f"/api/cases/{cid}").json
    assert (case["status"], case["assignee"]) == ("in_review", "li")
    assert len(case["history"]) == 2


BAD_DECISIONS = [{"reason": 5}, {"body": {"a": 1}}, {"body": ["x"]}, {"status": ["in_review"]},
                 {"assignee": 7}, {"reason": True}, {"reason": "x" * 501},
                 {"body": "x" * 5001}, {"colour": "red", "body": "x"}, {"status": "closed"},
                 [], "a note", 5, None]


@pytest.mark.parametrize("payload", BAD_DECISIONS, ids=lambda p: repr(p)[:30])
def test_bad_decisions_answer_400(app, ring, payload):
    client = client_of(app, "li")
    cid = ring["case_id"]
    res = client.post(f"/api/cases/{cid}/decision", data=json.dumps(payload),
                      content_type="application/json")
    assert error_of(res, 400)["title"] == "Bad Request"
    assert client.get(f"/api/cases/{cid}").json["history"] == []


@pytest.mark.parametrize("form", [{"reason": "x" * 501}, {"body": "x" * 5001},
                                  {"body": "x", "colour": "red"}, {"status": "closed"}])
def test_the_form_route_has_the_same_limits(app, ring, form):
    client = client_of(app, "li")
    cid = ring["case_id"]
    res = client.post(f"/cases/{cid}/decision", data=form, headers={"Accept": "application/json"})
    error_of(res, 400)
    assert client.get(f"/api/cases/{cid}").json["history"] == []


def test_invisible_characters_are_no_reason(app, ring):
    client = client_of(app, "li")
    cid = ring["case_id"]
    url = f"/api/cases/{cid}/decision"
    assert client.post(url, json={"status": "in_review"}).status_code == 201
    for blank in ("\u200b", "\u200b\u2060\ufeff", " \u00a0\u3000\t", "\u202e\u200f\n"):
        message = error_of(client.post(url, json={"status": "confirmed", "reason": blank}), 409)
        assert "needs a reason" in message["message"]
        message = error_of(client.post(url, json={"body": blank, "reason": blank}), 409)
        assert "nothing to record" in message["message"]
    res = client.post(url, json={"status": "confirmed", "reason": "\u200b病历雷同\u200b"})
    assert res.status_code == 201 and res.json["reason"] == "病历雷同"


@pytest.mark.parametrize("url", ["/", "/api/cases", "/admin/audit", "/api/admin/audit"])
def test_page_numbers_never_fail(app, url):
    client = client_of(app, "admin")
    expected = {"1e20": 400, "-1": 400, "0": 400, "x": 400, "1.5": 400, "9" * 5000: 400,
                "99999999999999999999": 200, "2": 200}
    for page, status in expected.items():
        res = client.get(url, query_string={"page": page})
        assert res.status_code == status, (url, page[:30], res.status_code)
        if url.startswith("/api/") and status == 400:
            assert "page" in error_of(res, 400)["message"]
        if url.startswith("/api/") and status == 200:
            paging = res.json["paging"]
            assert 1 <= paging["page"] <= max(paging["pages"], 10**6)
    if url == "/api/cases":  # past the end: the last page
        paging = client.get(url, query_string={"page": "99999999999999999999"}).json["paging"]
        assert paging["page"] == paging["pages"]


@pytest.mark.parametrize("limit, status", [("0", 400), ("-5", 400), ("x", 400), ("1e3", 400),
                                           (str(10**30), 200), ("3", 200)])
def test_expand_limit_is_checked(app, ring, limit, status):
    client = client_of(app, "li")
    inst = next(m["id"] for m in ring["members"] if m["kind"] == "institution")
    res = client.get(f"/api/cases/{ring['case_id']}/expand",
                     query_string={"node": f"institution:{inst}", "limit": limit})
    if status == 400:
        assert "limit" in error_of(res, 400)["message"]
    else:
        assert res.status_code == 200 and 1 < len(res.json["nodes"]) <= 501


@pytest.mark.parametrize("score", ["nan", "inf", "-inf", "1e999", "NaN", "x"])
def test_min_score_must_be_a_finite_number(app, score):
    client = client_of(app, "li")
    assert "min_score" in error_of(client.get("/api/cases", query_string={"min_score": score}),
                                   400)["message"]
    assert client.get("/", query_string={"min_score": score}).status_code == 400
    assert client.get("/api/cases", query_string={"min_score": "0.5"}).status_code == 200


# -- 2. one transaction per decision ---------------------------------------------------
def test_a_decision_and_its_audit_row_are_one_transaction(app, ring, review_db):
    client = client_of(app, "li")
    cid = ring["case_id"]
    url = f"/api/cases/{cid}/decision"
    db = sqlite3.connect(review_db)
    db.execute("CREATE TRIGGER fail_decision_audit BEFORE INSERT ON audit "
               "WHEN NEW.action = 'decision' BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    db.commit()
    res = client.post(url, json={"status": "in_review", "assignee": "li", "body": "开始核查"})
    assert error_of(res, 500)["title"] == "Internal Server Error"
    store = ReviewStore(review_db)
    assert store.history(ring["case_key"]) == []
    assert store.state(ring["case_key"])["status"] == "new"
    db.execute("DROP TRIGGER fail_decision_audit")
    db.commit()
    for payload in ({"status": "in_review", "assignee": "li"}, {"body": "调取病历"},
                    {"status": "confirmed", "reason": "病历雷同"}):
        assert client.post(url, json=payload).status_code == 201
    notes = db.execute("SELECT COUNT(*) FROM notes").fetchone()[0]
    audits = db.execute("SELECT COUNT(*) FROM audit WHERE action = 'decision'").fetchone()[0]
    db.close()
    assert notes == audits == 3


# -- 3. bounded audit rows ---------------------------------------------------------------
def test_audit_rows_keep_a_bounded_copy_of_the_request(app, review_db):
    client = client_of(app, "li")
    client.get("/api/cases", query_string={"x": "a" * 100_000})
    store = ReviewStore(review_db)
    row = store.audit_log(user="li", action="view cases.api_queue")[0][0]
    full = len("/api/cases?x=") + 100_000
    assert row["target"] == "/api/cases?x=" + "a" * (1000 - 13) + f"…[+{full - 1000} chars]"
    store.audit(user="=u" * 2500, role=None, action="login failed", detail="d" * 3000)
    row = store.audit_log(action="login failed")[0][0]
    assert row["user"].endswith("…[+4000 chars]") and len(row["user"]) < 1100
    assert row["detail"].endswith("…[+2000 chars]")
    assert bounded("abc", 10) == "abc" and bounded(None) is None
    assert bounded("x" * 12, 10) == "x" * 10 + "…[+2 chars]"


# -- 4. no-store -----------------------------------------------------------------------
def test_no_store_on_every_response_but_static_files(app, ring):
    anonymous = app.test_client()
    for res in (anonymous.get("/login"), anonymous.get("/api/cases"), anonymous.get("/")):
        assert res.headers["Cache-Control"] == "no-store"
    client = client_of(app, "li")
    cid = ring["case_id"]
    for url in ("/", "/api/cases", f"/cases/{cid}", f"/api/cases/{cid}",
                f"/api/cases/{cid}/network", f"/api/cases/{cid}/claims",
                f"/cases/{cid}/claims.csv", "/api/me", "/no/such/page"):
        res = client.get(url)
        assert res.headers["Cache-Control"] == "no-store", url
        assert res.headers["Pragma"] == "no-cache", url
    with client.get("/static/css/app.css") as res:
        assert res.status_code == 200 and "no-store" not in res.headers.get("Cache-Control", "")


# -- 5. blind queue and notes ------------------------------------------------------------
def test_blind_queue_names_no_assignee(app, cases):
    boss = client_of(app, "wangwu")
    top = sorted(cases, key=lambda c: -c["score"])[:3]
    for c in top:
        res = boss.post(f"/api/cases/{c['case_id']}/decision",
                        json={"status": "in_review", "assignee": "wangwu"})
        assert res.status_code == 201
    rev = client_of(app, "rev")
    queue = rev.get("/api/cases").json
    assert queue["cases"] and all(c["assignee"] is None for c in queue["cases"])
    page = rev.get("/").get_data(as_text=True)
    assert "wangwu" not in page and 'name="assignee"' not in page
    for c in top:
        assert "wangwu" not in visible_text(rev.get(f"/cases/{c['case_id']}"))
        assert "wangwu" not in visible_text(rev.get(f"/api/cases/{c['case_id']}"))
    # the filter cannot be used to probe who holds a case
    filtered = rev.get("/api/cases?assignee=wangwu").json["paging"]["total"]
    assert filtered == queue["paging"]["total"] == len(cases)
    li = client_of(app, "li")
    assert li.get("/api/cases?assignee=wangwu").json["paging"]["total"] == 3
    assert 'name="assignee"' in li.get("/").get_data(as_text=True)


def test_blind_notes_hide_every_id_and_name_of_the_run(app, cases, ring, planted):
    members = {m["id"] for m in ring["members"]}
    other_patient = next(m["id"] for c in cases for m in c["members"]
                         if m["kind"] == "patient" and m["id"] not in members)
    doctors = pd.read_csv(planted / "doctors.csv", dtype=str)
    institutions = pd.read_csv(planted / "institutions.csv", dtype=str)
    claims = pd.read_csv(planted / "claims.csv", dtype=str, usecols=["claim_id"])
    doctor = doctors[~doctors["doctor_id"].isin(members)].iloc[0]
    inst = institutions[~institutions["institution_id"].isin(members)].iloc[0]
    own = next(m["id"] for m in ring["members"] if m["kind"] == "institution")
    own_name = institutions.set_index("institution_id").loc[own, "name"]
    other_claim = claims[~claims["claim_id"].isin(ring["claim_ids"])]["claim_id"].iloc[0]
    own_claim = ring["claim_ids"][0]
    body = (f"患者{other_patient}与本案无关；{doctor['name']}医生（{doctor['doctor_id']}）在"
            f"{inst['name']}（{inst['institution_id']}）接诊。另见结算单{other_claim},{own_claim}。"
            f"本案机构{own_name}（{own}）. Patient {other_patient}. ({other_patient})")
    secrets = [other_patient, doctor["name"], doctor["doctor_id"], inst["name"],
               inst["institution_id"], other_claim, own_claim, own_name, own]
    cid = ring["case_id"]
    li = client_of(app, "li")
    res = li.post(f"/api/cases/{cid}/decision",
                  json={"reason": f"对照{other_patient}", "body": body})
    assert res.status_code == 201
    rev = client_of(app, "rev")
    for url in (f"/api/cases/{cid}", f"/cases/{cid}"):
        text = visible_text(rev.get(url))
        assert not [s for s in secrets if s in text], url
    note = rev.get(f"/api/cases/{cid}").json["history"][-1]
    assert note["reason"] == f"对照{MARKER}"
    assert "本案机构机构1." in note["body"] and "结算1。" in note["body"]
    assert f"{MARKER}（{MARKER}）" not in note["body"] and "机构1（机构1）" not in note["body"]
    assert note["body"].count(MARKER) == 7, note["body"]
    assert li.get(f"/api/cases/{cid}").json["history"][-1]["body"] == body


# -- 6. the freeze ---------------------------------------------------------------------
def test_a_huge_note_from_an_old_database_renders_fast(app, ring, review_db):
    """A 200,000-character note without spaces (an old database could store one) shows
    at once, cut to the limit, masked; the database keeps all of it."""
    cid = ring["case_id"]
    patient = next(m["id"] for m in ring["members"] if m["kind"] == "patient")
    huge = (patient * 200_000)[:200_000]
    run_id = app.extensions["run_view"].run_id
    db = sqlite3.connect(review_db)
    db.execute("INSERT INTO notes (case_key, run_id, case_id, author, created_at, status_from, "
               "status_to, reason, body) VALUES (?, ?, ?, 'li', '2024-01-01T00:00:00+00:00', "
               "'new', 'new', '', ?)", (ring["case_key"], run_id, cid, huge))
    db.commit()
    db.close()
    rev = client_of(app, "rev")
    for url in (f"/api/cases/{cid}", f"/cases/{cid}"):
        start = time.perf_counter()
        res = rev.get(url)
        assert res.status_code == 200 and time.perf_counter() - start < 2
        assert patient not in visible_text(res)
    shown = rev.get(f"/api/cases/{cid}").json["history"][-1]["body"]
    assert shown.endswith("…") and len(shown) <= 5000
    li = client_of(app, "li")
    assert len(li.get(f"/api/cases/{cid}").json["history"][-1]["body"]) == 5000
    assert ReviewStore(review_db).history(ring["case_key"])[-1]["body"] == huge
    start = time.perf_counter()
    masked = Presenter(ring, blind=True).text(huge)
    assert time.perf_counter() - start < 2
    assert patient not in masked and masked.startswith("患者1患者1")


# -- 7. per-session expand tokens --------------------------------------------------------
def _tokens(client, cid: str) -> tuple[str, str]:
    """The blind case network's host alias, and a node outside the case (a token)."""
    net = client.get(f"/api/cases/{cid}/network").json
    host = next(n["data"]["id"] for n in net["nodes"] if n["data"]["kind"] == "institution")
    assert ALIAS.fullmatch(host.split(":", 1)[1]), host
    nodes = client.get(f"/api/cases/{cid}/expand", query_string={"node": host}).json["nodes"]
    outside = [n["data"] for n in nodes if not ALIAS.fullmatch(n["data"]["id"].split(":")[1])]
    assert outside
    kind, token = outside[0]["id"].split(":", 1)
    assert outside[0]["label"] == f"{BLIND_LABELS[kind]}·{token[:6]}"
    return host, outside[0]["id"]


def _expand(client, cid: str, node: str) -> int:
    return client.get(f"/api/cases/{cid}/expand", query_string={"node": node}).status_code


def test_expand_tokens_belong_to_one_session_and_case(app, ring, cases):
    cid = ring["case_id"]
    rev = client_of(app, "rev")
    host, token = _tokens(rev, cid)
    assert _expand(rev, cid, token) == 200 and _expand(rev, cid, host) == 200
    assert _tokens(rev, cid)[1] == token  # the same node, the same id, all session long
    assert _expand(client_of(app, "rev2"), cid, token) == 404
    other = next(c["case_id"] for c in cases if c["case_id"] != cid)
    assert _expand(rev, other, token) == 404
    kind, sealed = token.split(":", 1)
    for forged in (f"{kind}:{sealed[:-2]}", f"{kind}:{sealed}!", f"{kind}:AAAA",
                   f"{'doctor' if kind != 'doctor' else 'patient'}:{sealed}", token + "x"):
        assert _expand(rev, cid, forged) == 404, forged
    assert "blind_tokens" not in app.extensions


def test_real_ids_are_refused_even_after_an_investigator_opened_the_network(app, ring):
    cid = ring["case_id"]
    li = client_of(app, "li")
    inst = next(m["id"] for m in ring["members"] if m["kind"] == "institution")
    li.get(f"/api/cases/{cid}/network")
    real = li.get(f"/api/cases/{cid}/expand", query_string={"node": f"institution:{inst}"}).json
    outside = [n["data"]["id"] for n in real["nodes"]
               if n["data"]["id"].split(":", 1)[1] not in {m["id"] for m in ring["members"]}]
    patient = next(m["id"] for m in ring["members"] if m["kind"] == "patient")
    rev = client_of(app, "rev")
    for node in (f"institution:{inst}", f"patient:{patient}", *outside[:5]):
        assert _expand(rev, cid, node) == 404, node


def test_a_token_dies_with_its_session(app, ring):
    cid = ring["case_id"]
    rev = client_of(app, "rev")
    _, token = _tokens(rev, cid)
    assert rev.post("/logout").status_code == 302
    login(rev, "rev")
    assert _expand(rev, cid, token) == 404
    assert _expand(rev, cid, _tokens(rev, cid)[1]) == 200


def test_a_token_survives_a_restart(make, ring):
    cid = ring["case_id"]
    rev = client_of(make(), "rev")
    _, token = _tokens(rev, cid)
    again = make().test_client()  # a new app: same SECRET_KEY, same database
    again.set_cookie("session", rev.get_cookie("session").value)
    assert _expand(again, cid, token) == 200
    stranger = make(SECRET_KEY="another-secret").test_client()
    stranger.set_cookie("session", rev.get_cookie("session").value)
    assert _expand(stranger, cid, token) == 401
