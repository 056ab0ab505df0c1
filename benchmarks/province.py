"""How far the embedded engine goes on one machine: a province as partitioned Parquet.

A province is made of generated cities (``--patients`` people each, seeds 1, 2, ...), each
city's ids prefixed with its number so that no two cities share a person, a doctor, a
place or a claim, and written once as a partitioned dataset under
/tmp/graphdetect-bench/province/ (``claims/city=K/part-0.parquet``, the same for the side
tables). ``--run 1 2 4`` then runs ``graphdetect detect`` on the first 1, 2 and 4 cities,
each in a fresh process, and prints wall time, peak RSS and the stage breakdown.

A run whose resident memory passes ``--stop-gb`` (default 21 of the machine's 24 GB) is
stopped there, before the kernel's out-of-memory killer picks a victim, and reported with
the stage it had reached: that is the size at which the embedded engine stops.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from _common import ROOT

HOME = ROOT / "province"
TABLES = ("claims", "patients", "institutions", "doctors")
ID_COLUMNS = ("claim_id", "patient_id", "institution_id", "doctor_id", "card_id",
              "terminal_id", "operator_id")


def city(k: int, patients: int) -> Path:
    """City ``k`` (0-based), generated and prefixed once."""
    done = HOME / f"city-{k}-p{patients}"
    if (done / "claims.parquet").exists():
        return done
    from graphdetect.synth import generate

    src = HOME / f".src-{k}"
    print(f"generating city {k} ({patients:,} people, seed {k + 1}) ...", file=sys.stderr)
    generate(src, patients=patients, seed=k + 1, fmt="parquet")
    tmp = HOME / f".city-{k}"
    tmp.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        table = pq.read_table(src / f"{name}.parquet")
        for i, col in enumerate(table.column_names):
            if col in ID_COLUMNS:
                prefixed = pc.binary_join_element_wise(pa.scalar(f"c{k}-"),
                                                       table.column(col).cast(pa.string()), "")
                table = table.set_column(i, col, prefixed)
        pq.write_table(table, tmp / f"{name}.parquet")
    shutil.rmtree(src)
    tmp.rename(done)
    return done


def province(cities: int, patients: int) -> Path:
    """A data folder of the first ``cities`` cities, hard links to each city's files."""
    view = HOME / f"view-{cities}x{patients}"
    if view.exists():
        shutil.rmtree(view)
    for k in range(cities):
        src = city(k, patients)
        for name in TABLES:
            part = view / name / f"city={k}"
            part.mkdir(parents=True)
            os.link(src / f"{name}.parquet", part / "part-0.parquet")
    return view


def run(data: Path, stop_gb: float) -> dict:
    """``graphdetect detect`` on ``data`` in a fresh process, watched for memory."""
    out = Path(f"{data}-run")
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "graphdetect.cli", "detect", str(data), "--out", str(out)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    last = {"line": "", "stopped": False}

    def follow():
        for line in proc.stderr:
            last["line"] = line.strip()[-120:] or last["line"]

    threading.Thread(target=follow, daemon=True).start()
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if rss_gb(proc.pid) > stop_gb:
            last["stopped"] = True
            proc.kill()
            _, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.2)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    peak = usage.ru_maxrss / 1024**2
    if last["stopped"]:
        return {"stopped": f"resident memory passed {stop_gb} GB", "at": last["line"],
                "wall_s": round(wall, 1), "peak_rss_gb": round(peak, 2)}
    if proc.returncode:
        raise SystemExit(f"detect failed ({proc.returncode}): {last['line']}")
    summary = json.loads((out / "summary.json").read_text())
    claims = sum(f["accepted"] for f in summary["inputs"].values() if f["table"] == "claims")
    return {"claims": claims, "cases": summary["cases"],
            "wall_s": round(wall, 1), "peak_rss_gb": round(peak, 2),
            "stages": summary["timings"]}


def rss_gb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--patients", type=int, default=1_000_000, help="people per city")
    ap.add_argument("--run", type=int, nargs="+", default=[1, 2, 4, 10],
                    help="numbers of cities to detect on, in turn")
    ap.add_argument("--stop-gb", type=float, default=21.0)
    args = ap.parse_args()
    HOME.mkdir(parents=True, exist_ok=True)
    for n in args.run:
        data = province(n, args.patients)
        figures = run(data, args.stop_gb)
        print(json.dumps({"cities": n, **figures}), flush=True)
        if "stopped" in figures:
            break


if __name__ == "__main__":
    main()
