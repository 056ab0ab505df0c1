"""The review procedure in a real headless Chromium: an admin sends a case to a committee
drawn at random, each reviewer votes blind through the form, and the closed committee's
outcome shows on the case page (screenshots in build/screenshots)."""

from __future__ import annotations

import threading

import pytest
from conftest import PASSWORDS
from test_browser import SHOTS, _login, browser  # noqa: F401  (the browser fixture)
from werkzeug.serving import make_server

from graphdetect.review.store import ReviewStore

PASSWORD = "blind reading passphrase"


@pytest.fixture
def server(make_app, review_db):
    store = ReviewStore(review_db)
    for name in ("rev2", "rev3"):
        store.add_user(name, "reviewer", PASSWORD)
    PASSWORDS.update({"rev2": PASSWORD, "rev3": PASSWORD})
    app = make_app(WTF_CSRF_ENABLED=True)
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()
    for name in ("rev2", "rev3"):
        PASSWORDS.pop(name, None)


def test_committee_votes_through_the_forms(browser, server, ring):  # noqa: F811
    cid = ring["case_id"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    admin = browser.new_page(viewport={"width": 1280, "height": 900})
    _login(admin, server, "li")
    admin.goto(f"{server}/cases/{cid}")
    admin.select_option("#decision-form select[name=status]", "in_review")
    admin.fill("#decision-form input[name=reason]", "开始核查")
    admin.click("#decision-form button[type=submit]")
    admin.close()
    admin = browser.new_page(viewport={"width": 1280, "height": 900})
    _login(admin, server, "admin")
    admin.goto(f"{server}/cases/{cid}#procedure")
    admin.click("form.committee-form button[type=submit]")
    admin.wait_for_selector(".committee .outcome.open")
    assert admin.locator("form.committee-form").count() == 0  # one open committee at a time
    for n, name in enumerate(("rev", "rev2", "rev3")):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        _login(page, server, name)
        page.goto(f"{server}/cases/{cid}#procedure")
        text = page.inner_text("#procedure")
        assert "意见" + str(n - 1) not in text  # no earlier member's reason shows
        page.check(f"form.vote input[value={'dismiss' if n == 0 else 'confirm'}]")
        page.fill("form.vote textarea[name=reason]", f"意见{n}：时段高度集中")
        if n == 1:
            page.screenshot(path=str(SHOTS / "procedure-vote.png"), full_page=True)
        with page.expect_navigation():
            page.click("form.vote button[type=submit]")
        assert page.locator("form.vote").count() == 0  # voted once, no second form
        page.close()
    admin.reload()  # the same address with its #fragment would not load the page again
    admin.wait_for_selector(".committee .outcome.confirm")
    text = admin.inner_text("#procedure")
    assert "意见0" in text and "意见2" in text and "67%" in text
    admin.locator("#procedure").screenshot(path=str(SHOTS / "procedure-admin.png"))
    admin.close()
