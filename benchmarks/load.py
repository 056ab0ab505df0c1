"""The review UI under investigators: queue, case page and case JSON, p50/p95/p99.

Generates a city (20,000 people by default, cached under /tmp/graphdetect-bench), runs
detection into a temporary folder, adds one investigator per simulated user and starts
``graphdetect serve`` (waitress, 8 threads) on 127.0.0.1. Each user logs in with its own
cookie jar and, for ``--seconds``, loops: the queue, a random case page, that case's JSON.

Two modes, one after the other:

- ``realistic``: each user thinks 1-3 s (uniform) before every request;
- ``hammer``: the same users without pause.

Target (issue 10): realistic p95 of the queue below 300 ms.

    .venv/bin/python benchmarks/load.py --users 20 --seconds 60
"""

from __future__ import annotations

import argparse
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

ENDPOINTS = ("queue", "case page", "case JSON")
TARGET_MS = 300



def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

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


def simulate(base: str, openers: list, ids: list[str], seconds: float, think: bool,
             seed: int) -> dict:
    """Every user loops queue -> case page -> case JSON for ``seconds``; timings per endpoint."""
    timings = {e: [] for e in ENDPOINTS}
    errors: list[str] = []
    lock = threading.Lock()

    def user(k: int, opener) -> None:
        rng = random.Random(seed * 1000 + k)
        mine = {e: [] for e in ENDPOINTS}
        wrong: list[str] = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            case = rng.choice(ids)
            for endpoint, path in zip(ENDPOINTS, ("/", f"/cases/{case}", f"/api/cases/{case}"),
                                      strict=True):
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
            "endpoints": {e: summary(v) for e, v in timings.items()}}


def summary(values: list[float]) -> dict:
    if len(values) < 2:
        return {"n": len(values)}
    q = statistics.quantiles(values, n=100, method="inclusive")
    ms = lambda v: round(v * 1000, 1)  # noqa: E731
    return {"n": len(values), "p50_ms": ms(q[49]), "p95_ms": ms(q[94]), "p99_ms": ms(q[98]),
            "max_ms": ms(max(values))}


def table(mode: str, result: dict) -> str:
    lines = [f"{mode}: {result['wall_s']} s, {result['errors']} errors",
             f"  {'endpoint':<10} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}"]
    for e, s in result["endpoints"].items():
        if s["n"] < 2:
            lines.append(f"  {e:<10} {s['n']:>6}")
            continue
        lines.append(f"  {e:<10} {s['n']:>6} {s['p50_ms']:>8} {s['p95_ms']:>8} "
                     f"{s['p99_ms']:>8} {s['max_ms']:>8}")
    return "\n".join(lines)


def prepare(patients: int, seed: int, users: int, tmp: Path) -> tuple[Path, Path, str]:
    """A run folder of generated data and a review database with ``users`` investigators."""
    from graphdetect.review.store import ReviewStore
    from graphdetect.run import detect_folder

    data = ensure_data(patients, "csv", seed)
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
    ap.add_argument("--out", type=Path, default=ROOT / "load.json")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="graphdetect-load-"))
    run, db, password = prepare(args.patients, args.seed, args.users, tmp)
    with open(run / "cases.jsonl", encoding="utf-8") as f:
        ids = [json.loads(line)["case_id"] for line in f]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "graphdetect.cli", "serve", str(run), "--db", str(db),
         "--port", str(port), "--threads", str(args.threads)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = {"users": args.users, "seconds": args.seconds, "threads": args.threads,
               "patients": args.patients, "cases": len(ids), "cpus": os.cpu_count(),
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
            result = simulate(base, openers, ids, args.seconds, mode == "realistic", args.seed)
            results["modes"][mode] = result
            print(table(mode, result), flush=True)
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
