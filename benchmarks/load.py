"""The review UI under investigators: queue, case page and case JSON, p50/p95/p99.

Generates a city (20,000 people by default, cached under /tmp/graphdetect-bench), runs
detection into a temporary folder, adds one investigator per simulated user and starts
``graphdetect serve`` (waitress, 8 threads) on 127.0.0.1. Each user logs in with its own
cookie jar and, for ``--seconds``, loops: the queue, a random case page, that case's JSON.

Two modes, one after the other:

- ``realistic``: each user thinks 1-3 s (uniform) before every request;
- ``hammer``: the same users without pause.

Target (issue 10): realistic p95 of the queue below 300 ms.

With ``--runs 12`` the same city is cut into 12 cumulative months (the claims of its
first month, its first two, ...), each detected with ``--previous`` the one before, and
the 12 linked runs are served together (``graphdetect serve RUNS_DIR``; cached under
/tmp/graphdetect-bench). Users work the newest run; one loop in ten, a user looks back:
the queue of a random older run, one of its case pages (its claims graph is built, and
the server keeps two), then the newest run's queue again. Target (issue 11): realistic
queue p95 below 300 ms over 12 runs.

    .venv/bin/python benchmarks/load.py --users 20 --seconds 60
    .venv/bin/python benchmarks/load.py --users 20 --seconds 60 --runs 12
"""

from __future__ import annotations

import argparse
import csv
import http.cookiejar
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from _common import ROOT, ensure_data

ENDPOINTS = ("queue", "case page", "case JSON", "case page, older run")
TARGET_MS = 300
#: In a multi-run load, the share of loops in which a user looks at an older run.
LOOK_BACK = 0.1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def peak_rss_mb(pid: int) -> float | None:
    """A live process's peak resident memory (Linux ``VmHWM``), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def login(base: str, name: str, password: str) -> urllib.request.OpenerDirector:
    """A logged-in opener with its own cookie jar."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    page = opener.open(base + "/login", timeout=30).read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({"username": name, "password": password,
                                   "csrf_token": token}).encode()
    landed = opener.open(base + "/login", data=body, timeout=30)
    if urllib.parse.urlsplit(landed.geturl()).path != "/":
        raise SystemExit(f"{name} could not log in")
    return opener


def visit(opener, base: str, path: str, timings: list[float], errors: list[str]) -> None:
    t0 = time.perf_counter()
    try:
        with opener.open(base + path, timeout=60) as res:
            res.read()
    except (urllib.error.URLError, OSError) as exc:
        errors.append(f"{path}: {exc}")
        return
    timings.append(time.perf_counter() - t0)


def clicks(runs: dict[str, list[str]], newest: str):
    """One loop of a user's clicks, ``(endpoint, path)``: queue, a case page and its JSON
    of the newest run, or (in one loop of :data:`LOOK_BACK`, when there are older runs)
    an older run's queue and case page, then the newest run's queue again."""
    older = [r for r in runs if r != newest and runs[r]]

    def loop(rng: random.Random) -> list[tuple[str, str]]:
        if older and rng.random() < LOOK_BACK:
            run = rng.choice(older)
            return [("queue", f"/?run={run}"),
                    ("case page, older run", f"/cases/{rng.choice(runs[run])}"),
                    ("queue", f"/?run={newest}")]
        case = rng.choice(runs[newest])
        return [("queue", "/"), ("case page", f"/cases/{case}"),
                ("case JSON", f"/api/cases/{case}")]
    return loop


def simulate(base: str, openers: list, loop, seconds: float, think: bool, seed: int) -> dict:
    """Every user repeats ``loop(rng)``'s clicks for ``seconds``; timings per endpoint."""
    timings = {e: [] for e in ENDPOINTS}
    errors: list[str] = []
    lock = threading.Lock()

    def user(k: int, opener) -> None:
        rng = random.Random(seed * 1000 + k)
        mine = {e: [] for e in ENDPOINTS}
        wrong: list[str] = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for endpoint, path in loop(rng):
                if think:  # before each click, so that the users do not start in lockstep
                    time.sleep(rng.uniform(1.0, 3.0))
                if time.monotonic() >= end:
                    break
                visit(opener, base, path, mine[endpoint], wrong)
        with lock:
            for e in ENDPOINTS:
                timings[e] += mine[e]
            errors.extend(wrong)

    threads = [threading.Thread(target=user, args=(k, o)) for k, o in enumerate(openers)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {"wall_s": round(wall, 1), "errors": len(errors), "first_errors": errors[:5],
            "endpoints": {e: summary(v) for e, v in timings.items() if v}}


def summary(values: list[float]) -> dict:
    if len(values) < 2:
        return {"n": len(values)}
    q = statistics.quantiles(values, n=100, method="inclusive")
    ms = lambda v: round(v * 1000, 1)  # noqa: E731
    return {"n": len(values), "p50_ms": ms(q[49]), "p95_ms": ms(q[94]), "p99_ms": ms(q[98]),
            "max_ms": ms(max(values))}


def table(mode: str, result: dict) -> str:
    lines = [f"{mode}: {result['wall_s']} s, {result['errors']} errors",
             f"  {'endpoint':<20} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}"]
    for e, s in result["endpoints"].items():
        if s["n"] < 2:
            lines.append(f"  {e:<20} {s['n']:>6}")
            continue
        lines.append(f"  {e:<20} {s['n']:>6} {s['p50_ms']:>8} {s['p95_ms']:>8} "
                     f"{s['p99_ms']:>8} {s['max_ms']:>8}")
    return "\n".join(lines)


def monthly_runs(data: Path, months: int, root: Path) -> Path:
    """``months`` linked runs of ``data``: run ``k`` reads the claims of its first ``k``
    calendar months and continues run ``k - 1``. Made once; the folder of runs."""
    from graphdetect.run import detect_folder

    with open(data / "claims.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    start = header.index("start_time")
    firsts = sorted({r[start][:7] for r in rows})[:months]
    previous = None
    for k, month in enumerate(firsts, 1):
        cut, run = root / "data" / f"month{k:02d}", root / "runs" / f"run{k:02d}"
        if not (run / "summary.json").is_file():
            cut.mkdir(parents=True, exist_ok=True)
            for table in data.glob("*.csv"):
                if table.name != "claims.csv":
                    (cut / table.name).write_bytes(table.read_bytes())
            with open(cut / "claims.csv", "w", encoding="utf-8", newline="") as g:
                w = csv.writer(g, lineterminator="\n")
                w.writerow(header)
                w.writerows(r for r in rows if r[start][:7] <= month)
            t0 = time.perf_counter()
            detect_folder(cut, run, previous=previous)
            print(f"detected {run} ({month}) in {time.perf_counter() - t0:.1f} s",
                  file=sys.stderr)
        previous = run
    return root / "runs"


def prepare(patients: int, seed: int, users: int, tmp: Path, runs: int = 1) \
        -> tuple[Path, Path, str]:
    """A run folder of generated data (or, with ``runs`` > 1, a folder of that many
    linked monthly runs) and a review database with ``users`` investigators."""
    from graphdetect.review.store import ReviewStore
    from graphdetect.run import detect_folder

    data = ensure_data(patients, "csv", seed)
    if runs > 1:
        run = monthly_runs(data, runs, ROOT / f"runs{runs}-p{patients}-s{seed}")
    else:
        run = tmp / "run"
        detect_folder(data, run)
    db = tmp / "review.sqlite"
    store = ReviewStore(db)
    password = "load-" + os.urandom(8).hex()
    for k in range(users):
        store.add_user(f"inv{k:02d}", "investigator", password)
    store.close()
    return run, db, password


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60.0, help="length of each mode")
    ap.add_argument("--patients", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=8, help="waitress worker threads")
    ap.add_argument("--modes", default="realistic,hammer")
    ap.add_argument("--runs", type=int, default=1,
                    help="serve this many linked monthly runs of the city (1: one run)")
    ap.add_argument("--out", type=Path, help="default: /tmp/graphdetect-bench/load.json "
                    "(load-runs12.json with --runs 12)")
    args = ap.parse_args()
    args.out = args.out or ROOT / ("load.json" if args.runs == 1 else f"load-runs{args.runs}.json")
    tmp = Path(tempfile.mkdtemp(prefix="graphdetect-load-"))
    run, db, password = prepare(args.patients, args.seed, args.users, tmp, args.runs)
    from graphdetect.runs import Runs

    served = Runs([run])
    cases = {r.run_id: [c["case_id"] for c in r.cases] for r in served}
    newest = served.newest.run_id
    ids = cases[newest]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "graphdetect.cli", "serve", str(run), "--db", str(db),
         "--port", str(port), "--threads", str(args.threads)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = {"users": args.users, "seconds": args.seconds, "threads": args.threads,
               "patients": args.patients, "runs": len(served), "cases": len(ids),
               "cases_all_runs": sum(map(len, cases.values())), "cpus": os.cpu_count(),
               "target": f"realistic queue p95 < {TARGET_MS} ms", "modes": {}}
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(base + "/login", timeout=1).read()
                break
            except OSError:
                time.sleep(0.2)
        openers = [login(base, f"inv{k:02d}", password) for k in range(args.users)]
        openers[0].open(f"{base}/cases/{ids[0]}", timeout=300).read()  # build the graph once
        for mode in args.modes.split(","):
            result = simulate(base, openers, clicks(cases, newest), args.seconds,
                              mode == "realistic", args.seed)
            results["modes"][mode] = result
            print(table(mode, result), flush=True)
        results["server_peak_rss_mb"] = peak_rss_mb(server.pid)
        print(f"server peak RSS {results['server_peak_rss_mb']} MB")
    finally:
        server.terminate()
        server.wait(timeout=10)
    realistic = results["modes"].get("realistic", {}).get("endpoints", {}).get("queue", {})
    if "p95_ms" in realistic:
        ok = realistic["p95_ms"] < TARGET_MS
        print(f"realistic queue p95 {realistic['p95_ms']} ms: "
              f"{'ok' if ok else 'OVER'} (target < {TARGET_MS} ms)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
