"""Names everywhere: institutions and doctors by name (code secondary), a period column,
search by name, metrics with units, one vocabulary of statuses, region names."""

from __future__ import annotations

import csv
import re

import pytest
from conftest import login


@pytest.fixture
def app(make_app):
    return make_app()


def _table(planted, name: str, key: str) -> dict[str, dict]:
    with open(planted / f"{name}.csv", encoding="utf-8") as f:
        return {r[key]: r for r in csv.DictReader(f)}


@pytest.fixture
def institutions(planted) -> dict[str, dict]:
    return _table(planted, "institutions", "institution_id")


@pytest.fixture
def doctors(planted) -> dict[str, dict]:
    return _table(planted, "doctors", "doctor_id")


def _host(case: dict) -> str:
    return next(m["id"] for m in case["members"] if m["kind"] == "institution")


def test_queue_names_institutions_and_shows_a_period(app, ring, institutions):
    client = app.test_client()
    login(client, "li")
    row = next(r for r in client.get("/api/cases").json["cases"]
               if r["case_id"] == ring["case_id"])
    host = _host(ring)
    assert row["institution"] == host
    assert row["institution_name"] == institutions[host]["name"]
    days = sorted(o["first_day"] for o in ring["details"]["occasions"])
    assert row["period"]["first"] == days[0]
    assert row["period"]["last"] >= max(o["last_day"] for o in ring["details"]["occasions"])
    html = client.get("/").get_data(as_text=True)
    name = institutions[host]["name"]
    assert re.search(rf'title="{host}"[^>]*>{re.escape(name)}', html), "name, code on hover"
    assert f"{row['period']['first']} – {row['period']['last']}" in html


def test_queue_searches_names_case_insensitively(app, ring, institutions, doctors):
    client = app.test_client()
    login(client, "li")
    name = institutions[_host(ring)]["name"]
    found = client.get("/api/cases", query_string={"q": name[1:-1]}).json["cases"]
    assert ring["case_id"] in [r["case_id"] for r in found]
    assert all(name[1:-1] in (r["institution_name"] or "") or r["case_id"] != ring["case_id"]
               for r in found)
    hub = next(m["id"] for m in ring["members"] if m["kind"] == "doctor")
    found = client.get("/api/cases", query_string={"q": doctors[hub]["name"]}).json["cases"]
    assert ring["case_id"] in [r["case_id"] for r in found]
    # ids still work, whole and in any case
    found = client.get("/api/cases", query_string={"q": _host(ring).lower()}).json["cases"]
    assert ring["case_id"] in [r["case_id"] for r in found]
    assert client.get("/api/cases", query_string={"q": "no-such-name-xyz"}).json["cases"] == []


def test_ring_explanation_names_its_doctors(app, ring, doctors):
    client = app.test_client()
    login(client, "li")
    html = client.get(f"/cases/{ring['case_id']}").get_data(as_text=True)
    for m in ring["members"]:
        if m["kind"] == "doctor":
            assert f"{doctors[m['id']]['name']}（{m['id']}）" in html
            assert f"{doctors[m['id']]['name']} ({m['id']})" in html


def test_entity_page_names_the_entity_and_its_neighbours(app, ring, institutions, doctors):
    client = app.test_client()
    login(client, "li")
    host = _host(ring)
    info = client.get(f"/api/entities/institution/{host}").json
    assert info["name"] == institutions[host]["name"]
    assert all(d["name"] == doctors[d["id"]]["name"] for d in info["top_doctors"])
    html = client.get(f"/entities/institution/{host}").get_data(as_text=True)
    assert institutions[host]["name"] in html
    top = info["top_doctors"][0]
    assert re.search(rf'title="{top["id"]}"[^>]*>{re.escape(top["name"])}', html)
    assert "最常见 医师" not in html


def test_blind_reviewer_sees_no_names_and_cannot_search(app, ring, institutions):
    client = app.test_client()
    login(client, "rev")
    name = institutions[_host(ring)]["name"]
    res = client.get("/api/cases", query_string={"q": name})
    rows = res.json["cases"]
    assert len(rows) > 1  # the search is ignored, not answered
    assert all(r["institution_name"] is None for r in rows)
    html = client.get("/", query_string={"q": name}).get_data(as_text=True)
    assert name not in html and _host(ring) not in html


def test_claims_tables_name_institutions_and_doctors(app, ring, doctors):
    client = app.test_client()
    login(client, "li")
    html = client.get(f"/cases/{ring['case_id']}").get_data(as_text=True)
    hub = next(m["id"] for m in ring["members"] if m["kind"] == "doctor")
    assert f'<bdi class="named" title="{hub}">{doctors[hub]["name"]}</bdi>' in html
    login(blind := app.test_client(), "rev")
    assert doctors[hub]["name"] not in blind.get(f"/cases/{ring['case_id']}").get_data(as_text=True)


@pytest.mark.parametrize(("key", "value", "zh", "en"), [
    ("elderly_share", 0.905, "90.5%", "90.5%"),
    ("total_amount", 884369.77, "¥884,369.77", "¥884,369.77"),
    ("median_stay_days", 5.0, "5 天", "5 days"),
    ("members", 1204, "1,204", "1,204"),
    ("burst", 58.0, "58×", "58×"),
    ("amount_cv", None, "—", "—"),
])
def test_metric_values_carry_their_unit(key, value, zh, en):
    from graphdetect.explain import metric_value

    assert metric_value("collusion_ring", key, value, "zh") == zh
    assert metric_value("collusion_ring", key, value, "en") == en


def test_case_page_shows_metrics_with_units_and_english_labels(app, ring):
    client = app.test_client()
    login(client, "li")
    zh = client.get(f"/cases/{ring['case_id']}").get_data(as_text=True)
    assert "60岁以上占比" in zh and f"{ring['metrics']['elderly_share'] * 100:.1f}%" in zh
    en = client.get(f"/cases/{ring['case_id']}?lang=en").get_data(as_text=True)
    assert "aged 60 or over" in en and "amount_cv" not in en.split("<table class=\"claims")[0]
    assert "bill CV" in en
    assert "聚集性就医" not in en.split('class="rules"')[1][:400], "rule tags in English"


def test_status_words_are_one_vocabulary(app, ring):
    from graphdetect.export._tables import STATUS_ZH
    from graphdetect.review.store import STATUSES
    from graphdetect.statuses import STATUS_WORDS

    assert tuple(STATUS_WORDS) == STATUSES
    assert STATUS_ZH == {s: zh for s, (zh, _) in STATUS_WORDS.items()}
    client = app.test_client()
    login(client, "li")
    for lang in ("zh", "en"):
        html = client.get("/", query_string={"lang": lang}).get_data(as_text=True)
        for s, words in STATUS_WORDS.items():
            assert f'class="status {s}">{words[lang == "en"]} <b>' in html


@pytest.fixture(scope="module")
def regional(tmp_path_factory):
    """The sample folder with a ``regions`` table naming each village and its township,
    and its run."""
    import shutil

    from graphdetect.run import detect_folder

    root = tmp_path_factory.mktemp("regional")
    data = root / "data"
    shutil.copytree("datasets/sample", data)
    with open(data / "patients.csv", encoding="utf-8") as f:
        villages = sorted({r["region_code"] for r in csv.DictReader(f)})
    towns = sorted({v[:9] for v in villages})
    with open(data / "regions.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["区划代码", "区划名称", "上级区划"])
        w.writerows([t, f"镇{t[-3:]}", ""] for t in towns)
        w.writerows([v, f"村{v[-3:]}", v[:9]] for v in villages)
    run = root / "run"
    detect_folder(data, run)
    return data, run


def test_regions_are_named_on_entity_pages(regional, review_db):
    from graphdetect.review import create_app
    from graphdetect.run import read_cases

    data, run = regional
    app = create_app({"RUN": str(run), "DB": str(review_db), "SECRET_KEY": "t",
                      "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    login(client, "li")
    ring = next(c for c in read_cases(run) if c["pattern"] == "collusion_ring")
    patient = next(m["id"] for m in ring["members"] if m["kind"] == "patient")
    info = client.get(f"/api/entities/patient/{patient}").json
    code = info["region_code"]
    assert info["region"] == f"镇{code[6:9]} · 村{code[-3:]}"
    html = client.get(f"/entities/patient/{patient}").get_data(as_text=True)
    assert info["region"] in html and code in html


def test_evidence_members_carry_region_names(regional, tmp_path):
    from graphdetect.export import export_case
    from graphdetect.run import read_cases

    data, run = regional
    ring = next(c for c in read_cases(run) if c["pattern"] == "collusion_ring")
    folder = export_case(run, ring["case_id"], tmp_path, user="li")
    with open(folder / "members.csv", encoding="utf-8-sig") as f:
        rows = [r for r in csv.DictReader(f) if r["kind"] == "patient"]
    assert rows and all(r["region"] == f"镇{r['region_code'][6:9]} · 村{r['region_code'][-3:]}"
                        for r in rows)
    # the report names them too, beside the code
    import subprocess

    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(folder / "report.pdf"), "-"],
                          check=True, capture_output=True, text=True).stdout
    assert rows[0]["region"] in text and rows[0]["region_code"] in text


def test_the_report_shows_metrics_with_their_units_and_the_ui_status_words(regional, tmp_path):
    import re
    import subprocess

    from graphdetect.export import export_case
    from graphdetect.run import read_cases

    data, run = regional
    ring = next(c for c in read_cases(run) if c["pattern"] == "collusion_ring")
    folder = export_case(run, ring["case_id"], tmp_path, user="li")
    text = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", str(folder / "report.pdf"),
                           "-"], check=True, capture_output=True, text=True).stdout
    assert re.search(r"金额合计\s+¥[\d,]+\.\d\d", text)
    assert re.search(r"60岁以上占比\s+[\d.]+%", text)
    assert "新案件" not in text and "复核中" not in text  # the UI's words: 新建, 核查中


def test_network_nodes_carry_names_but_not_for_blind_reviewers(make_app, ring):
    app = make_app()
    for user, named in (("li", True), ("rev", False)):
        client = app.test_client()
        login(client, user)
        nodes = client.get(f"/api/cases/{ring['case_id']}/network").json["nodes"]
        hosts = [n["data"] for n in nodes if n["data"]["kind"] == "institution"]
        assert hosts and all(("name" in h) is named for h in hosts), user
