"""Fixtures for the graphdb tests: a real Bolt server, a data slice, a loaded database.

The session starts ArcadeDB (``tests/neo4j_server.py``), which speaks Bolt and Neo4j 5
Cypher, unless ``GRAPHDETECT_NEO4J_URI`` points at a real Neo4j: then that server is used
(its database must be empty, or ``GRAPHDETECT_NEO4J_TEST_WIPE=1`` lets the suite empty
it). When the server cannot start the server tests skip, and fail when ``CI=true``.

The data is a slice of ``datasets/sample``: every patient with two or more inpatient
stays (so every concurrent or split stay of the sample is in it) plus every 40th other
patient, with all their claims, and two bad rows.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from graphdetect import read_folder
from graphdetect.graph import ClaimsGraph
from graphdetect.neo4j import (
    Neo4jConfig,
    connect,
    graph_counts,
    load_folder,
    push_run,
)
from graphdetect.run import detect_folder

SAMPLE = Path(__file__).resolve().parents[2] / "datasets" / "sample"
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


@pytest.fixture(scope="session")
def sample_graph():
    return ClaimsGraph.from_data(read_folder(SAMPLE))
