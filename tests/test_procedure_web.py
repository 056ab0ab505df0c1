"""The review procedure in the real Flask app: a committee drawn at random votes blind,
its outcome confirms the case, the admin records the points, an appeal with an
attachment is upheld and revokes them; roles, CSRF, escaping and the audit log."""

from __future__ import annotations

import hashlib
import io
import re

import pytest
from conftest import PASSWORDS, login

from graphdetect.ledger import Ledger
from graphdetect.review.store import ReviewStore

MORE_REVIEWERS = ("rev2", "rev3")
PASSWORD = "blind reading passphrase"


@pytest.fixture
def app(make_app, review_db):
    store = ReviewStore(review_db)
    for name in MORE_REVIEWERS:
        store.add_user(name, "reviewer", PASSWORD)
    return make_app()


def as_user(app, name: str):
    client = app.test_client()
    if name in PASSWORDS:
        login(client, name)
    else:
        res = client.post("/login", data={"username": name, "password": PASSWORD})
        assert res.status_code == 302
    return client


def post(client, url: str, **data):
    return client.post(url, data=data)


def in_review(client, cid: str) -> None:
    assert post(client, f"/cases/{cid}/decision", status="in_review",
                reason="开始核查").status_code == 302


def audit_actions(review_db) -> list[str]:
    return [r["action"] for r in ReviewStore(review_db).audit_log(limit=1000)[0]]


def test_committee_appeal_and_ledger_through_the_pages(app, ring, review_db):
    cid = ring["case_id"]
    admin, li = as_user(app, "admin"), as_user(app, "li")
    in_review(li, cid)
    # an investigator may not send a case to a committee
    assert post(li, f"/cases/{cid}/committee").status_code == 403
    assert post(admin, f"/cases/{cid}/committee", size="3").status_code == 302
    page = admin.get(f"/cases/{cid}?lang=en").get_data(as_text=True)
    assert "Close with the votes cast" in page and "0 of 3 have voted" in page
    reviewers = {name: as_user(app, name) for name in ("rev", *MORE_REVIEWERS)}
    secrets = {m["id"] for m in ring["members"]}
    first, *rest = reviewers.items()
    # every page tells each member that the committee waits for them
    assert f"#procedure\">{cid}" in first[1].get("/").get_data(as_text=True).replace(
        "<bdi>", "").replace("</bdi>", "")
    # the first member votes dismiss, with a reason naming a real id
    who = ring["members"][0]["id"]
    assert post(first[1], f"/cases/{cid}/committee/1/vote", vote="dismiss",
                reason=f"{who} 的记录不足以认定").status_code == 302
    for _name, client in rest:  # the others see that one voted, not how nor why
        text = client.get(f"/cases/{cid}").get_data(as_text=True)
        assert "不足以认定" not in text and "排除</b>" not in text
        assert "3 人中已有 1 人投票" in text
        assert not [s for s in secrets if s in text]
    for _name, client in rest:
        assert post(client, f"/cases/{cid}/committee/1/vote", vote="confirm",
                    reason="时段高度集中，与住院记录冲突").status_code == 302
    assert "#procedure" not in rest[0][1].get("/").get_data(as_text=True)  # voted: no notice
    # closed: every member now sees every vote, ids still blind
    text = rest[0][1].get(f"/cases/{cid}").get_data(as_text=True)
    assert "不足以认定" in text and not [s for s in secrets if s in text]
    assert li.get(f"/api/cases/{cid}").json["status"] == "confirmed"
    # a second vote after the close is refused
    assert post(first[1], f"/cases/{cid}/committee/1/vote", vote="confirm",
                reason="再投").status_code == 409
    # the admin records the points; an investigator may not
    assert post(li, f"/cases/{cid}/ledger", severity="serious").status_code == 403
    assert post(admin, f"/cases/{cid}/ledger", severity="serious").status_code == 302
    entries = Ledger(ReviewStore(review_db)).entries(case_key=ring["case_key"])
    assert entries and all(e["decided_by"] == "committee #1" for e in entries)
    assert post(admin, f"/cases/{cid}/ledger", severity="serious").status_code == 409
    # the investigator files the institution's appeal with an attachment
    host = next(m["id"] for m in ring["members"] if m["kind"] == "institution")
    scan = b"%PDF-1.4 authorisation letter"
    res = li.post(f"/cases/{cid}/appeals", data={
        "appellant": host, "text": "<script>alert(1)</script>患者均本人就诊",
        "files": (io.BytesIO(scan), "授权书.pdf")}, content_type="multipart/form-data")
    assert res.status_code == 302
    page = li.get(f"/cases/{cid}").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
    assert hashlib.sha256(scan).hexdigest() in page
    link = re.search(r'href="(/cases/[^"]+/files/\d+)"', page).group(1)
    got = li.get(link)
    assert got.data == scan and "attachment" in got.headers["Content-Disposition"]
    assert rest[0][1].get(link).status_code == 403  # reviewers never download
    # the admin upholds it: the points are revoked, the case goes back to review
    assert post(admin, f"/cases/{cid}/appeals/1/decision", outcome="upheld",
                reason="授权书属实").status_code == 302
    entries = Ledger(ReviewStore(review_db)).entries(case_key=ring["case_key"])
    assert sum(e["points"] for e in entries) == 0
    assert li.get(f"/api/cases/{cid}").json["status"] == "in_review"
    actions = audit_actions(review_db)
    for action in ("random draw committee", "committee opened", "committee vote",
                   "committee closed", "ledger recorded", "appeal filed", "appeal decided",
                   "ledger revoked", "view procedure.attachment"):
        assert action in actions, action


def test_a_member_tied_to_the_place_is_never_drawn(app, ring, review_db):
    cid = ring["case_id"]
    host = next(m["id"] for m in ring["members"] if m["kind"] == "institution")
    rev = as_user(app, "rev")
    assert post(rev, "/affiliations", institution_id=host, relation="配偶在该院工作") \
        .status_code == 302
    assert host in rev.get("/affiliations").get_data(as_text=True)
    admin, li = as_user(app, "admin"), as_user(app, "li")
    in_review(li, cid)
    # three members wanted, two eligible: refused with the reason
    res = post(admin, f"/cases/{cid}/committee?lang=en", size="3")
    assert res.status_code == 409 and b"2 eligible reviewers, 3 needed" in res.data
    assert post(admin, f"/cases/{cid}/committee", size="2").status_code == 302
    from graphdetect.review.committee import Committees
    c = Committees(ReviewStore(review_db)).get(1)
    assert sorted(c["members"]) == ["rev2", "rev3"]
    # naming the tied reviewer by hand is refused too
    assert post(admin, f"/cases/{cid}/committee/1/close").status_code == 302
    res = admin.post(f"/cases/{cid}/committee", data={"members": ["rev", "rev2"]})
    assert res.status_code == 409 and b"must recuse" in res.data  # English kept in the session


def test_random_assignment_from_the_case_page(app, ring, review_db):
    cid = ring["case_id"]
    admin, li = as_user(app, "admin"), as_user(app, "li")
    assert post(li, f"/cases/{cid}/assign-random").status_code == 403
    assert post(admin, f"/cases/{cid}/assign-random").status_code == 302
    assert admin.get(f"/api/cases/{cid}").json["assignee"] == "li"  # the one investigator
    row = next(r for r in ReviewStore(review_db).audit_log(limit=100)[0]
               if r["action"] == "random draw assign")
    from graphdetect.review.draw import replay
    assert replay(row["detail"]) == ["li"]


def test_every_procedure_form_needs_its_csrf_token(make_app, ring):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"username": "admin", "password": PASSWORDS["admin"],
                                       "csrf_token": token}).status_code == 302
    cid = ring["case_id"]
    for url in (f"/cases/{cid}/committee", f"/cases/{cid}/committee/1/vote",
                f"/cases/{cid}/committee/1/close", f"/cases/{cid}/assign-random",
                f"/cases/{cid}/ledger", f"/cases/{cid}/appeals",
                f"/cases/{cid}/appeals/1/decision", "/affiliations"):
        assert client.post(url, data={"x": "1"}).status_code == 400, url
    # and every form on the case page carries one
    page = client.get(f"/cases/{cid}").get_data(as_text=True)
    forms = re.findall(r"<form[^>]*method=\"post\".*?</form>", page, flags=re.S)
    assert forms and all("csrf_token" in f for f in forms)


def test_the_case_json_carries_the_procedure_as_each_role_may_see_it(app, ring):
    cid = ring["case_id"]
    admin, li = as_user(app, "admin"), as_user(app, "li")
    in_review(li, cid)
    assert post(admin, f"/cases/{cid}/committee", size="3").status_code == 302
    rev = as_user(app, "rev")
    assert post(rev, f"/cases/{cid}/committee/1/vote", vote="confirm",
                reason="时段集中").status_code == 302
    seen = {name: c.get(f"/api/cases/{cid}").json["procedure"]
            for name, c in (("admin", admin), ("li", li), ("rev", rev))}
    assert seen["admin"]["committees"][0]["voted"] == ["rev"]
    assert seen["admin"]["committees"][0]["votes"] == []  # not even the admin, while open
    assert [v["vote"] for v in seen["rev"]["committees"][0]["votes"]] == ["confirm"]
    assert "rev2" not in str(seen["rev"]) and "entries" not in seen["rev"]
    assert seen["li"]["reviewers"] == [] and seen["li"]["affiliated"] == {}
    assert set(seen["admin"]["reviewers"]) == {"rev", *MORE_REVIEWERS}


def test_an_appeal_goes_to_a_committee_from_the_case_page(app, ring, review_db):
    cid = ring["case_id"]
    admin, li = as_user(app, "admin"), as_user(app, "li")
    in_review(li, cid)
    assert post(li, f"/cases/{cid}/decision", status="confirmed", reason="已核实").status_code \
        == 302
    host = next(m["id"] for m in ring["members"] if m["kind"] == "institution")
    assert post(li, f"/cases/{cid}/appeals", appellant=host, text="不服").status_code == 302
    assert post(admin, f"/cases/{cid}/committee", appeal_id="99").status_code == 404
    assert post(admin, f"/cases/{cid}/committee", appeal_id="1").status_code == 302
    for name in ("rev", *MORE_REVIEWERS):
        client = as_user(app, name)
        page = client.get(f"/cases/{cid}").get_data(as_text=True)
        assert "不服" in page and host not in page  # the appeal's text, blind
        assert post(client, f"/cases/{cid}/committee/1/vote", vote="uphold",
                    reason="证据存疑").status_code == 302
    from graphdetect.ledger.appeals import Appeals
    got = Appeals(ReviewStore(review_db)).get(1)
    assert got["outcome"]["outcome"] == "upheld" and got["outcome"]["committee_id"] == 1
    assert li.get(f"/api/cases/{cid}").json["status"] == "in_review"


def test_the_queue_assigns_every_unassigned_open_case_at_random(app, cases, review_db):
    admin, li = as_user(app, "admin"), as_user(app, "li")
    assert "assign-random" in admin.get("/").get_data(as_text=True)
    assert "assign-random" not in li.get("/").get_data(as_text=True)
    assert post(li, "/assign-random").status_code == 403
    assert post(admin, "/assign-random").status_code == 302
    states = ReviewStore(review_db).states()
    assert all(states[c["case_key"]]["assignee"] == "li" for c in cases)
    draws = [r for r in ReviewStore(review_db).audit_log(limit=1000)[0]
             if r["action"] == "random draw assign"]
    assert len(draws) == len(cases) and len({r["detail"].split('"seed":')[1][:20]
                                             for r in draws}) == 1  # one seed, the batch's


def test_an_oversized_upload_is_refused_before_it_is_read(make_app, review_db, ring):
    app = make_app(MAX_CONTENT_LENGTH=1024)
    li = as_user(app, "li")
    host = next(m["id"] for m in ring["members"] if m["kind"] == "institution")
    res = li.post(f"/cases/{ring['case_id']}/appeals", data={
        "appellant": host, "text": "不服", "files": (io.BytesIO(b"x" * 4096), "scan.pdf")},
        content_type="multipart/form-data")
    assert res.status_code == 413
