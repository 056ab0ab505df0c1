"""Hostile data through detect and every page of the review UI, in a real browser.

The data folder of :mod:`hostile_support` (XSS, formulas, traversal, bidi overrides,
control characters, a 100,000-character name) is detected, notes holding the same
payloads are added, and every page is opened as admin, investigator and reviewer: no
dialog may fire, no element may be injected, no bidi override may reach the screen,
long values are cut and the layout does not grow sideways.
"""

from __future__ import annotations

import json
import threading
from urllib.parse import quote, urlencode

import pytest
from conftest import PASSWORDS, ROLES, login
from hostile_support import LONG, NOTES, PAYLOADS, hostile_data, hostile_run  # noqa: F401
from test_browser import _login, _shot, _until, browser  # noqa: F401
from werkzeug.serving import make_server

from graphdetect.cells import BIDI, plain

LONG_NOTE = "长" * 100_000

#: One expression that reports everything a page must not show.
PROBE = """() => {
  const scripts = [...document.scripts].map(s => s.getAttribute('src') || '(inline)')
    .filter(src => !src.startsWith('/static/'));
  const handlers = [...document.querySelectorAll('*')].filter(e =>
    [...e.attributes].some(a => a.name.toLowerCase().startsWith('on'))).map(e => e.tagName);
  const links = [...document.querySelectorAll('[href], [src], [action]')].map(e =>
    e.getAttribute('href') || e.getAttribute('src') || e.getAttribute('action'))
    .filter(u => /^\\s*(javascript|data|vbscript):/i.test(u));
  return {scripts, handlers, links, imgs: document.querySelectorAll('img, svg image').length,
          iframes: document.querySelectorAll('iframe, object, embed').length,
          text: document.body.innerText, html: document.documentElement.outerHTML,
          overflow: document.documentElement.scrollWidth - window.innerWidth};
}"""

#: The text of a case page where ids would go: heading, explanation, the id columns.
ID_TEXT = """() => {
  const cols = [...document.querySelectorAll('table.claims thead th')].map(th => th.dataset.col);
  const out = [document.querySelector('.case-head').innerText,
               document.querySelector('.explain').innerText];
  document.querySelectorAll('table.claims tbody tr').forEach(tr => [...tr.cells].forEach(
    (td, i) => { if (cols[i].endsWith('_id')) out.push(td.innerText); }));
  return out.join('\\n');
}"""


@pytest.fixture(scope="module")
def cases(hostile_run) -> list[dict]:  # noqa: F811
    with open(hostile_run / "cases.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="module")
def hostile_config(hostile_run, tmp_path_factory, cases):  # noqa: F811
    """The review app's configuration on the hostile run, its notes holding the payloads."""
    from graphdetect.review import create_app
    from graphdetect.review.store import ReviewStore

    db = tmp_path_factory.mktemp("hostile_review") / "review.sqlite"
    store = ReviewStore(db)
    for name, role in ROLES.items():
        store.add_user(name, role, PASSWORDS[name])
    config = {"RUN": str(hostile_run), "DB": str(db), "SECRET_KEY": "hostile-secret"}
    notes = create_app({**config, "WTF_CSRF_ENABLED": False}).test_client()
    login(notes, "li")
    first = cases[0]["case_id"]
    res = notes.post(f"/api/cases/{first}/decision",
                     json={"status": "in_review", "assignee": "li", "reason": PAYLOADS[1]})
    assert res.status_code == 201, res.data
    for case in cases[:3]:
        for note in NOTES:
            res = notes.post(f"/api/cases/{case['case_id']}/decision",
                             json={"reason": note[:500], "body": note})
            assert res.status_code == 201, (note[:40], res.data)
    # a note of 100,000 characters, as stored before the API had limits (issue 10, 7)
    run_id = json.loads((hostile_run / "summary.json").read_text())["run_id"]
    store.decide(cases[0]["case_key"], run_id=run_id, case_id=first, user="li", body=LONG_NOTE)
    return config


@pytest.fixture(scope="module")
def hostile_app(hostile_config):
    from graphdetect.review import create_app

    return create_app({**hostile_config, "WTF_CSRF_ENABLED": True})


@pytest.fixture(scope="module")
def base(hostile_app):
    srv = make_server("127.0.0.1", 0, hostile_app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


class Watch:
    """A page whose dialogs and script errors are recorded, and its checks."""

    def __init__(self, chromium, role: str | None):
        self.page = chromium.new_page(viewport={"width": 1400, "height": 1000})
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.role = role

    def open(self, url: str, *, network: bool = False) -> dict:
        self.page.goto(url)
        if network:
            self.page.wait_for_selector("#network[data-ready='1']", timeout=20000)
            _until(self.page, "!document.querySelector('#timeline') || "
                              "!!document.querySelector('#timeline svg, #timeline p')")
        return self.check(url)

    def check(self, url: str) -> dict:
        seen = self.page.evaluate(PROBE)
        where = f"{self.role} {url[:120]}"
        assert not self.dialogs, (where, self.dialogs)
        assert not self.errors, (where, self.errors)
        assert seen["scripts"] == [], where
        assert seen["handlers"] == [] and seen["links"] == [], (where, seen)
        assert seen["imgs"] == 0 and seen["iframes"] == 0, where
        text = seen["text"]
        assert not [c for c in BIDI if c in text], (where, "bidi control on screen")
        assert "\x07" not in text and "\x1b" not in text, (where, "control character on screen")
        # explanations are cut at 1,200 characters, every other value much shorter
        assert "x" * 1200 not in text, (where, "a long value is shown whole")
        assert "x" * 1200 not in seen["html"], (where, "a long value is in the page whole")
        assert seen["overflow"] <= 20, (where, f"page {seen['overflow']} px too wide")
        return seen


def _entity_url(base: str, kind: str, id: str) -> str:
    return f"{base}/entities/{kind}/{quote(id, safe='')}"


@pytest.mark.parametrize("user", ["li", "admin", "rev"])
def test_every_page_holds(browser, base, cases, user):  # noqa: F811
    w = Watch(browser, user)
    _login(w.page, base, user)
    seen = w.check(base + "/")
    blind = ROLES[user] == "reviewer"
    if not blind:  # payloads are shown as text, neither run nor dropped
        assert "<script>alert(1)</script>" in seen["text"]
    hostile_query = {"q": PAYLOADS[0], "institution": PAYLOADS[1], "assignee": PAYLOADS[11],
                     "min_score": "", "sort": PAYLOADS[3]}
    w.open(f"{base}/?{urlencode(hostile_query)}")
    w.open(f"{base}/cases/{quote(PAYLOADS[1], safe='')}")  # 404 page naming the id
    for case in cases:
        seen = w.open(f"{base}/cases/{case['case_id']}", network=True)
        labels = w.page.evaluate("window.graphdetect.cy.nodes().map(n => n.data('label'))")
        assert labels and max(map(len, labels)) <= 41, case["case_id"]
        assert not [x for x in labels if any(c in x for c in BIDI)], case["case_id"]
        if blind:  # ids may also be diagnosis codes or words of a note: look where ids go
            shown = w.page.evaluate(ID_TEXT) + "\n".join(labels)
            shown = shown.replace(plain(case["details"]["diagnosis"]), "")  # shown by design
            assert not [m["id"] for m in case["members"] if plain(m["id"]) in shown]
    # the network view: open a node and expand it from the whole claims graph
    w.open(f"{base}/cases/{cases[0]['case_id']}", network=True)
    nodes = w.page.evaluate("window.graphdetect.cy.nodes().length")
    w.page.evaluate("window.graphdetect.cy.nodes('[kind = \"institution\"]')[0].emit('tap'), 0")
    w.page.wait_for_selector("#node-panel:not([hidden])")
    w.page.click("#expand")
    _until(w.page, f"window.graphdetect.cy.nodes().length > {nodes}")
    w.check("expanded network")
    title = w.page.inner_text("#node-title")
    assert len(title) <= 200 and not [c for c in BIDI if c in title]
    w.open(f"{base}/admin/audit")  # the audit log for admins, a 403 page for the others
    if blind:
        res = w.page.goto(_entity_url(base, "institution", PAYLOADS[0]))
        assert res.status == 403
        w.check("entity page refused")
        return
    links = set()
    for kind, id in sorted({(m["kind"], m["id"]) for c in cases for m in c["members"]}):
        w.open(_entity_url(base, kind, id), network=True)
        links.update(w.page.eval_on_selector_all("a[href*='/entities/']",
                                                 "a => a.map(e => e.href)"))
    for link in sorted(links):  # an id such as ../../etc/passwd stays one path segment
        assert w.page.request.get(link).status == 200, link


def test_login_page_and_hostile_user_names(browser, base):  # noqa: F811
    w = Watch(browser, None)
    w.open(base + "/login")
    for name in (PAYLOADS[1], PAYLOADS[5], PAYLOADS[11]):
        w.page.fill("input[name=username]", name)
        w.page.fill("input[name=password]", "not-the-password")
        w.page.click("button[type=submit]")
        w.page.wait_for_selector("p.error")
        w.check("failed login of " + name)
    admin = Watch(browser, "admin")
    _login(admin.page, base, "admin")
    seen = admin.open(f"{base}/admin/audit?{urlencode({'action': 'login failed'})}")
    assert "gpj.exe" in seen["text"]  # the failed name is listed, its override gone


def test_screenshots_and_long_values(browser, base, cases, hostile_run):  # noqa: F811
    w = Watch(browser, "li")
    _login(w.page, base, "li")
    _shot(w.page, "hostile-queue")
    long_case = next(c for c in cases if any(m["id"] == PAYLOADS[0] for m in c["members"])
                     and c["case_id"] != cases[0]["case_id"])
    seen = w.open(f"{base}/cases/{cases[0]['case_id']}", network=True)
    _shot(w.page, "hostile-case")
    assert "n" * 4998 in seen["text"]  # a note up to its limit shows whole
    assert "长" * 4990 in seen["text"] and "长" * 5001 not in seen["html"]  # a longer one, cut
    seen = w.open(f"{base}/cases/{long_case['case_id']}", network=True)
    assert "L" + "x" * 60 in seen["text"]  # the 100,000-character name, cut
    seen = w.open(_entity_url(base, "institution", PAYLOADS[0]), network=True)
    _shot(w.page, "hostile-entity")
    assert "L" + "x" * 60 in seen["text"]
    # a case whose network holds the 100,000-character card id
    card_case = next(c for c in cases if c["members"][0]["id"] == PAYLOADS[2])
    w.open(f"{base}/cases/{card_case['case_id']}", network=True)
    labels = w.page.evaluate("window.graphdetect.cy.nodes().map(n => n.data('label'))")
    assert any(label.startswith("Lxxx") and label.endswith("…") for label in labels)


def test_json_carries_hostile_values_exactly(hostile_config, cases):
    from graphdetect.review import create_app

    client = create_app({**hostile_config, "WTF_CSRF_ENABLED": False}).test_client()
    login(client, "admin")
    case = cases[0]
    urls = ["/api/cases", f"/api/cases/{case['case_id']}",
            f"/api/cases/{case['case_id']}/claims", f"/api/cases/{case['case_id']}/network",
            "/api/entities/institution/" + quote(PAYLOADS[0], safe=""), "/api/admin/audit"]
    bodies = {}
    for url in urls:
        res = client.get(url)
        assert res.status_code == 200 and res.mimetype == "application/json", url
        raw = res.get_data(as_text=True)
        assert not [c for c in BIDI + "\x07\x1b" if c in raw], url  # escaped as \\uXXXX
        bodies[url] = json.loads(raw)
    got = {(m["kind"], m["id"]) for m in bodies[f"/api/cases/{case['case_id']}"]["members"]}
    assert got == {(m["kind"], m["id"]) for m in case["members"]}
    claims = bodies[f"/api/cases/{case['case_id']}/claims"]["claims"]
    assert {c["claim_id"] for c in claims} == set(case["claim_ids"])
    entity = bodies["/api/entities/institution/" + quote(PAYLOADS[0], safe="")]
    assert entity["id"] == PAYLOADS[0] and entity["label"].startswith(LONG)
    assert any(n["body"] == NOTES[-1] for n in
               bodies[f"/api/cases/{case['case_id']}"]["history"])
