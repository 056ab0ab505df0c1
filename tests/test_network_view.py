"""The network view in a real headless Chromium, on the committed sample's run: a page
the Content-Security-Policy never blocks, labels that do not overlap, cards folded into
their holders, toggles, Expand marking what it added, a translated node panel beside
the graph, the legend in the PDF's colours, and a 2,000-node network that stays usable."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from conftest import PASSWORDS, ROLES, add_big_case
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


@pytest.mark.parametrize("biggest", ["claims", "members"])
def test_labels_do_not_overlap(page, served, sample_cases, biggest):
    """On the sample's biggest cases (most claims, most members): short labels, none over
    another, the case's core (host, hub …) all labelled, zoomed in still none over another."""
    field = {"claims": "claim_ids", "members": "members"}[biggest]
    case = max(sample_cases, key=lambda c: (len(c[field]), c["case_id"]))
    _open_case(page, served, case["case_id"])
    boxes = page.evaluate(_LABEL_BOXES)
    assert len(boxes) >= 10
    assert not _overlaps(boxes)
    labels = page.evaluate("window.graphdetect.cy.nodes().map(n => n.data('short'))")
    assert max(map(len, labels)) <= 12
    core = page.evaluate("window.graphdetect.cy.nodes('.core').map(n => n.id())")
    drawn = {b[0] for b in boxes}
    assert core and set(core) <= drawn
    _shot(page, f"network-biggest-by-{biggest}")
    # zoomed in, still none over another
    page.evaluate("window.graphdetect.cy.zoom({level: window.graphdetect.cy.zoom() * 2, "
                  "renderedPosition: {x: 300, y: 250}}), 0")
    assert not _overlaps(page.evaluate(_LABEL_BOXES))
    assert not _complaints(page), page.console


def _visible(page, selector: str) -> int:
    return page.evaluate(f"window.graphdetect.cy.nodes({json.dumps(selector)})"
                         ".filter(n => n.visible()).length")


def test_cards_fold_into_holders_and_toggles_show_them(page, served, sample_cases):
    """A card pooling case: cards folded into their holders (the status says how many),
    shown apart on request; terminals and operators can be hidden and shown."""
    case = max((c for c in sample_cases if c["pattern"] == "card_pooling"),
               key=lambda c: len(c["claim_ids"]))
    _open_case(page, served, case["case_id"])
    cards = page.evaluate("window.graphdetect.cy.nodes('[kind = \"card\"]').length")
    assert cards >= 5
    assert _visible(page, "[kind = 'card']") == 0
    assert page.evaluate("window.graphdetect.cy.nodes('[kind = \"card\"][holder != \"\"]')"
                         ".length") == cards
    assert f"{cards} 张医保卡并入持卡人" in page.inner_text("#net-status")
    # the holders keep the terminal links their cards had (drawn dashed)
    assert page.evaluate("window.graphdetect.cy.edges('.via').filter(e => e.visible()).length") > 0
    page.check("input[name=show-cards]")
    _until(page, f"window.graphdetect.cy.nodes('[kind = \"card\"]').filter(n => n.visible())"
                 f".length === {cards}")
    assert page.evaluate("window.graphdetect.cy.edges('.via').filter(e => e.visible()).length") == 0
    assert not _overlaps(page.evaluate(_LABEL_BOXES))
    _shot(page, "network-cards-apart")
    page.uncheck("input[name=show-cards]")
    terminals = page.evaluate("window.graphdetect.cy.nodes('[kind = \"terminal\"]').length")
    assert terminals and _visible(page, "[kind = 'terminal']") == terminals
    page.uncheck("input[name=show-terminal]")
    _until(page, "window.graphdetect.cy.nodes('[kind = \"terminal\"]')"
                 ".filter(n => n.visible()).length === 0")
    page.uncheck("input[name=show-operator]")
    _until(page, "window.graphdetect.cy.nodes('[kind = \"operator\"]')"
                 ".filter(n => n.visible()).length === 0")
    assert not _overlaps(page.evaluate(_LABEL_BOXES))
    page.check("input[name=show-terminal]")
    _until(page, f"window.graphdetect.cy.nodes('[kind = \"terminal\"]')"
                 f".filter(n => n.visible()).length === {terminals}")
    assert not _complaints(page), page.console


def _facts(page) -> dict:
    dts = page.locator("#node-facts dt").all_inner_texts()
    return dict(zip(dts, page.locator("#node-facts dd").all_inner_texts(), strict=True))


def test_expand_marks_new_nodes_beside_a_translated_panel(page, served, sample_cases):
    """Expand adds the neighbours marked "new" (a legend entry says so) and lays the
    graph out again; the panel, beside the graph, and the status line give the same
    number left out, in Chinese and in English."""
    case = _biggest(sample_cases)
    _open_case(page, served, case["case_id"])
    host = next(m for m in case["members"] if m["kind"] == "institution")
    before = page.evaluate("window.graphdetect.cy.nodes().length")
    page.evaluate(f"window.graphdetect.cy.getElementById("
                  f"{json.dumps('institution:' + host['id'])}).emit('tap'), 0")
    page.wait_for_selector("#node-panel:not([hidden])")
    assert set(_facts(page)) == {"类型", "角色", "结算笔数", "未展开"}
    page.click("#expand")
    _until(page, f"window.graphdetect.cy.nodes().length > {before} && "
                 "!document.getElementById('expand').disabled")
    fresh = page.evaluate("window.graphdetect.cy.nodes('.new').length")
    assert fresh == page.evaluate("window.graphdetect.cy.nodes().length") - before
    assert page.locator("#net-legend [data-mark=new]").count() == 1
    left = int(_facts(page)["未展开"])
    assert left > 0
    assert f"{left} 个未展开" in page.inner_text("#net-status")
    # the new nodes were laid out with the rest: none sits on the expanded node
    spread = page.evaluate("""(() => { const cy = window.graphdetect.cy;
        const xs = cy.nodes('.new').map(n => n.position('x'));
        return Math.max(...xs) - Math.min(...xs); })()""")
    assert spread > 100
    assert not _overlaps(page.evaluate(_LABEL_BOXES))
    graph, panel = (page.locator(s).bounding_box() for s in ("#network", "#node-panel"))
    assert panel["x"] >= graph["x"] + graph["width"] or panel["y"] >= graph["y"] + graph["height"]
    _shot(page, "network-expanded")
    # in English
    page.goto(f"{served}/cases/{case['case_id']}?lang=en")
    page.wait_for_selector("#network[data-ready='1']", timeout=30000)
    page.evaluate("window.graphdetect.cy.nodes('.core')[0].emit('tap'), 0")
    assert set(_facts(page)) == {"kind", "role", "claims", "left out"}
    assert "nodes" in page.inner_text("#net-status")
    assert not _complaints(page), page.console


def test_legend_has_the_palette_colours(page, served, sample_cases):
    """The legend and the nodes use graphdetect.palette's colours, the PDF's too."""
    from graphdetect.palette import KIND_COLORS

    _open_case(page, served, _biggest(sample_cases)["case_id"])
    shown = page.evaluate("""Array.from(document.querySelectorAll('#net-legend [data-kind]'))
        .map(e => [e.dataset.kind,
                   getComputedStyle(e.querySelector('.swatch')).backgroundColor])""")

    def rgb(hex_: str) -> str:
        return "rgb({}, {}, {})".format(*(int(hex_[i:i + 2], 16) for i in (1, 3, 5)))

    assert dict(shown) == {k: rgb(v) for k, v in KIND_COLORS.items()}
    nodes = page.evaluate("window.graphdetect.cy.nodes().map(n => [n.data('kind'), "
                          "n.style('background-color')])")
    assert {k: c.replace(" ", "") for k, c in nodes} == \
        {k: rgb(KIND_COLORS[k]).replace(" ", "") for k, _ in nodes}


def test_entity_page_network_is_full_width(page, served, sample_cases):
    """The entity page's ego network takes the page's width, its entity marked in the
    middle of readable labels."""
    case = _biggest(sample_cases)
    host = next(m for m in case["members"] if m["kind"] == "institution")
    page.goto(f"{served}/entities/institution/{host['id']}")
    page.wait_for_selector("#network[data-ready='1']", timeout=30000)
    graph = page.locator("#network").bounding_box()
    assert graph["width"] >= 0.7 * VIEWPORT["width"] and graph["height"] >= 500
    focus = f"institution:{host['id']}"
    assert page.evaluate(f"window.graphdetect.cy.getElementById({json.dumps(focus)})"
                         ".hasClass('core')")
    boxes = page.evaluate(_LABEL_BOXES)
    assert focus in {b[0] for b in boxes} and not _overlaps(boxes)
    page.locator(".network-card").scroll_into_view_if_needed()
    _shot(page, "network-entity")
    assert not _complaints(page), page.console


@pytest.fixture(scope="module")
def big_served(sample_run, tmp_path_factory):
    """The sample's run with one more case whose network has about 2,000 nodes."""
    import shutil

    import pandas as pd

    from graphdetect.review import create_app
    from graphdetect.review.store import ReviewStore

    run = tmp_path_factory.mktemp("big_run") / "run"
    shutil.copytree(sample_run, run)
    claims = pd.read_csv(SAMPLE / "claims.csv", dtype=str).head(1100)
    add_big_case(run, claims, "K-9999")
    db = tmp_path_factory.mktemp("bigdb") / "review.sqlite"
    store = ReviewStore(db)
    for name, role in ROLES.items():
        store.add_user(name, role, PASSWORDS[name])
    app = create_app({"RUN": str(run), "DB": str(db), "SECRET_KEY": "test-secret"})
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


def test_two_thousand_nodes_stay_usable(browser, big_served):  # noqa: F811
    """About 2,000 nodes: the concentric layout (not cose) draws them in seconds, labels
    hide when zoomed out and never overlap when zoomed in, clicks still answer."""
    import time

    page = browser.new_page(viewport=VIEWPORT)
    _login(page, big_served, "li")
    start = time.monotonic()
    page.goto(f"{big_served}/cases/K-9999")
    page.wait_for_selector("#network[data-ready='1']", timeout=60000)
    took = time.monotonic() - start
    nodes = page.evaluate("window.graphdetect.cy.nodes().length")
    assert nodes >= 1800
    assert took < 30, f"{nodes} nodes took {took:.1f} s"
    assert not _overlaps(page.evaluate(_LABEL_BOXES))
    _shot(page, "network-2000")
    page.evaluate("window.graphdetect.cy.zoom({level: 1.5, renderedPosition: {x: 400, y: 300}})"
                  ", 0")
    boxes = page.evaluate(_LABEL_BOXES)
    assert boxes and not _overlaps(boxes)
    page.locator("#network").screenshot(path=str(_shots() / "network-2000-zoomed.png"))
    page.evaluate("window.graphdetect.cy.nodes('[kind = \"institution\"]')[0].emit('tap'), 0")
    page.wait_for_selector("#node-panel:not([hidden])", timeout=5000)
    page.close()


def _shots() -> Path:
    from test_browser import SHOTS

    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS
