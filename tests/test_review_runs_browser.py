"""The review UI over three monthly runs in a real headless Chromium: the run picker,
a status carried from the first run to the third, the team figures."""

from __future__ import annotations

import threading

import pytest
from conftest import PASSWORDS, ROLES
from lineage_support import monthly_data, monthly_runs  # noqa: F401  (fixtures)
from test_browser import SHOTS, _login, _shot, browser  # noqa: F401
from werkzeug.serving import make_server

from graphdetect.explain import pattern_name
from graphdetect.runs import Runs


@pytest.fixture
def served(monthly_runs, tmp_path):  # noqa: F811
    """The folder of the three runs served with CSRF on; its base URL and the runs."""
    from graphdetect.review import create_app
    from graphdetect.review.store import ReviewStore

    db = tmp_path / "review.sqlite"
    store = ReviewStore(db)
    for name, role in ROLES.items():
        store.add_user(name, role, PASSWORDS[name])
    app = create_app({"RUNS": [str(monthly_runs[0].parent)], "DB": str(db),
                      "SECRET_KEY": "test-secret", "WTF_CSRF_ENABLED": True})
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}", Runs(monthly_runs), store
    srv.shutdown()


def _queue_ids(page) -> list[str]:
    return page.locator("table.queue tbody tr td:first-child a").all_inner_texts()


def _pick(page, run_id: str) -> None:
    page.select_option("#run-pick", run_id)
    with page.expect_navigation():
        page.click(".run-picker button[type=submit]")


def _post_json(page, url: str, body: dict) -> int:
    """POST JSON from the page, with its CSRF token, as case.js does; the status code."""
    return page.evaluate("""([url, body]) => fetch(url, {method: 'POST', body: JSON.stringify(body),
        headers: {'Content-Type': 'application/json',
                  'X-CSRFToken': document.querySelector('meta[name=csrf-token]').content}})
        .then(r => r.status)""", [url, body])


def test_the_picker_switches_runs_and_a_status_carries(browser, served):  # noqa: F811
    base, runs, _ = served
    first, newest = runs.runs[0], runs.newest
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _login(page, base, "li")
    options = page.locator("#run-pick option")
    assert [options.nth(i).get_attribute("value") for i in range(options.count())] == \
        [r.run_id for r in reversed(runs.runs)]  # newest first
    assert page.eval_on_selector("#run-pick", "s => s.value") == newest.run_id
    assert set(_queue_ids(page)) == {c["case_id"] for c in newest.cases}
    assert page.locator(".badge.older").count() == 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("header.top").screenshot(path=str(SHOTS / "runs-picker.png"))
    # the oldest run: its cases, and a mark that it is not the newest
    _pick(page, first.run_id)
    assert page.eval_on_selector("#run-pick", "s => s.value") == first.run_id
    assert set(_queue_ids(page)) == {c["case_id"] for c in first.cases}
    assert page.locator(".badge.older").is_visible()
    assert first.run_id in page.inner_text("footer")
    _shot(page, "runs-queue-oldest")
    # decide a ring of the first run through the API; the third run shows it confirmed
    ring = next(c for c in first.cases if c["pattern"] == "collusion_ring"
                and newest.case(c["case_key"]) is not None)
    url = f"{base}/api/cases/{ring['case_id']}/decision"
    assert _post_json(page, url, {"status": "in_review", "body": "开始核查"}) == 201
    assert _post_json(page, url, {"status": "confirmed", "reason": "病历与结算不符"}) == 201
    later = newest.case(ring["case_key"])
    _pick(page, newest.run_id)
    row = page.locator(f"table.queue tbody tr:has(a[href='/cases/{later['case_id']}'])")
    assert row.locator(".status.confirmed").count() == 1
    page.click(f"table.queue a[href='/cases/{later['case_id']}']")
    assert "病历与结算不符" in page.inner_text("main")  # the first run's note, carried
    history = page.locator("table.runs-history tbody tr")
    assert history.count() == len(runs.history(ring["case_key"])) >= 2  # a row per run
    _shot(page, "runs-case-history")
    assert not errors, errors


def test_team_figures_for_the_admin_only(browser, served):  # noqa: F811
    base, runs, store = served
    first = runs.runs[0]
    rings = [c for c in first.cases if c["pattern"] == "collusion_ring"]
    for case, end in zip(rings, ("confirmed", "dismissed"), strict=False):
        for status in ("in_review", end):
            store.decide(case["case_key"], run_id=first.run_id, case_id=case["case_id"],
                         user="li", status=status, reason="核查完毕")
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    _login(page, base, "admin")
    page.click("header nav a[href='/admin/figures']")
    page.wait_for_selector("#figures-patterns")
    patterns = {c["pattern"] for r in runs for c in r.cases}
    assert page.locator("#figures-patterns tbody tr").count() == len(patterns)
    months = {r.last_day[:7] for r in runs}
    shown = set(page.locator("#figures-months tbody td:first-child").all_inner_texts())
    assert shown == months
    ring = page.locator("#figures-patterns tbody tr", has_text=pattern_name("collusion_ring"))
    assert "50%" in ring.inner_text()
    _shot(page, "runs-figures")
    for user in ("li", "rev"):
        other = browser.new_page()
        _login(other, base, user)
        assert other.locator("a[href='/admin/figures']").count() == 0
        assert other.goto(f"{base}/admin/figures").status == 403
        other.close()
