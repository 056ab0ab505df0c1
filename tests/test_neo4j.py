"""graphdetect.neo4j against a real Bolt server.

The session starts ArcadeDB (``tests/neo4j_server.py``), which speaks Bolt and Neo4j 5
Cypher, unless ``GRAPHDETECT_NEO4J_URI`` points at a real Neo4j: then that server is used
(its database must be empty, or ``GRAPHDETECT_NEO4J_TEST_WIPE=1`` lets the suite empty
it). When the server cannot start the server tests skip, and fail when ``CI=true``.

The data is a slice of ``datasets/sample``: every patient with two or more inpatient
stays (so every concurrent or split stay of the sample is in it) plus every 40th other
patient, with all their claims, and two bad rows.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from itertools import combinations
from pathlib import Path

import neo4j
import pytest
from click.testing import CliRunner
from conftest import good_row, write_csv

from graphdetect import read_folder
from graphdetect.detectors import REGISTRY
from graphdetect.errors import GraphdetectError, ParameterError
from graphdetect.graph import ClaimsGraph
from graphdetect.neo4j import (
    GraphServerError,
    LoadInterrupted,
    Neighbourhood,
    Neo4jConfig,
    co_admissions,
    concurrent_stays,
    connect,
    cypher_names,
    cypher_text,
    graph_counts,
    load_folder,
    push_run,
    run_cases,
    split_stays,
)
from graphdetect.neo4j._cypher import CYPHER_DIR
from graphdetect.neo4j.cli import neo4j_group
from graphdetect.run import detect_folder

SAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "sample"
ENV = ("URI", "USER", "PASSWORD", "DATABASE")


# -- the server ------------------------------------------------------------------------
@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """A Neo4jConfig for an empty database on a running Bolt server."""
    if os.environ.get("GRAPHDETECT_NEO4J_URI"):
        import neo4j_server

        config = Neo4jConfig.from_env()
        neo4j_server.empty(config)
        yield config
        return
    import neo4j_server

    try:
        running = neo4j_server.start(tmp_path_factory.mktemp("arcadedb"), "adb-pw-7f3e9c")
    except Exception as exc:  # ImportError, RuntimeError, OSError: no server to test with
        message = f"no Bolt server for the Neo4j tests: {str(exc)[:2000]}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield Neo4jConfig(running.uri, neo4j_server.USER, running.password,
                          neo4j_server.DATABASE)
    finally:
        running.stop()


@pytest.fixture
def env(server, monkeypatch):
    """The server's connection in GRAPHDETECT_NEO4J_* (as the CLI reads it)."""
    for key in ENV:
        monkeypatch.setenv(f"GRAPHDETECT_NEO4J_{key}", getattr(server, key.lower()) or "")
    return server


# -- the data --------------------------------------------------------------------------
@pytest.fixture(scope="session")
def subset(tmp_path_factory) -> Path:
    import neo4j_server

    return neo4j_server.sample_slice(tmp_path_factory.mktemp("neo4j") / "data", SAMPLE)


@pytest.fixture(scope="session")
def data(subset):
    return read_folder(subset)


@pytest.fixture(scope="session")
def graph(data):
    return ClaimsGraph.from_data(data)


@pytest.fixture(scope="session")
def run(subset, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("neo4j") / "run"
    detect_folder(subset, out)
    return out


@pytest.fixture(scope="session")
def loaded(server, subset, run):
    """Load the slice twice and push its run twice; what each step reported."""
    with connect(server) as conn:
        first = load_folder(conn, subset, batch_size=1000)
        second = load_folder(conn, subset, batch_size=1000)
        pushed = push_run(conn, run, batch_size=5)
        after_push = graph_counts(conn)
        pushed_again = push_run(conn, run)
        after_second_push = graph_counts(conn)
    return {"first": first, "second": second, "pushed": pushed, "after_push": after_push,
            "pushed_again": pushed_again, "after_second_push": after_second_push}


@pytest.fixture
def conn(server, loaded):
    with connect(server) as c:
        yield c


# -- load ------------------------------------------------------------------------------
def _ids(*series) -> int:
    return len(set().union(*(set(s.dropna().astype(str)) for s in series)))


def test_load_counts_match_the_data(loaded, data):
    c, report = data.claims, loaded["first"]
    assert report["rows"] == {"read": data.rows_read, "accepted": data.rows_read - 2,
                              "rejected": 2}
    assert report["rejected_by_reason"] == data.reject_counts()
    assert report["loaded"]["claims"] == len(c) and report["batches"] >= 4
    assert report["graph"]["by_label"] == {
        "Patient": _ids(c["patient_id"], data.patients["patient_id"]),
        "Doctor": _ids(c["doctor_id"], data.doctors["doctor_id"]),
        "Institution": _ids(c["institution_id"], data.institutions["institution_id"],
                            data.doctors["institution_id"]),
        "Card": _ids(c["card_id"]), "Terminal": _ids(c["terminal_id"]),
        "Operator": _ids(c["operator_id"]), "Claim": len(c), "Case": 0,
    }
    n = len(c)
    assert report["graph"]["by_type"] == {
        "MADE": n, "AT": n, "WITH_CARD": n, "BY": int(c["doctor_id"].notna().sum()),
        "ON": int(c["terminal_id"].notna().sum()), "RUN_BY": int(c["operator_id"].notna().sum()),
        "WORKS_AT": int(data.doctors["institution_id"].notna().sum()),
        "IN_CASE": 0, "EVIDENCE": 0,
    }
    assert report["graph"]["nodes"] == sum(report["graph"]["by_label"].values())


def test_load_twice_gives_the_same_graph(loaded):
    assert loaded["second"]["graph"] == loaded["first"]["graph"]
    assert loaded["after_second_push"] == loaded["after_push"]
    assert loaded["pushed_again"]["members"] == loaded["pushed"]["members"]


def test_push_writes_the_cases_of_cases_jsonl(loaded, conn, run):
    want = [json.loads(line) for line in (run / "cases.jsonl").read_text().splitlines()]
    run_id = json.loads((run / "summary.json").read_text())["run_id"]
    assert len(want) >= 4 and loaded["pushed"]["cases"] == len(want)
    got = {c["case_id"]: c for c in run_cases(conn, run_id)}
    assert sorted(got) == sorted(c["case_id"] for c in want)
    for case in want:
        mine = got[case["case_id"]]
        assert (mine["pattern"], mine["score"], mine["rules"], mine["explanation"]) == \
            (case["pattern"], case["score"], case["rules"], case["explanation"])
        assert mine["claim_ids"] == sorted(case["claim_ids"])
        assert [(m["kind"], m["id"], m["role"]) for m in mine["members"]] == \
            sorted({(m["kind"], m["id"], m["role"]) for m in case["members"]})
    links = sum(len({(m["kind"], m["id"], m["role"]) for m in c["members"]}) for c in want)
    evidence = sum(len(set(c["claim_ids"])) for c in want)
    counts = loaded["after_push"]
    assert counts["by_label"]["Case"] == len(want)
    assert counts["by_type"]["IN_CASE"] == links == loaded["pushed"]["members"]["linked"]
    assert counts["by_type"]["EVIDENCE"] == evidence == loaded["pushed"]["evidence"]["linked"]


# -- rule queries ----------------------------------------------------------------------
@pytest.fixture(scope="session")
def sample_graph():
    return ClaimsGraph.from_data(read_folder(SAMPLE))


@pytest.mark.parametrize("params", [{}, {"min_overlap_days": 3}])
def test_concurrent_stay_query_matches_the_detector(conn, graph, sample_graph, params):
    mine = {frozenset(g["claim_ids"]) for g in concurrent_stays(conn, **params)}
    python = {frozenset(f.claim_ids) for f in REGISTRY["concurrent_stay"].func(graph, **params)}
    whole = {frozenset(f.claim_ids)
             for f in REGISTRY["concurrent_stay"].func(sample_graph, **params)}
    assert mine == python == whole
    assert params or len(mine) >= 3


@pytest.mark.parametrize("params", [{}, {"max_gap_days": 6, "diagnosis_prefix": 3},
                                    {"max_gap_days": 0}])
def test_split_stay_query_matches_the_detector(conn, graph, sample_graph, params):
    mine = {tuple(g["stays"]) for g in split_stays(conn, **params)}
    python = {tuple(f.claim_ids) for f in REGISTRY["split_stay"].func(graph, **params)}
    whole = {tuple(f.claim_ids) for f in REGISTRY["split_stay"].func(sample_graph, **params)}
    assert mine == python == whole
    assert params or len(mine) >= 3


def test_co_admission_query_counts_shared_admission_days(conn, data):
    ip = data.claims[data.claims["visit_type"] == "inpatient"]
    days = defaultdict(set)
    for (h, day), group in ip.groupby(["institution_id", ip["start_time"].dt.date],
                                      observed=True):
        people = sorted(set(group["patient_id"].astype(str)))
        if 2 <= len(people) <= 30:
            for a, b in combinations(people, 2):
                days[(a, b, str(h))].add(day.isoformat())
    want = {k: sorted(v) for k, v in days.items() if len(v) >= 2}
    rows = co_admissions(conn, min_occasions=2, limit=100_000)
    assert want and {(r["patient_a"], r["patient_b"], r["institution"]): r["days"]
                     for r in rows} == want
    assert [r["occasions"] for r in rows] == sorted((len(v) for v in want.values()),
                                                    reverse=True)


def test_rule_parameters_are_checked(conn):
    with pytest.raises(ParameterError, match="'min_overlap_days' parameter of concurrent"):
        concurrent_stays(conn, min_overlap_days=0)
    with pytest.raises(ParameterError, match="max_gap_days"):
        split_stays(conn, max_gap_days=-1)


# -- neighbourhoods --------------------------------------------------------------------
def _entities(graph) -> list[tuple[str, str]]:
    c = graph.claims
    stay = c[c["visit_type"] == "inpatient"].iloc[0]
    return [("patient", str(stay["patient_id"])), ("institution", str(stay["institution_id"])),
            ("doctor", str(stay["doctor_id"])), ("card", str(stay["card_id"])),
            ("terminal", str(stay["terminal_id"])), ("operator", str(stay["operator_id"]))]


def _shape(G):
    return (list(G.nodes(data=True)), G.graph,
            {frozenset((a, b)): w for a, b, w in G.edges(data="weight")})


@pytest.mark.parametrize("radius,cap", [(1, 1_000_000), (1, 4), (2, 3)])
def test_ego_network_has_the_shape_of_claims_graph(conn, graph, radius, cap):
    hood = Neighbourhood(conn)
    for kind, id_ in _entities(graph):
        mine = hood.ego_network(kind, id_, radius=radius, max_neighbors=cap)
        assert _shape(mine) == _shape(graph.ego_network(kind, id_, radius=radius,
                                                        max_neighbors=cap)), (kind, id_)
    assert not hood.cards_are_patients


def test_ego_network_errors_and_claims_page(conn, graph):
    hood = Neighbourhood(conn)
    with pytest.raises(KeyError, match="unknown patient 'nobody'"):
        hood.ego_network("patient", "nobody")
    with pytest.raises(ParameterError, match="'kind' parameter"):
        hood.ego_network("village", "V1")
    with pytest.raises(ParameterError, match="max_neighbors"):
        hood.ego_network("patient", "x", max_neighbors=0)
    kind, id_ = _entities(graph)[0]
    rows = graph.claims.iloc[graph.claims_of(kind, id_)]
    page = hood.claims(kind, id_, skip=1, limit=2)
    assert page["total"] == len(rows)
    expected = rows.sort_values(["start_time", "claim_id"])["claim_id"].astype(str).tolist()
    assert [c["claim_id"] for c in page["claims"]] == expected[1:3]
    assert page["claims"][0]["patient_id"] == id_


def test_shared_neighbourhood_from_the_environment(env, loaded, graph):
    hood = Neighbourhood.from_env()
    try:
        assert Neighbourhood.from_env() is hood
        kind, id_ = _entities(graph)[1]
        G = hood.ego_network(kind, id_, max_neighbors=10)
        assert _shape(G) == _shape(graph.ego_network(kind, id_, max_neighbors=10))
    finally:
        hood.close()


# -- the command line ------------------------------------------------------------------
def _one_line_error(result, *, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert result.output.strip().count("\n") == 0, result.output
    return result.output.strip()


def test_check_prints_server_and_counts(env, loaded):
    res = CliRunner().invoke(neo4j_group, ["check"])
    assert res.exit_code == 0, res.output
    assert f"Neo4j at {env.uri}:" in res.output and "nodes: " in res.output
    assert "Claim " in res.output and "MADE " in res.output
    assert not env.password or env.password not in res.output


def test_cli_load_reports_rejects_and_push(env, loaded, folder, run):
    rows = [good_row(i, claim_id=f"ZZ-CLI-{i}", patient_id="ZZ-P", institution_id="ZZ-H",
                     doctor_id="", terminal_id="ZZ-T", operator_id="ZZ-O") for i in range(3)]
    write_csv(folder / "claims.csv", rows + [good_row(9, total_amount="x")])
    res = CliRunner().invoke(neo4j_group, ["load", str(folder), "--batch-size", "2"])
    assert res.exit_code == 0, res.output
    assert "4 rows read, 3 accepted, 1 rejected" in res.output
    assert "rejected         1  claims: " in res.output and "in 2 batches" in res.output
    res = CliRunner().invoke(neo4j_group, ["push", str(run)])
    assert res.exit_code == 0 and "pushed " in res.output and "not in the graph" not in \
        res.output
    assert not env.password or env.password not in res.output
    res = CliRunner().invoke(neo4j_group, ["load", str(folder), "--quiet"])
    assert res.exit_code == 0 and res.output == ""


@pytest.mark.parametrize("setting,expected", [
    ({"PASSWORD": "not-the-password"}, "the server refused user 'root': wrong user or password"),
    ({"URI": "bolt://127.0.0.1:{port}"}, "cannot connect: the server is down"),
    ({"DATABASE": "no_such_db"}, "there is no database 'no_such_db'"),
])
def test_connection_problems_are_one_line_and_exit_2(env, monkeypatch, setting, expected):
    import neo4j_server

    for key, value in setting.items():
        monkeypatch.setenv(f"GRAPHDETECT_NEO4J_{key}", value.format(port=neo4j_server.free_port()))
    uri = os.environ["GRAPHDETECT_NEO4J_URI"]
    for args in (["check"], ["push", "nowhere"]):
        line = _one_line_error(CliRunner().invoke(neo4j_group, args))
        assert line.startswith(f"Error: Neo4j at {uri}: {expected}"), line
        assert "not-the-password" not in line
        assert not env.password or env.password not in line


def test_bad_run_folder_is_one_line(env, tmp_path):
    line = _one_line_error(CliRunner().invoke(neo4j_group, ["push", str(tmp_path)]))
    assert "not a graphdetect run folder" in line


@pytest.mark.parametrize("failure,code,why", [
    (neo4j.exceptions.ServiceUnavailable("connection lost"), 2, "cannot connect"),
    (KeyboardInterrupt(), 130, "stopped by Ctrl-C"),
])
def test_interrupted_load_says_how_far_it_got(env, loaded, folder, monkeypatch, failure,
                                              code, why):
    rows = [good_row(i, claim_id=f"ZZ-INT-{i}", patient_id="ZZ-P2", institution_id="ZZ-H")
            for i in range(5)]
    write_csv(folder / "claims.csv", rows)
    real = neo4j.Driver.execute_query
    calls = []

    def flaky(self, query, *args, **kwargs):
        if query.startswith("UNWIND $rows"):
            calls.append(query)
            if len(calls) == 3:
                raise failure
        return real(self, query, *args, **kwargs)

    monkeypatch.setattr(neo4j.Driver, "execute_query", flaky)
    res = CliRunner().invoke(neo4j_group, ["load", str(folder), "--batch-size", "1"])
    line = _one_line_error(res, code=code)
    assert line.startswith(f"Interrupted: Neo4j at {env.uri}: load interrupted ({why}")
    assert "after 2 of 5 batches were written" in line and "loaded" not in line


# -- no server needed ------------------------------------------------------------------
def test_every_cypher_file_is_documented_and_parameterised():
    names = cypher_names()
    assert {"schema", "load_claims", "rule_concurrent_stay", "rule_split_stay",
            "rule_co_admission", "push_cases", "push_members", "push_evidence",
            "ego_expand", "entity_claims"} <= set(names)
    for name in names:
        text = (CYPHER_DIR / f"{name}.cypher").read_text(encoding="utf-8")
        assert text.startswith(f"// {name} — "), name
        assert "Parameters:" in text, name
        assert "{0}" not in text and "%s" not in text, name
    assert cypher_text("load_claims") is cypher_text("load_claims")
    assert not cypher_text("ping").startswith("//")
    with pytest.raises(GraphdetectError, match="expected one statement"):
        cypher_text("schema")
    with pytest.raises(GraphdetectError, match="cannot read"):
        cypher_text("no_such_statement")


def test_config_comes_from_the_environment_and_hides_the_password():
    cfg = Neo4jConfig.from_env({"GRAPHDETECT_NEO4J_URI": "neo4j://u:pw@db.example:7687",
                                "GRAPHDETECT_NEO4J_PASSWORD": "hunter2"}, database="claims")
    assert (cfg.uri, cfg.user, cfg.database, cfg.password) == \
        ("neo4j://u:pw@db.example:7687", "neo4j", "claims", "hunter2")
    assert "hunter2" not in repr(cfg) and cfg.safe_uri == "neo4j://db.example:7687"
    assert str(GraphServerError("bolt://x", "down")) == "Neo4j at bolt://x: down"
    assert issubclass(LoadInterrupted, GraphdetectError)


@pytest.mark.parametrize("uri,problem", [("http://nowhere:1", "not a usable URI"),
                                         ("nowhere", "not a usable URI"),
                                         ("bolt://me:pw@h:1", "not a usable URI (give"),
                                         ("bolt://nowhere:port", "not a usable address")])
def test_a_bad_uri_is_one_line(uri, problem):
    res = CliRunner().invoke(neo4j_group, ["--uri", uri, "check"])
    safe = uri.replace("me:pw@", "")
    assert _one_line_error(res).startswith(f"Error: Neo4j at {safe}: {problem}")
