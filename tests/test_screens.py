"""Screenshots of every page, both languages, desktop (1440×900) and phone (390×844).

The pictures land in ``build/screenshots/screen-<page>-<lang>-<size>.png`` to be looked at;
the assertions check what a picture cannot be trusted to show: that each page renders
without script errors, in its language and within the viewport's width, that the login
page offers the language switch, and that the case history has no blank gaps.
"""

from __future__ import annotations

import threading

import pytest
from test_browser import _login, _shot, browser  # noqa: F401
from werkzeug.serving import make_server

SIZES = {"desktop": (1440, 900), "phone": (390, 844)}
#: Words only the page's own language shows (the queue heading, the log-out button).
WORDS = {"zh": "案件队列", "en": "Case queue"}
WIDTH = "document.documentElement.scrollWidth - window.innerWidth"


@pytest.fixture
def base(make_app):
    srv = make_server("127.0.0.1", 0, make_app(WTF_CSRF_ENABLED=True), threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


@pytest.mark.parametrize("size", sorted(SIZES))
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_in_both_languages_and_sizes(browser, base, ring, lang, size):  # noqa: F811
    width, height = SIZES[size]
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/login?lang={lang}")
    other = "English" if lang == "zh" else "中文"
    assert page.locator(f"header a:has-text('{other}')").count() == 1, "no language switch"
    assert page.get_attribute("html", "lang") == ("zh-CN" if lang == "zh" else "en")
    _shot(page, f"screen-login-{lang}-{size}")
    _login(page, base, "admin")
    host = next(m["id"] for m in ring["members"] if m["kind"] == "institution")
    case = f"{base}/cases/{ring['case_id']}"
    page.goto(case)
    page.select_option("select[name=status]", "in_review")
    page.fill("input[name=reason]", "线索核实")
    page.fill("textarea[name=body]", "第一行：调取住院病历\n第二行：约谈院长")
    page.click("#decision-form button[type=submit]")
    page.wait_for_selector("text=约谈院长")
    li = page.locator(".history li").first
    lines = page.evaluate("e => e.getBoundingClientRect().height", li.element_handle())
    assert lines < 6 * 22, f"the history entry is {lines}px tall: blank gaps"
    pages = {"queue": f"{base}/", "case": case, "entity": f"{base}/entities/institution/{host}",
             "audit": f"{base}/admin/audit", "figures": f"{base}/admin/figures"}
    wide: dict[str, int] = {}
    for name, url in pages.items():
        page.goto(url)
        if name in ("case", "entity"):
            page.wait_for_selector("#network[data-ready='1']", timeout=20000)
        _shot(page, f"screen-{name}-{lang}-{size}")
        assert WORDS[lang] in page.inner_text("header"), (name, lang)
        wide[name] = page.evaluate(WIDTH)
    assert not errors, errors
    assert all(px <= 20 for px in wide.values()), f"pages too wide by (px): {wide}"
    page.close()
