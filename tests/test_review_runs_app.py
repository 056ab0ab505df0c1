"""The review UI over several runs, through Flask's test client: the run picked, the
graphs kept, entity pages per run, the team figures, ``graphdetect serve RUNS``."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from conftest import login
from lineage_support import monthly_data, monthly_runs  # noqa: F401  (fixtures)

from graphdetect.cli import main
from graphdetect.review.alerts import snapshot
from graphdetect.review.data import RunViews
from graphdetect.runs import Runs


@pytest.fixture
def app(monthly_runs, review_db):  # noqa: F811
    from graphdetect.review import create_app

    return create_app({"RUNS": [str(monthly_runs[0].parent)], "DB": str(review_db),
                       "SECRET_KEY": "test-secret", "WTF_CSRF_ENABLED": False})


@pytest.fixture
def ids(monthly_runs):  # noqa: F811
    """The three runs' ids, oldest first."""
    return [r.run_id for r in Runs(monthly_runs)]


def client_of(app, name: str):
    client = app.test_client()
    login(client, name)
    return client


def test_the_newest_run_until_another_is_picked(app, ids):
    client = client_of(app, "li")
    assert client.get("/api/me").json["run_id"] == ids[-1]
    res = client.get("/api/me", query_string={"run": ids[0]})
    assert res.json["run_id"] == ids[0] and res.headers["X-Graphdetect-Run"] == ids[0]
    assert client.get("/api/me").json["run_id"] == ids[0]  # kept in the session
    assert client_of(app, "admin").get("/api/me").json["run_id"] == ids[-1]  # per user


def test_an_unknown_run_is_404_in_the_one_shape(app, ids):
    client = client_of(app, "li")
    res = client.get("/api/me", query_string={"run": "run-000000000000"})
    assert res.status_code == 404
    assert res.json == {"error": {"status": 404, "title": "Not Found",
                                  "message": "no run run-000000000000"}}
    assert client.get("/", query_string={"run": "<b>x</b>"}).status_code == 404
    assert client.get("/api/me").json["run_id"] == ids[-1]  # the pick is unchanged


def test_the_picker_lists_runs_newest_first_and_marks_the_one_shown(app, ids, monthly_runs):  # noqa: F811
    client = client_of(app, "admin")
    html = client.get("/admin/audit", query_string={"run": ids[1]}).get_data(as_text=True)
    picker = html[html.index('<form class="run-picker"'):]
    picker = picker[:picker.index("</form>")]
    shown = [picker.index(f'value="{r}"') for r in ids]
    assert shown[2] < shown[1] < shown[0]  # newest first
    assert f'value="{ids[1]}" selected' in picker and picker.count(" selected") == 1
    runs = Runs(monthly_runs)
    for run in runs:
        claims = run.summary["claims"]
        assert f"{claims['first_day']} – {claims['last_day']} · {run.summary['cases']}" in picker
    assert "非最新批次" in picker
    assert "team figures" in html.lower() or "团队统计" in html


def test_one_run_still_serves(make_app, planted_run):
    client = client_of(make_app(), "li")
    from graphdetect.run import load_summary

    assert client.get("/api/me").json["run_id"] == load_summary(planted_run)["run_id"]


def test_no_graph_at_start_and_at_most_two_kept(app, ids, monthly_runs):  # noqa: F811
    views = app.extensions["run_views"]
    assert views.holding() == []
    client = client_of(app, "li")

    def visit(run_id: str) -> None:  # an entity page needs the run's claims graph
        case = next(c for c in app.extensions["runs"].cases(run_id)
                    if c["pattern"] == "collusion_ring")
        host = next(m["id"] for m in case["members"] if m["kind"] == "institution")
        res = client.get(f"/api/entities/institution/{host}", query_string={"run": run_id})
        assert res.status_code == 200

    visit(ids[0])
    visit(ids[1])
    assert views.holding() == [ids[1]]  # one place is the newest run's
    visit(ids[2])
    assert views.holding() == ids[1:]
    visit(ids[0])  # the newest stays; the other run used last with it
    assert views.holding() == [ids[2], ids[0]]
    visit(ids[1])
    assert views.holding() == [ids[2], ids[1]]
    with pytest.raises(ValueError, match="'graphs' parameter of RunViews"):
        RunViews(Runs(monthly_runs), graphs=0)
    one = RunViews(Runs(monthly_runs), graphs=1)
    for r in (ids[2], ids[0], ids[2]):
        one.get(r).graph  # noqa: B018  (built on first use)
    assert one.holding() == [ids[2]]  # the older one's, built for a request, let go after


def test_entity_pages_show_the_picked_runs_data(app, ids):
    client = client_of(app, "li")
    case = next(c for c in app.extensions["runs"].cases(ids[0]) if c["pattern"] ==
                "collusion_ring")
    host = next(m["id"] for m in case["members"] if m["kind"] == "institution")
    seen = {}
    for r in ids:
        res = client.get(f"/api/entities/institution/{host}", query_string={"run": r})
        assert res.json["run_id"] == r
        seen[r] = res.json["claims"]
        net = client.get(f"/api/entities/institution/{host}/network")
        assert net.json["run_id"] == r
    # cumulative months: the institution has more claims in each later run
    assert seen[ids[0]] < seen[ids[1]] < seen[ids[2]]
    page = client.get(f"/entities/institution/{host}", query_string={"run": ids[0]})
    assert page.status_code == 200 and f'value="{ids[0]}" selected' in page.get_data(as_text=True)


def test_team_figures_are_for_admins_only(app):
    for user in ("li", "rev"):
        client = client_of(app, user)
        assert client.get("/admin/figures").status_code == 403
        assert client.get("/api/admin/figures").json["error"]["status"] == 403
    case = app.extensions["runs"].newest.cases[0]
    host = next(m["id"] for m in case["members"])
    kind = case["members"][0]["kind"]
    html = client_of(app, "li").get(f"/entities/{kind}/{host}").get_data(as_text=True)
    assert "/admin/figures" not in html
    assert "/admin/figures" in client_of(app, "admin").get("/admin/audit").get_data(as_text=True)


def test_team_figures_count_raised_decided_and_days(app, ids):
    runs = app.extensions["runs"]
    store = app.extensions["review_store"]
    first, newest = runs.runs[0], runs.newest

    def occasions(case):
        return case["metrics"].get("occasions", 0)

    rings = [c for c in first.cases if c["pattern"] == "collusion_ring"]
    # a ring that gains two occasions by the newest run re-alerts after its dismissal
    grows = next(c for c in rings if occasions(newest.case(c["case_key"])) >= occasions(c) + 2)
    other = next(c for c in rings if c is not grows)
    same = next(c for c in first.cases  # dismissed and unchanged since: quiet
                if newest.case(c["case_key"])["lineage"]["state"] == "recurring")
    for case, end in ((grows, "dismissed"), (other, "confirmed"), (same, "dismissed")):
        for status in ("in_review", end):
            store.decide(case["case_key"], run_id=first.run_id, case_id=case["case_id"],
                         user="li", status=status, reason="核查完毕",
                         snapshot=snapshot(case, first.run_id))
    res = client_of(app, "admin").get("/api/admin/figures")
    assert res.status_code == 200
    fig = res.json
    assert fig["run_id"] == ids[-1] and fig["runs"] == ids
    ring = next(p for p in fig["patterns"] if p["pattern"] == "collusion_ring")
    assert (ring["confirmed"], ring["dismissed"], ring["confirmation_rate"]) == (1, 1, 0.5)
    assert ring["re_alerted"] == 1
    quiet = next(p for p in fig["patterns"] if p["pattern"] == same["pattern"])
    assert (quiet["dismissed"], quiet["re_alerted"], quiet["confirmation_rate"]) == (1, 0, 0.0)
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date()
    assert ring["median_days_to_decision"] == (today - date.fromisoformat(first.last_day)).days
    month = next(m for m in fig["months"] if m["pattern"] == "collusion_ring"
                 and m["month"] == first.last_day[:7])
    assert (month["confirmed"], month["dismissed"]) == (1, 1)
    # raised: every case that first appeared new, in the month of its run's data end
    for run in runs:
        for pattern in {c["pattern"] for c in run.cases}:
            new = sum(c["pattern"] == pattern and c["lineage"]["state"] == "new"
                      for c in run.cases)
            row = [m for m in fig["months"] if m["pattern"] == pattern and
                   m["month"] == run.last_day[:7]]
            assert (row[0]["raised"] if row else 0) == new, (run.run_id, pattern)
    assert sum(p["raised"] for p in fig["patterns"]) == len({c["case_key"] for r in runs
                                                             for c in r.cases})
    html = client_of(app, "admin").get("/admin/figures").get_data(as_text=True)
    assert "50%" in html and first.last_day[:7] in html


def test_serve_lists_the_runs_and_the_newest(monthly_runs, review_db, tmp_path):  # noqa: F811
    lines = []
    with subprocess.Popen(
            [sys.executable, "-m", "graphdetect.cli", "serve", str(monthly_runs[0]),
             str(monthly_runs[0].parent), "--db", str(review_db), "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        try:
            for line in proc.stdout:
                lines.append(line)
                if line.startswith(("log in as", "no users yet")):
                    break
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    out = "".join(lines)
    ids = [r.run_id for r in Runs(monthly_runs)]
    assert "3 run(s)" in out  # the folder named twice is served once
    assert out.index(ids[2]) < out.index(ids[1]) < out.index(ids[0])
    assert f"{ids[2]}" in next(ln for ln in lines if "newest" in ln)
    res = CliRunner().invoke(main, ["serve", str(tmp_path), "--db", str(review_db)])
    assert res.exit_code == 2 and "no run folders" in res.output


def test_every_json_twin_names_its_run(app, ids):
    client = client_of(app, "li")
    first = client.get("/api/cases", query_string={"run": ids[0]}).json
    case = first["cases"][0]["case_id"]
    node = client.get(f"/api/cases/{case}/network").json["nodes"][0]["data"]["id"]
    for url in ("/api/cases", f"/api/cases/{case}", f"/api/cases/{case}/claims",
                f"/api/cases/{case}/network", f"/api/cases/{case}/expand?node={node}"):
        res = client.get(url)
        assert res.status_code == 200 and res.json["run_id"] == ids[0], url
