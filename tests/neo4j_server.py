"""A real Bolt server for the Neo4j tests: ArcadeDB (``arcadedb-embedded``) in a subprocess.

No Neo4j server package can be installed here, but ArcadeDB speaks Bolt and Neo4j 5
Cypher, and the official ``neo4j`` driver talks to it. The server runs in its own
process (its JVM never enters the test process), listens on 127.0.0.1 only, and stops
when the session ends, or by itself within a second when the test process dies.

Run by hand: ``python tests/neo4j_server.py --port 7687 --root /tmp/adb`` prints
``READY`` once the database ``neo4j`` (user ``root``) accepts connections.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

USER = "root"
DATABASE = "neo4j"
STARTUP_S = 120


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ArcadeServer:
    """A running server process and how to reach it."""

    process: subprocess.Popen
    uri: str
    password: str
    root: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


def start(root: Path, password: str) -> ArcadeServer:
    """Start the server under ``root``; raise ``RuntimeError`` with its log if it fails."""
    import arcadedb_embedded  # noqa: F401  (fail here, plainly, when it is not installed)

    root.mkdir(parents=True, exist_ok=True)
    port, http_port = free_port(), free_port()
    env = dict(os.environ, GRAPHDETECT_TEST_ARCADEDB_PASSWORD=password,
               GRAPHDETECT_TEST_PARENT_PID=str(os.getpid()))
    with open(root / "server.log", "w") as log:
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--port", str(port),
             "--http-port", str(http_port), "--root", str(root)],
            cwd=root, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
            text=True, env=env)
    server = ArcadeServer(proc, f"bolt://127.0.0.1:{port}", password, root)
    deadline = time.monotonic() + STARTUP_S
    line = ""
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        if line.strip() == "READY":
            return server
    server.stop()
    tail = (root / "server.log").read_text(errors="replace")[-3000:]
    raise RuntimeError(f"ArcadeDB did not start (exit {proc.returncode}): {line!r}\n{tail}")


def _serve(port: int, http_port: int, root: Path) -> None:
    from arcadedb_embedded.server import ArcadeDBServer

    server = ArcadeDBServer(
        str(root / "data"), root_password=os.environ["GRAPHDETECT_TEST_ARCADEDB_PASSWORD"],
        config={"server_plugins": "Bolt:com.arcadedb.bolt.BoltProtocolPlugin",
                "bolt_port": port, "http_port": http_port, "host": "127.0.0.1"},
        jvm_kwargs={"heap_size": "1g"})
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.start()
    try:
        server.create_database(DATABASE)
        print("READY", flush=True)
        parent = int(os.environ.get("GRAPHDETECT_TEST_PARENT_PID") or os.getppid())
        while os.getppid() == parent:  # end with the test session, even a killed one
            time.sleep(1)
    finally:
        server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--http-port", type=int, default=0)
    parser.add_argument("--root", type=Path, required=True)
    args = parser.parse_args()
    os.environ.setdefault("GRAPHDETECT_TEST_ARCADEDB_PASSWORD", "arcadedb-test")
    _serve(args.port, args.http_port or free_port(), args.root)


# -- test data and a clean database, for tests/graphdb/ ----------------------------------
def sample_slice(out: Path, sample: Path) -> Path:
    """A slice of the sample: every patient with two or more inpatient stays (so every
    concurrent or split stay is in it), every 40th other patient, and two bad rows."""
    import csv
    import shutil
    from collections import defaultdict

    from conftest import good_row

    out.mkdir(parents=True)
    with open(sample / "claims.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    stays = defaultdict(int)
    for r in rows:
        stays[r["patient_id"]] += r["visit_type"] == "inpatient"
    people = sorted({r["patient_id"] for r in rows})
    keep = {p for p in people if stays[p] >= 2} | set(people[::40])
    kept = [r for r in rows if r["patient_id"] in keep]
    bad = [good_row(1, claim_id="ZZ-BAD-1", total_amount="-5"),
           good_row(2, claim_id="ZZ-BAD-2", visit_type="inpatient", end_time="")]
    _write(out / "claims.csv", kept + bad, list(rows[0]))
    with open(sample / "patients.csv", encoding="utf-8", newline="") as f:
        patients = [r for r in csv.DictReader(f) if r["patient_id"] in keep]
    _write(out / "patients.csv", patients, list(patients[0]))
    for name in ("institutions.csv", "doctors.csv"):
        shutil.copy(sample / name, out / name)
    return out


def _write(path: Path, rows: list[dict], header: list[str]) -> None:
    import csv

    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, header, lineterminator="\n")
        w.writeheader()
        w.writerows({h: r.get(h, "") for h in header} for r in rows)


def empty(config) -> None:
    """Empty a real Neo4j database before the suite, if the user allows it."""
    import pytest

    from graphdetect.neo4j import connect, graph_counts

    with connect(config) as conn:
        if graph_counts(conn)["nodes"] and os.environ.get("GRAPHDETECT_NEO4J_TEST_WIPE") != "1":
            pytest.fail(f"database {config.database!r} at {config.safe_uri} is not empty; "
                        f"set GRAPHDETECT_NEO4J_TEST_WIPE=1 to let the tests delete it all")
        while conn.write("clear_database", batch_size=10_000)[0]["deleted"]:
            pass
