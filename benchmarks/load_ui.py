"""p95 latency of the review UI's JSON API under 20 concurrent users, on loopback only.

Starts ``graphdetect serve`` (waitress) on 127.0.0.1 for a run folder, logs in 20
sessions and has each request /api/cases and /api/cases/<id> in turn, a bounded number
of times. Target (issue 4): p95 below 300 ms.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

PASSWORD = "load-test-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def session(base: str) -> urllib.request.OpenerDirector:
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    page = opener.open(base + "/login", timeout=30).read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({"username": "load", "password": PASSWORD,
                                   "csrf_token": token}).encode()
    opener.open(base + "/login", data=body, timeout=30).read()
    return opener


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("run", type=Path, help="a run folder")
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--requests", type=int, default=50, help="requests per user")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    db = tmp / "review.sqlite"
    exe = [sys.executable, "-m", "graphdetect.cli"]
    subprocess.run([*exe, "users", "add", "load", "--role", "investigator", "--db", str(db)],
                   check=True, env={**os.environ, "GRAPHDETECT_PASSWORD": PASSWORD},
                   capture_output=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([*exe, "serve", str(args.run), "--db", str(db), "--port",
                               str(port), "--threads", "16"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/login", timeout=1).read()
                break
            except OSError:
                time.sleep(0.2)
        with open(args.run / "cases.jsonl", encoding="utf-8") as f:
            ids = [json.loads(line)["case_id"] for line in f][:50]
        sessions = [session(base) for _ in range(args.users)]
        for s in sessions[:1]:  # warm the claims graph once
            s.open(f"{base}/api/cases/{ids[0]}", timeout=120).read()
        timings: dict[str, list[float]] = {"/api/cases": [], "/api/cases/<id>": []}
        lock = threading.Lock()

        def work(k: int, opener) -> None:
            for i in range(args.requests):
                path, key = (("/api/cases", "/api/cases") if i % 2 == 0 else
                             (f"/api/cases/{ids[(k + i) % len(ids)]}", "/api/cases/<id>"))
                t0 = time.perf_counter()
                opener.open(base + path, timeout=30).read()
                with lock:
                    timings[key].append(time.perf_counter() - t0)

        threads = [threading.Thread(target=work, args=(k, s)) for k, s in enumerate(sessions)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
    finally:
        server.terminate()
        server.wait(timeout=10)
    total = sum(len(v) for v in timings.values())
    print(f"{args.users} users x {args.requests} requests on {base}: {total} requests in "
          f"{wall:.1f} s ({total / wall:.0f}/s)")
    for key, values in timings.items():
        q = statistics.quantiles(values, n=100)
        print(f"  {key:<18} p50 {q[49] * 1000:6.0f} ms   p95 {q[94] * 1000:6.0f} ms   "
              f"p99 {q[98] * 1000:6.0f} ms   (target p95 < 300 ms)")


if __name__ == "__main__":
    main()
