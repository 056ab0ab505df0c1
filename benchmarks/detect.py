"""Time ``graphdetect detect`` as a whole process on generated data.

Budgets (issue 3): 1M claims in <= 15 s; 10M claims / 1M patients in <= 60 s wall and
<= 4 GB peak RSS on a 2-core machine. ``--patients 110000`` gives about 1M claims,
``--patients 1000000`` about 9-10M.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from _common import data_arguments, ensure_data, report


def run_detect(data: Path, out: Path) -> dict:
    """Run the CLI in a fresh process; wall time and peak RSS from /usr/bin/time."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = ["/usr/bin/time", "-f", "%M", sys.executable, "-m", "graphdetect.cli", "detect",
           str(data), "--out", str(out), "--quiet"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(proc.stderr)
    peak_kb = int(proc.stderr.strip().splitlines()[-1])
    summary = json.loads((out / "summary.json").read_text())
    claims = sum(f["accepted"] for f in summary["inputs"].values() if f["table"] == "claims")
    return {"claims": claims, "cases": summary["cases"],
            "wall_s": round(wall, 2), "peak_rss_gb": round(peak_kb / 1024**2, 2),
            "stages": summary["timings"]}


def main() -> None:
    args = data_arguments(__doc__, 110_000)
    data = ensure_data(args.patients, args.format, args.seed)
    figures = run_detect(data, Path(str(data) + "-run"))
    big = figures["claims"] >= 5_000_000
    budgets = {"wall_s": 60, "peak_rss_gb": 4} if big else {"wall_s": 15}
    stages = figures.pop("stages")
    report(f"graphdetect detect, {figures['claims']:,} claims ({args.format})", figures, budgets)
    print("  stages: " + ", ".join(f"{k} {v}s" for k, v in stages.items()))


if __name__ == "__main__":
    main()
