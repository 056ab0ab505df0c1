"""Timelines that show each pattern's evidence, in a real headless Chromium: stays as lanes
with their overlap or readmission gap, swipes by hour of day, a ring's batches as bands."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from export_support import SAMPLE, case_of, need, need_font, pdf_text, run  # noqa: F401
from test_browser import _login, browser, server  # noqa: F401  (fixtures)

from graphdetect.export import export_case


def _first(cases, pattern: str) -> dict:
    return next(c for c in cases if c["pattern"] == pattern)


@pytest.fixture
def open_case(browser, server):  # noqa: F811
    """Open a case page as a user; the page, and the console errors seen so far."""
    pages = []

    def open_(case_id: str, user: str = "li"):
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(f"{m.text} @ {m.location['url']}")
                if m.type == "error" and not m.location["url"].endswith("/favicon.ico") else None)
        _login(page, server, user)
        page.goto(f"{server}/cases/{case_id}")
        page.wait_for_selector("#timeline[data-ready='1']", timeout=20000)
        pages.append(page)
        return page, errors

    yield open_
    for p in pages:
        p.close()


def _axis_fits(page) -> None:
    """Ticks with a label at each, the last label inside the drawing."""
    ticks = page.locator("#timeline svg text.axis")
    assert ticks.count() >= 2
    width = page.evaluate("document.querySelector('#timeline svg').getBoundingClientRect().right")
    last = ticks.nth(ticks.count() - 1).bounding_box()
    assert last["x"] + last["width"] <= width + 0.5
    assert page.locator("#timeline svg g.legend text").count() >= 1


def test_concurrent_stay_has_two_lanes_an_overlap_and_an_axis(open_case, cases):
    case = _first(cases, "concurrent_stay")
    page, errors = open_case(case["case_id"])
    assert page.get_attribute("#timeline", "data-kind") == "stays"
    lanes = page.locator("#timeline svg g.lane[data-kind='stay']")
    assert lanes.count() == 2
    labels = [lanes.nth(i).text_content() for i in range(2)]
    assert len(set(labels)) == 2 and all(labels)  # two hospitals, each named on its lane
    assert page.locator("#timeline svg rect.stay").count() == 2
    assert page.locator("#timeline svg rect.overlap:not(.key)").count() == 1
    _axis_fits(page)
    page.locator("#timeline").screenshot(path=str(_shot_path("timeline-concurrent")))
    assert not errors, errors


def test_split_stay_marks_the_gap(open_case, cases):
    case = _first(cases, "split_stay")
    page, errors = open_case(case["case_id"])
    assert page.locator("#timeline svg g.lane[data-kind='stay']").count() == 2
    gap = page.locator("#timeline svg g.gap")
    assert gap.count() == 1
    assert "间隔" in gap.text_content()
    assert page.locator("#timeline svg rect.overlap:not(.key)").count() == 0
    _axis_fits(page)
    page.locator("#timeline").screenshot(path=str(_shot_path("timeline-split")))
    assert not errors, errors


@pytest.mark.parametrize("pattern", ["card_pooling", "outpatient_gathering"])
def test_swipes_are_plotted_by_hour_of_day(open_case, cases, pattern):
    # the case with the most runs past midnight, if any
    case = max((c for c in cases if c["pattern"] == pattern),
               key=lambda c: sum((o["to"] or "") > "24:00" for o in c["details"]["occasions"]))
    page, errors = open_case(case["case_id"])
    swipes = page.locator("#timeline svg circle.swipe")
    assert swipes.count() == len(case["claim_ids"])
    hours = [float(h) for h in page.eval_on_selector_all(
        "#timeline svg circle.swipe", "els => els.map(e => e.dataset.hour)")]
    assert all(0 <= h < 24 for h in hours)
    # the detector's occasions lie within a few hours of the day: that is the evidence
    occ = case["details"]["occasions"][0]
    start = int(occ["from"][:2]) + int(occ["from"][3:]) / 60
    assert any(abs(h - start) < 1 / 60 for h in hours)
    assert page.locator("#timeline svg text.hour").count() == 9  # 00:00 ... 24:00
    # one band per occasion, and a second, at the top of the next day, for a run that
    # goes on past midnight ("24:22")
    batches = page.locator("#timeline svg rect.batch:not(.key)")
    past = sum((o["to"] or "") > "24:00" for o in case["details"]["occasions"])
    assert batches.count() == len(case["details"]["occasions"]) + past
    _axis_fits(page)
    page.locator("#timeline").screenshot(path=str(_shot_path(f"timeline-{pattern}")))
    assert not errors, errors


def test_ring_batches_are_bands(open_case, cases):
    case = _first(cases, "collusion_ring")
    page, errors = open_case(case["case_id"])
    assert page.get_attribute("#timeline", "data-kind") == "rows"
    batches = page.locator("#timeline svg rect.batch:not(.key)")
    assert batches.count() == len(case["details"]["occasions"])
    assert page.locator("#timeline svg g.lane[data-kind='patient']").count() >= 2
    _axis_fits(page)
    page.locator("#timeline").screenshot(path=str(_shot_path("timeline-ring")))
    assert not errors, errors


def test_blind_reviewer_sees_serials_on_the_lanes(open_case, cases):
    case = _first(cases, "concurrent_stay")
    page, errors = open_case(case["case_id"], user="rev")
    text = page.text_content("#timeline")
    for stay in case["details"]["stays"]:
        assert stay["institution"] not in text
    assert page.locator("#timeline svg g.lane[data-kind='stay']").count() == 2
    assert not errors, errors


def test_claims_json_names_the_pattern_and_its_batches_without_ids(make_app, cases):
    from conftest import PASSWORDS

    ring = _first(cases, "collusion_ring")
    client = make_app().test_client()
    client.post("/login", data={"username": "rev", "password": PASSWORDS["rev"]})
    d = client.get(f"/api/cases/{ring['case_id']}/claims").get_json()
    assert d["pattern"] == "collusion_ring"
    assert [b["first_day"] for b in d["batches"]] == [
        o["first_day"] for o in ring["details"]["occasions"]]
    assert ring["details"]["host"] not in str(d["batches"])


def _shot_path(name: str):
    from test_browser import SHOTS

    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS / f"{name}.png"



# -- the PDF: a signature block, one header per page, codes whole, timelines per pattern ---


def _layout_pages(pdf) -> list[str]:
    need("pdftotext")
    text = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout
    return text.split("\f")


@pytest.fixture(scope="module")
def ring_package(run, tmp_path_factory):  # noqa: F811
    need_font()
    return export_case(run, "R-0001", tmp_path_factory.mktemp("pkg"), user="li")


def test_report_ends_with_a_signature_block(ring_package):
    last = _layout_pages(ring_package / "report.pdf")[-2]  # the text after the last \f is ""
    for word in ("签字确认", "承办人", "审核人", "日期", "单位盖章"):
        assert word in last, word
    assert re.search(r"承办人：\s+li\s", last)  # the exporting user, printed
    assert last.index("审核人") > last.index("承办人")


def test_appendix_header_is_at_the_top_of_each_page_only(ring_package):
    pages = [p for p in _layout_pages(ring_package / "report.pdf") if "结算流水号" in p]
    assert len(pages) >= 2  # the appendix runs over pages, so the header must repeat
    for page in pages:
        heads = [line for line in page.splitlines() if "结算流水号" in line]
        assert len(heads) == 1, page[:400]


def test_region_codes_never_wrap(ring_package, run):  # noqa: F811
    patients = pd.read_csv(SAMPLE / "patients.csv", dtype=str).set_index("patient_id")
    members = [m["id"] for m in case_of(run, "R-0001")["members"] if m["kind"] == "patient"]
    codes = {patients.at[p, "region_code"] for p in members if p in patients.index}
    text = pdf_text(ring_package / "report.pdf")
    assert codes and all(code in text for code in codes), sorted(
        c for c in codes if c not in text)


def _bands(png, rgb, *, tol: int = 4) -> list[tuple[int, int]]:
    """Runs of pixel rows of the plot area (left of the legend) holding colour ``rgb``."""
    from PIL import Image

    with Image.open(png) as im:
        a = np.asarray(im.convert("RGB"), dtype=int)
    plot = a[:, : int(a.shape[1] * 0.75)]
    hit = (np.abs(plot - np.array(rgb)).max(axis=2) <= tol).any(axis=1)
    runs, start = [], None
    for y, h in enumerate([*hit, False]):
        if h and start is None:
            start = y
        elif not h and start is not None:
            runs.append((start, y))
            start = None
    return runs


def _on_white(hex_colour: str, alpha: float) -> tuple[int, ...]:
    c = [int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]
    return tuple(round(255 - alpha * (255 - x)) for x in c)


def _rgb(hex_colour: str) -> tuple[int, ...]:
    return _on_white(hex_colour, 1.0)


@pytest.mark.parametrize(("case_id", "shade"), [("C-0001", "overlap"), ("S-0001", "gap")])
def test_pdf_stay_timeline_has_a_lane_per_stay_and_marks_the_evidence(
        run, tmp_path, case_id, shade):  # noqa: F811
    from graphdetect.export._timelines import MARK_COLORS, VISIT_COLORS

    need_font()
    case = case_of(run, case_id)
    assert case["pattern"] in ("concurrent_stay", "split_stay")
    pkg = export_case(run, case_id, tmp_path, user="li")
    png = pkg / "timeline.png"
    stays = _bands(png, _rgb(VISIT_COLORS["inpatient"]))
    assert len(stays) == 2  # two lanes, one bar each
    alpha = 0.45 if shade == "overlap" else 0.3
    assert _bands(png, _on_white(MARK_COLORS[shade], alpha))
    text = pdf_text(pkg / "report.pdf")
    assert "每条泳道为一次住院" in text


def test_pdf_pooling_timeline_plots_hours(run, tmp_path):  # noqa: F811
    need_font()
    case_id = "K-0001"
    assert case_of(run, case_id)["pattern"] == "card_pooling"
    pkg = export_case(run, case_id, tmp_path, user="li")
    assert "纵轴为一天中的刷卡时刻" in pdf_text(pkg / "report.pdf")
    assert [p.name for p in pkg.glob("timeline*.png")] == ["timeline.png"]


def test_pdf_and_ui_draw_timelines_in_the_same_colours():
    from graphdetect.export._timelines import MARK_COLORS, VISIT_COLORS

    root = Path(__file__).resolve().parents[1] / "web" / "static"
    js = (root / "js" / "timeline.js").read_text(encoding="utf-8")
    ui = dict(re.findall(r'(\w+): "(#[0-9a-f]{6})"',
                         re.search(r"var VCOL = \{([^}]*)\}", js).group(1)))
    assert ui == VISIT_COLORS
    css = (root / "css" / "app.css").read_text(encoding="utf-8")
    for cls, colour in (("overlap", MARK_COLORS["overlap"]), ("batch", MARK_COLORS["batch"]),
                        ("gap-box", MARK_COLORS["gap"])):
        rule = next(line for line in css.splitlines()
                    if line.startswith("#timeline") and f".{cls}" in line and "fill:" in line)
        assert colour in rule, (cls, rule)


def test_timeline_legend_in_english_and_on_a_phone(browser, server, cases):  # noqa: F811
    case = _first(cases, "concurrent_stay")
    page = browser.new_page(viewport={"width": 390, "height": 844})
    _login(page, server, "li")
    page.goto(f"{server}/cases/{case['case_id']}?lang=en")
    page.wait_for_selector("#timeline[data-ready='1']", timeout=20000)
    legend = page.text_content("#timeline svg g.legend")
    assert "overlapping stays" in legend and "inpatient stay" in legend
    assert page.locator("#timeline svg g.lane[data-kind='stay']").count() == 2
    right = page.evaluate("document.querySelector('#timeline svg').getBoundingClientRect().right")
    for text in page.locator("#timeline svg g.legend text").all():  # wrapped, none cut off
        box = text.bounding_box()
        assert box["x"] + box["width"] <= right + 0.5, text.text_content()
    page.screenshot(path=str(_shot_path("timeline-concurrent-en-phone")), full_page=True)
    page.close()
