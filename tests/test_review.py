"""The review UI through Flask's test client: every route, every role."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from conftest import PASSWORDS, login

from graphdetect.cli import main
from graphdetect.review.store import ReviewStore


@pytest.fixture
def app(make_app):
    return make_app()


def routes(case: dict) -> dict[str, str]:
    cid = case["case_id"]
    inst = next(m["id"] for m in case["members"] if m["kind"] == "institution")
    return {
        "queue": "/", "api_queue": "/api/cases", "case": f"/cases/{cid}",
        "api_case": f"/api/cases/{cid}", "network": f"/api/cases/{cid}/network",
        "claims": f"/api/cases/{cid}/claims", "claims_csv": f"/cases/{cid}/claims.csv",
        "entity": f"/entities/institution/{inst}",
        "api_entity": f"/api/entities/institution/{inst}",
        "entity_network": f"/api/entities/institution/{inst}/network",
        "audit": "/admin/audit", "api_audit": "/api/admin/audit", "audit_csv": "/admin/audit.csv",
        "me": "/api/me",
    }


FORBIDDEN = {
    "li": {"audit", "api_audit", "audit_csv"},
    "rev": {"audit", "api_audit", "audit_csv", "entity", "api_entity", "entity_network"},
    "admin": set(),
}


def test_anonymous_gets_login_or_401(app, ring):
    client = app.test_client()
    for name, url in routes(ring).items():
        res = client.get(url)
        if url.startswith("/api/"):
            assert res.status_code == 401, name
            assert res.json == {"error": {"status": 401, "title": "Unauthorized",
                                          "message": "login required"}}
        else:
            assert res.status_code == 302 and "/login" in res.headers["Location"], name


@pytest.mark.parametrize("user", ["admin", "li", "rev"])
def test_every_route_for_every_role(app, ring, user):
    client = app.test_client()
    login(client, user)
    for name, url in routes(ring).items():
        res = client.get(url)
        expected = 403 if name in FORBIDDEN[user] else 200
        assert res.status_code == expected, (user, name, res.status_code)
        if expected == 403 and url.startswith("/api/"):
            assert res.json["error"]["status"] == 403


def test_not_found_has_page_and_json_shape(app):
    client = app.test_client()
    login(client, "admin")
    assert client.get("/cases/NOPE").status_code == 404
    res = client.get("/api/cases/NOPE")
    assert res.status_code == 404 and res.json["error"]["message"] == "no case NOPE"
    assert "404" in client.get("/no/such/page").get_data(as_text=True)


def test_login_failure_is_audited_and_next_is_local(app, review_db):
    client = app.test_client()
    res = client.post("/login", data={"username": "li", "password": "wrong"})
    assert res.status_code == 401
    for target in ("http://evil.example/x", "//evil.example/x", "/\\evil.example/x"):
        res = app.test_client().post("/login", query_string={"next": target},
                                     data={"username": "li", "password": PASSWORDS["li"]})
        assert res.headers["Location"] == "/", target
    rows, _ = ReviewStore(review_db).audit_log()
    assert {"login failed", "login"} <= {r["action"] for r in rows}


def test_csrf_on_every_form(make_app, ring):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    assert client.post("/login", data={"username": "li", "password": PASSWORDS["li"]}) \
        .status_code == 400
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    res = client.post("/login", data={"username": "li", "password": PASSWORDS["li"],
                                      "csrf_token": token})
    assert res.status_code == 302
    cid = ring["case_id"]
    assert client.post(f"/cases/{cid}/decision", data={"body": "x"}).status_code == 400
    assert client.post(f"/api/cases/{cid}/decision", json={"body": "x"}).status_code == 400
    assert client.post("/logout").status_code == 400
    page = client.get(f"/cases/{cid}").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    res = client.post(f"/api/cases/{cid}/decision", json={"body": "ok"},
                      headers={"X-CSRFToken": token})
    assert res.status_code == 201


def test_workflow_and_history(app, ring, review_db):
    client = app.test_client()
    login(client, "li")
    url = f"/api/cases/{ring['case_id']}/decision"
    assert client.post(url, json={"status": "confirmed", "reason": "x"}).status_code == 409
    assert client.post(url, json={"status": "in_review", "assignee": "li"}).status_code == 201
    res = client.post(url, json={"status": "confirmed"})
    assert res.status_code == 409 and "needs a reason" in res.json["error"]["message"]
    assert client.post(url, json={"status": "confirmed", "reason": "同村老人批量入院，病历雷同"}) \
        .status_code == 201
    case = client.get(f"/api/cases/{ring['case_id']}").json
    assert case["status"] == "confirmed" and case["assignee"] == "li"
    assert [h["status_to"] for h in case["history"]] == ["in_review", "confirmed"]
    assert case["next_statuses"] == ["referred", "in_review"]
    queue = client.get("/api/cases?status=confirmed").json
    assert [c["case_id"] for c in queue["cases"]] == [ring["case_id"]]
    assert queue["counts"]["confirmed"] == 1
    rows, _ = ReviewStore(review_db).audit_log(action="decision")
    assert rows[0]["target"] == ring["case_id"] and "in_review -> confirmed" in rows[0]["detail"]


def test_form_decision_and_reviewer_limits(app, ring):
    client = app.test_client()
    login(client, "rev")
    cid = ring["case_id"]
    res = client.post(f"/cases/{cid}/decision", data={"status": "in_review", "body": "x"})
    assert res.status_code == 403
    res = client.post(f"/cases/{cid}/decision", data={"body": "评审意见：证据充分"})
    assert res.status_code == 302
    assert "评审意见" in client.get(f"/cases/{cid}").get_data(as_text=True)


def test_notes_and_ids_are_escaped(app, ring):
    client = app.test_client()
    login(client, "admin")
    evil = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    cid = ring["case_id"]
    assert client.post(f"/api/cases/{cid}/decision", json={"body": evil, "reason": evil}) \
        .status_code == 201
    page = client.get(f"/cases/{cid}").get_data(as_text=True)
    assert evil not in page and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    res = client.get("/api/cases?q=" + "<b>x</b>")
    assert res.status_code == 200 and res.json["cases"] == []
    page = client.get("/?q=%3Cb%3Ex%3C/b%3E").get_data(as_text=True)
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert "script-src 'self'" in client.get("/").headers["Content-Security-Policy"]


def test_blind_review_hides_every_id_in_every_pattern(app, cases):
    """One case of each pattern the run holds: the reviewer's page, JSON and CSV carry
    no member id, name-bearing id or claim id (the explanation is rendered blind)."""
    client = app.test_client()
    login(client, "rev")
    shown = {}
    for c in cases:
        shown.setdefault(c["pattern"], c)
    assert len(shown) >= 5, sorted(shown)
    for case in shown.values():
        cid = case["case_id"]
        secrets = {m["id"] for m in case["members"]} | set(case["claim_ids"])
        for url in (f"/api/cases/{cid}", f"/cases/{cid}", f"/api/cases/{cid}/network",
                    f"/api/cases/{cid}/claims", f"/cases/{cid}/claims.csv"):
            text = client.get(url).get_data(as_text=True)
            leaked = [x for x in secrets if x in text]
            assert not leaked, (case["pattern"], url, leaked[:3])


def test_blind_review_hides_every_id(app, ring, planted_run):
    client = app.test_client()
    login(client, "rev")
    cid = ring["case_id"]
    secrets = {m["id"] for m in ring["members"]} | set(ring["claim_ids"])
    texts = [client.get(u).get_data(as_text=True) for u in (
        f"/api/cases/{cid}", f"/cases/{cid}", f"/api/cases/{cid}/network",
        f"/api/cases/{cid}/claims", f"/cases/{cid}/claims.csv", "/api/cases", "/")]
    for text in texts:
        leaked = [s for s in secrets if s in text]
        assert not leaked, leaked[:3]
    case = client.get(f"/api/cases/{cid}").json
    assert {m["id"] for m in case["members"] if m["kind"] == "patient"} >= {"患者1", "患者2"}
    assert "机构1" in case["explanation"]
    net = client.get(f"/api/cases/{cid}/network").json
    node = next(n["data"]["id"] for n in net["nodes"] if n["data"]["kind"] == "institution")
    res = client.get(f"/api/cases/{cid}/expand", query_string={"node": node})
    assert res.status_code == 200 and len(res.json["nodes"]) > 1
    assert not any(s in res.get_data(as_text=True) for s in secrets)
    assert client.get(f"/api/cases/{cid}/expand?node=patient:{ring['members'][-1]['id']}") \
        .status_code == 404
    assert client.get(f"/api/cases?q={ring['members'][-1]['id']}").json["paging"]["total"] > 1


def test_expand_is_hub_capped(app, ring):
    client = app.test_client()
    login(client, "li")
    inst = next(m["id"] for m in ring["members"] if m["kind"] == "institution")
    res = client.get(f"/api/cases/{ring['case_id']}/expand",
                     query_string={"node": f"institution:{inst}", "limit": 5})
    assert res.status_code == 200
    assert len(res.json["nodes"]) == 6 and res.json["hidden"] > 0


def test_queue_filters_sort_search_paging(make_app, cases):
    app = make_app(PAGE_SIZE=3)
    client = app.test_client()
    login(client, "li")
    res = client.get("/api/cases").json
    assert res["paging"] == {"page": 1, "size": 3, "total": len(cases),
                             "pages": -(-len(cases) // 3)}
    assert [c["score"] for c in res["cases"]] == sorted((c["score"] for c in cases),
                                                        reverse=True)[:3]
    rings = client.get("/api/cases?pattern=collusion_ring&sort=case_id").json
    assert all(c["pattern"] == "collusion_ring" for c in rings["cases"])
    assert [c["case_id"] for c in rings["cases"]] == sorted(c["case_id"] for c in rings["cases"])
    patient = next(m["id"] for c in cases for m in c["members"] if m["kind"] == "patient")
    found = client.get("/api/cases", query_string={"q": patient}).json["cases"]
    assert found and all(patient in {m["id"] for m in c["members"]} for c in cases
                         if c["case_id"] in {f["case_id"] for f in found})
    page2 = client.get("/api/cases?page=2").json
    assert page2["paging"]["page"] == 2 and page2["cases"][0] != res["cases"][0]
    assert client.get("/api/cases?page=x").status_code == 400


def test_language_switch_and_money(app):
    client = app.test_client()
    login(client, "li")
    assert "案件队列" in client.get("/").get_data(as_text=True)
    page = client.get("/?lang=en").get_data(as_text=True)
    assert "Case queue" in page and "案件队列" not in page
    assert "Case queue" in client.get("/").get_data(as_text=True)  # remembered
    assert re.search(r"¥[\d,]+\.\d\d", page)


def test_session_cookie_flags(app):
    client = app.test_client()
    res = client.post("/login", data={"username": "li", "password": PASSWORDS["li"]})
    cookie = res.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_every_view_is_audited(app, ring, review_db):
    client = app.test_client()
    login(client, "li")
    client.get(f"/cases/{ring['case_id']}")
    client.get(f"/cases/{ring['case_id']}/claims.csv")
    rows, _ = ReviewStore(review_db).audit_log(user="li")
    actions = [r["action"] for r in rows]
    assert "view cases.case_page" in actions and "download claims" in actions
    assert all(r["ip"] == "127.0.0.1" for r in rows)


def test_audit_log_is_append_only(review_db):
    import sqlite3

    store = ReviewStore(review_db)
    store.audit(user="x", role="admin", action="test")
    db = sqlite3.connect(review_db)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM audit")
    db.close()


def test_users_cli(tmp_path, monkeypatch):
    db = tmp_path / "r.sqlite"
    runner = CliRunner()
    res = runner.invoke(main, ["users", "add", "wang", "--role", "reviewer", "--db", str(db)],
                        env={"GRAPHDETECT_PASSWORD": "long enough pw"})
    assert res.exit_code == 0, res.output
    assert ReviewStore(db).check_password("wang", "long enough pw")["role"] == "reviewer"
    assert "long enough pw" not in db.read_bytes().decode("latin-1")
    res = runner.invoke(main, ["users", "add", "x", "--role", "boss", "--db", str(db)])
    assert res.exit_code == 2
    res = runner.invoke(main, ["users", "add", "xu", "--role", "admin", "--db", str(db)],
                        env={"GRAPHDETECT_PASSWORD": "short"})
    assert res.exit_code == 2 and "at least 10" in res.output


def test_catalogs_are_complete_and_compiled(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    root = Path(__file__).parents[1] / "web" / "translations"
    with open(root / "messages.pot", "rb") as f:
        pot = read_po(f)
    with open(root / "zh" / "LC_MESSAGES" / "messages.po", "rb") as f:
        po = read_po(f)
    with open(root / "zh" / "LC_MESSAGES" / "messages.mo", "rb") as f:
        mo = read_mo(f)
    missing = [m.id for m in pot if m.id and not (po.get(m.id) and po.get(m.id).string)]
    assert not missing
    # the template is current: every message of the code and templates is in it
    fresh = tmp_path / "messages.pot"
    subprocess.run([str(Path(sys.executable).with_name("pybabel")), "-q", "extract", "-F",
                    str(root.parent / "babel.cfg"), "-k", "_l", "-o", str(fresh),
                    str(root.parents[1])], check=True, cwd=root.parents[1])
    with open(fresh, "rb") as f:
        assert {m.id for m in read_po(f) if m.id} <= {m.id for m in pot if m.id}, \
            "run `make translations` and translate the new messages"
    assert {m.id: m.string for m in po if m.id} == {m.id: m.string for m in mo if m.id}


def test_export_button_only_for_confirmed_cases(app, ring, review_db, tmp_path):
    import io
    import zipfile

    client = app.test_client()
    login(client, "li")
    cid = ring["case_id"]
    assert "cases/" + cid + "/export" not in client.get(f"/cases/{cid}").get_data(as_text=True)
    assert client.post(f"/cases/{cid}/export").status_code == 403
    url = f"/api/cases/{cid}/decision"
    client.post(url, json={"status": "in_review"})
    client.post(url, json={"status": "confirmed", "reason": "病历雷同，集中入院"})
    assert f"/cases/{cid}/export" in client.get(f"/cases/{cid}").get_data(as_text=True)
    with client.post(f"/cases/{cid}/export") as res:
        assert res.status_code == 200 and res.mimetype == "application/zip"
        names = zipfile.ZipFile(io.BytesIO(res.data)).namelist()
    assert any(n.endswith("report.pdf") for n in names)
    assert any(n.endswith("manifest.json") for n in names)
    rows, _ = ReviewStore(review_db).audit_log(action="export")
    assert rows and rows[0]["target"] == cid
