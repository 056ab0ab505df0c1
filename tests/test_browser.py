"""The review UI in a real headless Chromium (Debian's /usr/bin/chromium via Playwright)."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from conftest import PASSWORDS, add_big_case
from werkzeug.serving import make_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
SHOTS = Path(os.environ.get("GRAPHDETECT_SCREENSHOTS", "build/screenshots"))

if not Path(CHROMIUM).exists():
    if os.environ.get("CI") == "true":
        raise RuntimeError("chromium is not installed: `make test` installs it")
    pytest.skip("chromium is not installed (make test installs it)", allow_module_level=True)

playwright = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def server(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


def _login(page, base: str, user: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORDS[user])
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")


def _until(page, expression: str, timeout: float = 10.0) -> None:
    """Poll a JS expression from Python (the pages' CSP forbids eval-based waits)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expression}")
        time.sleep(0.1)


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_investigator_reviews_a_case(browser, server, planted_run):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _login(page, server, "li")
    assert page.locator("table.queue tbody tr").count() > 3
    _shot(page, "queue")
    with open(planted_run / "cases.jsonl", encoding="utf-8") as f:
        ring = next(c for c in map(json.loads, f) if c["pattern"] == "collusion_ring")
    page.click(f"text={ring['case_id']}")
    page.wait_for_selector("#network[data-ready='1']", timeout=20000)
    nodes = page.evaluate("window.graphdetect.cy.nodes().length")
    assert nodes >= len(ring["members"])
    assert page.locator("#timeline svg rect").count() >= 1
    # click a node, then expand its neighbours from the whole claims graph
    page.evaluate("window.graphdetect.cy.nodes('[kind = \"institution\"]')[0].emit('tap'), 0")
    page.wait_for_selector("#node-panel:not([hidden])")
    page.click("#expand")
    _until(page, f"window.graphdetect.cy.nodes().length > {nodes}")
    assert "left out" in page.inner_text("#net-status") or "未展开" in page.inner_text(
        "#net-status")
    _shot(page, "case")
    # record a decision through the form
    page.select_option("select[name=status]", "in_review")
    page.fill("textarea[name=body]", "开始核查：调取住院病历")
    page.click("#decision-form button[type=submit]")
    page.wait_for_selector("text=开始核查：调取住院病历")
    assert "核查中" in page.inner_text(".case-head")
    assert not errors, errors
    # an entity page with its ego network
    host = next(m["id"] for m in ring["members"] if m["kind"] == "institution")
    page.goto(f"{server}/entities/institution/{host}")
    page.wait_for_selector("#network[data-ready='1']", timeout=20000)
    assert page.evaluate("window.graphdetect.cy.nodes().length") > 1
    _shot(page, "entity")
    assert not errors, errors


def test_reviewer_sees_serials_only(browser, server, planted_run):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    _login(page, server, "rev")
    with open(planted_run / "cases.jsonl", encoding="utf-8") as f:
        case = next(map(json.loads, f))
    page.goto(f"{server}/cases/{case['case_id']}")
    page.wait_for_selector("#network[data-ready='1']", timeout=20000)
    text = page.content()
    assert "双盲会审" in text
    assert not [m["id"] for m in case["members"] if m["id"] in text]
    labels = page.evaluate("window.graphdetect.cy.nodes().map(n => n.data('label'))")
    assert any(label.startswith(("患者", "机构", "卡")) for label in labels)
    _shot(page, "case-blind")


def test_big_network_stays_usable(browser, make_app, planted, tmp_path):
    """A case whose network has about 5,000 elements renders and still answers clicks."""
    from graphdetect.run import detect_folder

    run = tmp_path / "run"
    detect_folder(planted, run)
    import pandas as pd

    claims = pd.read_csv(planted / "claims.csv", dtype=str).head(2600)
    add_big_case(run, claims, "X-9999")
    app = make_app(RUN=str(run))
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{srv.server_port}"
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        _login(page, base, "li")
        page.goto(f"{base}/cases/X-9999")
        page.wait_for_selector("#network[data-ready='1']", timeout=60000)
        size = page.evaluate("window.graphdetect.cy.elements().length")
        assert size >= 4000
        page.evaluate("window.graphdetect.cy.nodes()[0].emit('tap'), 0")
        page.wait_for_selector("#node-panel:not([hidden])", timeout=5000)
        page.click("table.claims th[data-col=total_amount]", timeout=5000)
        _shot(page, "case-big")
    finally:
        srv.shutdown()
