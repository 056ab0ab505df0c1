"""The network view in a real headless Chromium, on the committed sample's run: a page
the Content-Security-Policy never blocks, labels that do not overlap, cards folded into
their holders, toggles, Expand marking what it added, a translated node panel beside
the graph, the legend in the PDF's colours, and a 2,000-node network that stays usable."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from conftest import PASSWORDS, ROLES
from test_browser import _login, _shot, _until, browser  # noqa: F401  (fixture)
from werkzeug.serving import make_server

SAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "sample"
VIEWPORT = {"width": 1440, "height": 900}


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory) -> Path:
    from graphdetect.run import detect_folder

    run = tmp_path_factory.mktemp("sample_run") / "run"
    detect_folder(SAMPLE, run)
    return run


@pytest.fixture(scope="module")
def sample_cases(sample_run) -> list[dict]:
    with open(sample_run / "cases.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="module")
def served(sample_run, tmp_path_factory):
    """The sample's run served with CSRF on; its base URL."""
    from graphdetect.review import create_app
    from graphdetect.review.store import ReviewStore

    db = tmp_path_factory.mktemp("netdb") / "review.sqlite"
    store = ReviewStore(db)
    for name, role in ROLES.items():
        store.add_user(name, role, PASSWORDS[name])
    app = create_app({"RUN": str(sample_run), "DB": str(db), "SECRET_KEY": "test-secret",
                      "WTF_CSRF_ENABLED": True})
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


@pytest.fixture
def page(browser, served):  # noqa: F811
    """A logged-in investigator's page at 1440×900 that keeps its console messages."""
    p = browser.new_page(viewport=VIEWPORT)
    p.console = []
    p.on("console", lambda m: p.console.append(f"{m.type}: {m.text}"))
    p.on("pageerror", lambda e: p.console.append(f"pageerror: {e}"))
    _login(p, served, "li")
    yield p
    p.close()


def _open_case(page, base: str, case_id: str) -> None:
    page.goto(f"{base}/cases/{case_id}")
    page.wait_for_selector("#network[data-ready='1']", timeout=30000)


def _biggest(cases: list[dict]) -> dict:
    return max(cases, key=lambda c: (len(c["claim_ids"]), c["case_id"]))


def _complaints(page) -> list[str]:
    return [m for m in page.console
            if "Content Security Policy" in m or "container" in m.lower() or "pageerror" in m]


def test_network_pages_are_csp_clean(page, served, sample_cases):
    """No console message about the CSP or the container's position, on a case and an
    entity page (the CSP is not weakened: no 'unsafe-inline')."""
    case = _biggest(sample_cases)
    response = page.goto(f"{served}/cases/{case['case_id']}")
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    page.wait_for_selector("#network[data-ready='1']", timeout=30000)
    assert page.evaluate("getComputedStyle(document.getElementById('network')).position") \
        == "relative"
    host = next(m for m in case["members"] if m["kind"] in ("institution", "doctor"))
    page.goto(f"{served}/entities/{host['kind']}/{host['id']}")
    page.wait_for_selector("#network[data-ready='1']", timeout=30000)
    assert not _complaints(page), page.console


#: Label boxes of the nodes whose label is drawn (shown, not cleared, big enough at this
#: zoom to pass min-zoomed-font-size), in rendered pixels.
_LABEL_BOXES = """(() => {
  const cy = window.graphdetect.cy, z = cy.zoom();
  return cy.nodes(':visible').filter(n => n.style('label') !== '' &&
      parseFloat(n.style('font-size')) * z >= parseFloat(n.style('min-zoomed-font-size')))
    .map(n => { const b = n.renderedBoundingBox({includeLabels: true, includeNodes: false,
                                                 includeEdges: false, includeOverlays: false});
                return [n.id(), b.x1, b.y1, b.x2, b.y2]; });
})()"""


def _overlaps(boxes: list, slack: float = 2.0) -> list:
    out = []
    for i, (a, ax1, ay1, ax2, ay2) in enumerate(boxes):
        for b, bx1, by1, bx2, by2 in boxes[i + 1:]:
            if min(ax2, bx2) - max(ax1, bx1) > slack and min(ay2, by2) - max(ay1, by1) > slack:
                out.append((a, b))
    return out


def test_labels_do_not_overlap(page, served, sample_cases):
    """On the sample's biggest case: short labels, none over another, the host's label
    drawn (not under the hub), the whole label on hover."""
    case = _biggest(sample_cases)
    _open_case(page, served, case["case_id"])
    boxes = page.evaluate(_LABEL_BOXES)
    assert len(boxes) >= 10
    assert not _overlaps(boxes)
    labels = page.evaluate("window.graphdetect.cy.nodes().map(n => n.data('short'))")
    assert max(map(len, labels)) <= 12
    core = page.evaluate("window.graphdetect.cy.nodes('.core').map(n => n.id())")
    drawn = {b[0] for b in boxes}
    assert core and set(core) <= drawn
    _shot(page, "network-case-biggest")
    # zoomed in, still none over another
    page.evaluate("window.graphdetect.cy.zoom({level: window.graphdetect.cy.zoom() * 2, "
                  "renderedPosition: {x: 300, y: 250}}), 0")
    assert not _overlaps(page.evaluate(_LABEL_BOXES))
    assert not _complaints(page), page.console
