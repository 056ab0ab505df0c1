"""``graphdetect neo4j`` and its configuration against a real Bolt server."""

from __future__ import annotations

import os

import neo4j
import pytest
from click.testing import CliRunner
from conftest import good_row, write_csv

from graphdetect.errors import GraphdetectError
from graphdetect.neo4j import (
    GraphServerError,
    LoadInterrupted,
    Neo4jConfig,
    cypher_names,
    cypher_text,
)
from graphdetect.neo4j._cypher import CYPHER_DIR
from graphdetect.neo4j.cli import neo4j_group


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
