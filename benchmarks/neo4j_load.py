"""Neo4j load throughput (claims per second), re-load, push and query times.

Loads the planted data (``--patients 20000 --seed 1`` by default) into an empty database,
loads it again (idempotent: nothing new), pushes the run's cases twice, and times the rule
queries and one capped neighbourhood. The server is ``GRAPHDETECT_NEO4J_URI`` (its
database must be empty, or pass ``--wipe``), or else a fresh ArcadeDB Bolt server started
here (``tests/neo4j_server.py``), which is far slower than Neo4j: its figures are a floor,
not Neo4j's.

    .venv/bin/python benchmarks/neo4j_load.py --patients 20000 --seed 1
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, ensure_data, report

from graphdetect.neo4j import (
    Neighbourhood,
    Neo4jConfig,
    co_admissions,
    concurrent_stays,
    connect,
    graph_counts,
    load_folder,
    push_run,
    split_stays,
)
from graphdetect.run import detect_folder


def _server(args) -> tuple[Neo4jConfig, object]:
    if not args.arcadedb and Neo4jConfig.from_env().password is not None:
        return Neo4jConfig.from_env(), None
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    import neo4j_server

    root = Path(tempfile.mkdtemp(prefix="graphdetect-bench-arcadedb-"))
    running = neo4j_server.start(root, "bench-password")
    return Neo4jConfig(running.uri, neo4j_server.USER, running.password,
                       neo4j_server.DATABASE), running


def _timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, round(time.perf_counter() - t0, 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--format", choices=["csv", "parquet"], default="csv")
    ap.add_argument("--batch-size", type=int, default=10_000)
    ap.add_argument("--arcadedb", action="store_true",
                    help="Start ArcadeDB even when GRAPHDETECT_NEO4J_* name a server.")
    ap.add_argument("--wipe", action="store_true",
                    help="Empty the GRAPHDETECT_NEO4J database first (DESTRUCTIVE).")
    args = ap.parse_args()
    data = ensure_data(args.patients, args.format, args.seed)
    run = ROOT / f"run-p{args.patients}-s{args.seed}-{args.format}"
    if not (run / "summary.json").exists():
        print(f"detecting into {run} ...", file=sys.stderr)
        detect_folder(data, run)
    busiest = _busiest_institution(data)
    config, running = _server(args)
    try:
        with connect(config) as conn:
            if graph_counts(conn)["nodes"]:
                if not args.wipe:
                    raise SystemExit(f"{config.safe_uri} database {config.database!r} is not "
                                     "empty; pass --wipe to empty it first")
                while conn.write("clear_database", batch_size=10_000)[0]["deleted"]:
                    pass
            first, _ = _timed(load_folder, conn, data, batch_size=args.batch_size,
                              progress=True)
            second, _ = _timed(load_folder, conn, data, batch_size=args.batch_size)
            pushed, push_s = _timed(push_run, conn, run)
            _, push_again_s = _timed(push_run, conn, run)
            _, concurrent_s = _timed(concurrent_stays, conn)
            _, split_s = _timed(split_stays, conn)
            _, co_s = _timed(co_admissions, conn)
            _, ego_s = _timed(Neighbourhood(conn).ego_network, "institution", busiest,
                              max_neighbors=50)
            server = conn.verify()["agent"]
    finally:
        if running is not None:
            running.stop()
    figures = {
        "claims": first["loaded"]["claims"],
        "load_s": first["seconds"],
        "claims_per_second": first["claims_per_second"],
        "reload_s": second["seconds"],
        "reload_same_graph": second["graph"] == first["graph"],
        "cases": pushed["cases"],
        "push_s": push_s,
        "push_again_s": push_again_s,
        "concurrent_stays_s": concurrent_s,
        "split_stays_s": split_s,
        "co_admissions_s": co_s,
        "ego_network_busiest_s": ego_s,
    }
    report(f"neo4j load, {server}, {data}, batch {args.batch_size}", figures, {})
    print(json.dumps(figures))


def _busiest_institution(data: Path) -> str:
    from graphdetect import read_folder

    claims = read_folder(data).claims
    return str(claims["institution_id"].value_counts().index[0])


if __name__ == "__main__":
    main()
