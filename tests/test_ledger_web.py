"""The integrity ledger in the review UI: the year's standing, one entity's history, the
entity page's points line and the JSON twins; roles, escaping and the audit log, with the
Flask test client; then the same pages in a real headless Chromium."""

from __future__ import annotations

import os
import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from conftest import PASSWORDS, login
from werkzeug.serving import make_server

from graphdetect.ledger import Ledger, load_rules
from graphdetect.review.store import ReviewStore
from graphdetect.runs import Run

HOSTILE = '<script>alert("ledger")</script>'
CUT = "约谈，次均费用和总额预算下调2%-5%"  # the shipped table's institution tier at 12-18


def _confirm(store: ReviewStore, case: dict, run_id: str, reason: str) -> None:
    for status, why in (("in_review", ""), ("confirmed", reason)):
        store.decide(case["case_key"], run_id=run_id, case_id=case["case_id"], user="li",
                     status=status, reason=why)


@pytest.fixture
def seeded(planted_run, review_db) -> dict:
    """A ledger with: a planted case scoring its institution 12 points (grave) and its
    doctors; a made-up case giving the same institution 2 more points, then revoked; and a
    made-up case naming an institution whose id and reason are markup."""
    run, rules, store = Run(planted_run), load_rules(), ReviewStore(review_db)
    case = next(c for c in run.cases if c["pattern"] == "card_pooling"
                and {"institution", "doctor"} <= {m["kind"] for m in c["members"]}
                and rules.points(c, "grave")[0]["institution"] == 12)
    host = next(m["id"] for m in case["members"] if m["kind"] == "institution")
    doctor = next(m["id"] for m in case["members"] if m["kind"] == "doctor")
    ledger = Ledger(store)
    _confirm(store, case, run.run_id, "刷卡与住院记录冲突，已核实")
    ledger.record_confirmation(case, run_id=run.run_id, severity="grave", user="admin",
                               rules=rules)
    extra = {"case_id": "K-EXTRA", "case_key": "test-K-EXTRA", "pattern": "outpatient_gathering",
             "rules": [], "metrics": {}, "members": [{"kind": "institution", "id": host}]}
    _confirm(store, extra, "run-elsewhere", "门诊聚集，情节轻微")
    [wrong] = ledger.record_confirmation(extra, run_id="run-elsewhere", severity="minor",
                                         user="admin", rules=rules)
    revocation = ledger.revoke(wrong["id"], user="admin", reason="复核后撤销：病历齐全")
    bad = {"case_id": "K-BAD", "case_key": "test-K-BAD", "pattern": "outpatient_gathering",
           "rules": [], "metrics": {}, "members": [{"kind": "institution", "id": HOSTILE}]}
    _confirm(store, bad, "run-elsewhere", HOSTILE)
    ledger.record_confirmation(bad, run_id="run-elsewhere", severity="minor", user="admin",
                               rules=rules)
    return {"case": case, "host": host, "doctor": doctor, "wrong": wrong,
            "revocation": revocation, "year": wrong["year"],
            "doctor_points": rules.points(case, "grave")[0]["doctor"]}


@pytest.fixture
def client(make_app, seeded):
    # the bureau's year is UTC's here, as the entries' year is, even on New Year's Eve
    return make_app(TIMEZONE="UTC").test_client()


def _as(client, user: str):
    login(client, user)
    return client


# -- who may see it --------------------------------------------------------------------------
PAGES = ["/ledger", "/api/ledger", "/ledger/institution/H1", "/api/ledger/institution/H1"]


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_is_sent_to_login_and_a_reviewer_is_refused(client, path):
    res = client.get(path)
    if path.startswith("/api/"):
        assert res.status_code == 401 and res.json["error"]["status"] == 401
    else:
        assert res.status_code == 302 and "/login" in res.headers["Location"]
    res = _as(client, "rev").get(path)
    assert res.status_code == 403  # blind review: no real ids, no entity's ledger


@pytest.mark.parametrize("user", ["li", "admin"])
def test_investigators_and_admins_see_the_ledger(client, user, seeded):
    _as(client, user)
    for path in PAGES:
        assert client.get(path).status_code == 200, path
    assert "/ledger" in client.get("/").get_data(as_text=True)  # the nav link


def test_the_nav_link_is_not_shown_to_a_reviewer(client):
    assert 'href="/ledger"' not in _as(client, "rev").get("/").get_data(as_text=True)


# -- the standing ----------------------------------------------------------------------------
def test_standing_gives_points_tier_and_sanction_net_of_revocations(client, seeded):
    _as(client, "li")
    res = client.get("/api/ledger", query_string={"year": seeded["year"]})
    rows = {(r["entity_kind"], r["entity_id"]): r for r in res.json["standing"]}
    host = rows["institution", seeded["host"]]
    assert host["points"] == 12  # 12 + 2 - 2: the revoked entry no longer counts
    assert host["entries"] == 2 and host["tier"] == 1
    assert host["sanction_zh"] == CUT and "budget cut 2-5%" in host["sanction_en"]
    assert rows["doctor", seeded["doctor"]]["points"] == seeded["doctor_points"]
    assert [r["points"] for r in res.json["standing"]] == sorted(
        (r["points"] for r in res.json["standing"]), reverse=True)
    assert res.json["years"] == [seeded["year"]] and res.json["run_id"]

    page = client.get("/ledger", query_string={"year": seeded["year"]}).get_data(as_text=True)
    row = page[page.index(f"/ledger/institution/{quote(seeded['host'], safe='')}"):]
    row = row[:row.index("</tr>")]
    assert '<td class="num points">12</td>' in row and CUT in row
    assert f"/entities/institution/{quote(seeded['host'], safe='')}" in row
    en = client.get("/ledger", query_string={"year": seeded["year"], "lang": "en"})
    assert "interview; per-visit and total budget cut 2-5%" in en.get_data(as_text=True)


def test_standing_defaults_to_this_year_and_filters_by_kind(client, seeded):
    _as(client, "li")
    res = client.get("/api/ledger")
    assert res.json["year"] == datetime.now(UTC).year == seeded["year"]
    doctors = client.get("/api/ledger", query_string={"kind": "doctor"}).json
    assert doctors["kind"] == "doctor"
    assert {r["entity_kind"] for r in doctors["standing"]} == {"doctor"}
    empty = client.get("/ledger", query_string={"year": 1999, "lang": "en"})
    assert "No entity has points in 1999." in empty.get_data(as_text=True)
    assert client.get("/api/ledger", query_string={"year": 1999}).json["standing"] == []


@pytest.mark.parametrize("query, status", [({"kind": "patient"}, 400), ({"year": "x"}, 400),
                                           ({"year": "-3"}, 400)])
def test_bad_arguments_are_refused(client, query, status):
    res = _as(client, "li").get("/api/ledger", query_string=query)
    assert res.status_code == status and res.json["error"]["status"] == status


def test_default_year_is_the_latest_with_entries_when_this_year_has_none(make_app, review_db):
    app = make_app(TIMEZONE="UTC")
    store = ReviewStore(review_db)
    with store.connect() as db:  # an entry of an earlier year, as a past import left it
        Ledger(store)
        db.execute("INSERT INTO ledger (entity_kind, entity_id, year, points, case_key, run_id, "
                   "case_id, rule, severity, decided_by, decided_at, recorded_by, recorded_at, "
                   "reason) VALUES ('doctor', 'D9', 2021, 9, 'k', 'r', 'K-1', 'card_pooling', "
                   "'grave', 'li', '2021-05-01T00:00:00+00:00', 'admin', "
                   "'2021-05-02T00:00:00+00:00', 'old')")
    client = app.test_client()
    res = _as(client, "li").get("/api/ledger").json
    assert res["year"] == 2021 and res["standing"][0]["sanction_en"].startswith("billing")


# -- one entity's history --------------------------------------------------------------------
def test_history_shows_entries_revocations_and_yearly_tier(client, seeded):
    _as(client, "li")
    host, wrong, revocation = seeded["host"], seeded["wrong"], seeded["revocation"]
    url = f"/ledger/institution/{quote(host, safe='')}"
    data = client.get("/api" + url).json
    [year] = data["years"]
    assert (year["year"], year["points"], year["tier"], year["sanction_zh"]) == (
        seeded["year"], 12, 1, CUT)
    by_id = {e["id"]: e for e in year["entries"]}
    assert by_id[wrong["id"]]["revoked_by"] == revocation["id"]
    assert by_id[revocation["id"]]["revokes"] == wrong["id"]
    assert by_id[revocation["id"]]["points"] == -2
    assert data["run_kind"] == "institution"

    page = client.get(url, query_string={"lang": "en"}).get_data(as_text=True)
    assert "12 points" in page and "Tier 2" in page and "budget cut 2-5%" in page
    assert f"Revoked by entry #{revocation['id']}" in page
    assert f"Revocation of entry #{wrong['id']}" in page and "复核后撤销：病历齐全" in page
    assert f'<tr id="entry-{wrong["id"]}" class=" revoked">' in page
    case = seeded["case"]
    assert f'href="/cases/{case["case_id"]}"' in page  # in the picked run: linked
    assert 'href="/cases/K-EXTRA"' not in page and "K-EXTRA" in page  # elsewhere: not
    assert f"/entities/institution/{quote(host, safe='')}" in page
    assert "刷卡与住院记录冲突，已核实" in page and "门诊聚集，情节轻微" in page


def test_history_of_an_entity_without_entries_and_of_an_unknown_kind(client):
    _as(client, "li")
    res = client.get("/ledger/doctor/NOBODY", query_string={"lang": "en"})
    assert res.status_code == 200
    assert "No entries in the ledger for this entity." in res.get_data(as_text=True)
    assert client.get("/ledger/patient/P1").status_code == 404


# -- the entity page -------------------------------------------------------------------------
def test_entity_pages_show_this_years_points_and_tier(client, seeded, planted_run):
    _as(client, "li")
    host = quote(seeded["host"], safe="")
    page = client.get(f"/entities/institution/{host}", query_string={"lang": "en"})
    text = page.get_data(as_text=True)
    assert f"{seeded['year']}: 12 points" in text and "Tier 2" in text
    assert "budget cut 2-5%" in text and f'href="/ledger/institution/{host}"' in text
    info = client.get(f"/api/entities/institution/{host}").json
    assert [(r["kind"], r["points"], r["tier"]) for r in info["ledger"]] == [
        ("institution", 12, 1)]
    doctor = client.get(f"/api/entities/doctor/{quote(seeded['doctor'], safe='')}").json
    assert doctor["ledger"][0]["points"] == seeded["doctor_points"]
    # an institution with no entries: 0 points, the lowest tier
    other = next(m["id"] for c in Run(planted_run).cases for m in c["members"]
                 if m["kind"] == "institution" and m["id"] != seeded["host"])
    text = client.get(f"/entities/institution/{quote(other, safe='')}",
                      query_string={"lang": "en"}).get_data(as_text=True)
    assert f"{seeded['year']}: 0 points" in text and "Tier 1" in text
    assert "budget raised 1-5%" in text
    patient = next(m["id"] for m in seeded["case"]["members"] if m["kind"] == "patient")
    info = client.get(f"/api/entities/patient/{quote(patient, safe='')}").json
    assert info["ledger"] == []


# -- escaping and the audit log -------------------------------------------------------------
def test_a_hostile_id_and_reason_are_escaped(client, seeded):
    _as(client, "admin")
    url = f"/ledger/institution/{quote(HOSTILE, safe='')}"
    for page in (client.get("/ledger", query_string={"year": seeded["year"]}), client.get(url)):
        text = page.get_data(as_text=True)
        assert page.status_code == 200
        assert HOSTILE not in text and "<script>alert" not in text
        assert "&lt;script&gt;alert(&#34;ledger&#34;)&lt;/script&gt;" in text
    assert url in client.get("/ledger").get_data(as_text=True)
    assert client.get("/api" + url).json["id"] == HOSTILE


def test_ledger_views_are_audited(client, seeded, review_db):
    _as(client, "li")
    host = quote(seeded["host"], safe="")
    for path in ("/ledger", "/api/ledger", f"/ledger/institution/{host}",
                 f"/api/ledger/institution/{host}"):
        assert client.get(path).status_code == 200
    _as(client, "rev").get("/ledger")
    rows, _ = ReviewStore(review_db).audit_log(limit=100)
    seen = {(r["user"], r["action"], r["target"].split("?")[0]) for r in rows}
    assert {("li", "view ledger.ledger_page", "/ledger"),
            ("li", "view ledger.api_ledger", "/api/ledger"),
            ("li", "view ledger.entity_ledger", f"/ledger/institution/{host}"),
            ("li", "view ledger.api_entity_ledger", f"/api/ledger/institution/{host}"),
            ("rev", "view ledger.ledger_page", "/ledger")} <= seen


# -- in a real browser -----------------------------------------------------------------------
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
SHOTS = Path(os.environ.get("GRAPHDETECT_SCREENSHOTS", "build/screenshots"))


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            raise RuntimeError("chromium is not installed: `make test` installs it")
        pytest.skip("chromium is not installed (make test installs it)")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def server(make_app, seeded):
    app = make_app(WTF_CSRF_ENABLED=True, TIMEZONE="UTC")
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_investigator_reads_the_ledger_in_a_browser(browser, server, seeded):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server + "/login")
    page.fill("input[name=username]", "li")
    page.fill("input[name=password]", PASSWORDS["li"])
    page.click("button[type=submit]")
    page.wait_for_url(server + "/")
    page.click("header nav a[href='/ledger']")
    page.wait_for_url(server + "/ledger")
    history = f"/ledger/institution/{quote(seeded['host'], safe='')}"
    row = page.locator(f"#ledger-standing tbody tr:has(a[href='{history}'])")
    assert row.locator("td.points").inner_text() == "12" and CUT in row.inner_text()
    _shot(page, "ledger")
    row.locator(f"a[href='{history}']").click()
    page.wait_for_selector(".ledger-year")
    assert "复核后撤销：病历齐全" in page.inner_text("main")
    assert page.locator("tr.revoked").count() == 1 and page.locator("tr.revocation").count() == 1
    _shot(page, "ledger-entity")
    page.locator(".case-head a[href^='/entities/']").click()
    page.wait_for_selector(".ledger-points")
    assert "12" in page.inner_text(".ledger-points") and CUT in page.inner_text(".ledger-points")
    page.locator(".ledger-points").scroll_into_view_if_needed()
    _shot(page, "ledger-entity-page")
    assert not errors, errors
