"""Time ``graphdetect detect`` as a whole process against a bare Parquet read, at three sizes.

Budgets (issue 13), on the 2-core machine:

- ``detect`` on ~10M claims <= 6x a bare ``pyarrow.parquet.read_table`` of the same claims
  file, timed in the same run (moonshot 4x), and <= 60 s wall;
- the read stage (validation, rejects, typed columns, dense ids) <= 2x the bare read;
- peak RSS <= 3 GB at ~10M claims; the graph's arrays and matrices <= 64 bytes a claim;
- every stage's time grows linearly with the claims (its slope is printed, with its time per
  million claims at each size); no stage above 25 % of the whole.

``--patients 100000 300000 1000000`` (the default) gives about 1M, 3M and 10M claims; data
is generated once under /tmp/graphdetect-bench/. Each figure comes from a fresh process.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ensure_data, process_tree, rss

BARE_READ = """
import json, sys, time
import pyarrow.parquet as pq
t0 = time.perf_counter()
t = pq.read_table(sys.argv[1])
print(json.dumps({"seconds": time.perf_counter() - t0, "rows": t.num_rows}))
"""

# The ClaimsGraph after every detector has run: the per-claim arrays it holds (entity codes,
# days, seconds, visit types, amounts) and the sparse matrices detectors asked it for.
GRAPH_BYTES = """
import json, sys
import numpy as np
from graphdetect import read_folder
from graphdetect.detectors import REGISTRY
from graphdetect.graph import ClaimsGraph
g = ClaimsGraph.from_data(read_folder(sys.argv[1]))
for name in sorted(REGISTRY):
    REGISTRY[name].func(g)
arrays = sum(a.nbytes for a in g._codes.values())
arrays += sum(v.nbytes for v in vars(g).values() if isinstance(v, np.ndarray))
matrices = sum(m.data.nbytes + m.indices.nbytes + m.indptr.nbytes
               for cache in (g._members, g._incidence) for m in cache.values())
print(json.dumps({"claims": len(g), "arrays": arrays, "matrices": matrices}))
"""


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """Run ``cmd`` in a fresh process: wall seconds, peak RSS (GB) and its stdout (a
    line or two). The peak is the larger of the process's own (the kernel's count) and
    the sum over the process and its children (a large ring search's Leiden child),
    sampled every 0.1 s from /proc."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        tree = 0
        while True:
            # wait4 reaps this child alone: its own peak RSS, not the maximum over all
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            tree = max(tree, sum(rss(p) for p, _ in process_tree(proc.pid)))
            time.sleep(0.1)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            err.seek(0)
            raise SystemExit(f"{' '.join(cmd)} failed:\n{err.read()}")
        out.seek(0)
        return wall, max(usage.ru_maxrss * 1024, tree) / 1024**3, out.read()


def measure(data: Path, repeat: int) -> dict:
    claims = data / "claims.parquet"

    def bare_read() -> float:
        return json.loads(timed([sys.executable, "-c", BARE_READ, str(claims)])[2])["seconds"]

    # a bare read before each detect run (and at least three), so that both are timed in
    # the same spell of a shared machine, whose speed moves by a third within the hour
    bare_read()     # the file into the page cache
    bare = [bare_read() for _ in range(max(3 - repeat, 0))]
    runs = []
    for _ in range(repeat):
        bare.append(bare_read())
        out = Path(f"{data}-run")
        shutil.rmtree(out, ignore_errors=True)
        wall, peak, _ = timed([sys.executable, "-m", "graphdetect.cli", "detect", str(data),
                               "--out", str(out), "--quiet"])
        summary = json.loads((out / "summary.json").read_text())
        runs.append((wall, peak, summary))
    wall, peak, summary = sorted(runs, key=lambda r: r[0])[len(runs) // 2]   # the median run
    stages = dict(summary["timings"])
    # the detectors run side by side within `detect`: their own times are not added up
    whole = sum(v for k, v in stages.items() if k in TOP)
    stages["start-up, writing, the rest"] = round(wall - whole, 3)
    claims = sum(f["accepted"] for f in summary["inputs"].values() if f["table"] == "claims")
    return {"claims": claims, "cases": summary["cases"],
            "bare_read_s": statistics.median(bare), "wall_s": wall,
            "walls": sorted(r[0] for r in runs), "peak_rss_gb": peak, "stages": stages}


#: The stages of a run one after another; the others are parts of `detect`.
TOP = ("read", "graph", "detect", "cases", "link")


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ys on xs."""
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / \
        sum((x - mx) ** 2 for x in xs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--patients", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1, help="detect runs per size (median)")
    ap.add_argument("--no-bytes", action="store_true",
                    help="skip the in-process count of the graph's bytes per claim")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    # graphdetect's bytecode written once, as an installed wheel has it: with
    # PYTHONDONTWRITEBYTECODE set (as on some build machines) a checkout's modules would
    # be compiled again by every run, some 0.25 s of each
    import graphdetect
    compileall.compile_dir(Path(graphdetect.__file__).parent, quiet=1)
    sizes = []
    for patients in args.patients:
        data = ensure_data(patients, "parquet", args.seed)
        m = measure(data, args.repeat)
        if not args.no_bytes:
            b = json.loads(timed([sys.executable, "-c", GRAPH_BYTES, str(data)])[2])
            m["graph_bytes_per_claim"] = {k: round(b[k] / b["claims"], 1)
                                          for k in ("arrays", "matrices")}
        sizes.append(m)
        print(f"{m['claims']:,} claims: detect {m['wall_s']:.1f} s "
              f"(runs {', '.join(f'{w:.1f}' for w in m['walls'])}), bare read "
              f"{m['bare_read_s']:.2f} s, peak {m['peak_rss_gb']:.2f} GB", flush=True)
    report(sizes)
    if args.json:
        args.json.write_text(json.dumps(sizes, indent=2) + "\n")


def report(sizes: list[dict]) -> None:
    names = list(sizes[-1]["stages"])
    parts = [n for n in names if n not in TOP and not n.startswith("start")]
    names = [n for n in ("read", "graph", "detect", *parts, "cases", "link") if n in names] \
        + [n for n in names if n.startswith("start")]
    millions = [s["claims"] / 1e6 for s in sizes]
    head = "".join(f"{c:>14.2f}M" for c in millions)
    print(f"\n{'stage (s)':<32}{head}   slope s/M claims   s/M at each size")
    for name in names:
        ys = [s["stages"].get(name, 0.0) for s in sizes]
        per = " ".join(f"{y / c:.2f}" for y, c in zip(ys, millions, strict=True))
        b = slope(millions, ys) if len(sizes) > 1 else float("nan")
        label = name if name in TOP or name.startswith("start") else f"  {name}"
        print(f"{label:<32}" + "".join(f"{y:>15.2f}" for y in ys) + f"   {b:>8.3f}"
              f"           {per}")
    print(f"{'detect, whole process':<32}" + "".join(f"{s['wall_s']:>15.2f}" for s in sizes))
    print(f"{'bare read_table':<32}" + "".join(f"{s['bare_read_s']:>15.2f}" for s in sizes))
    big = sizes[-1]
    ratio = big["wall_s"] / big["bare_read_s"]
    read_ratio = big["stages"]["read"] / big["bare_read_s"]
    # a stage's share: of the top-level stages, and of each detector's own time
    top = max(names, key=lambda n: big["stages"][n] if n != "detect" else 0)
    share = big["stages"][top] / big["wall_s"]
    checks = [
        ("detect / bare read", f"{ratio:.1f}x", ratio <= 6, "<= 6x (moonshot 4x)"),
        ("read stage / bare read", f"{read_ratio:.1f}x", read_ratio <= 2, "<= 2x"),
        ("detect wall", f"{big['wall_s']:.1f} s", big["wall_s"] <= 60, "<= 60 s"),
        ("peak RSS", f"{big['peak_rss_gb']:.2f} GB", big["peak_rss_gb"] <= 3, "<= 3 GB"),
        ("largest stage", f"{top} {share:.0%}", share <= 0.25, "<= 25 %"),
    ]
    if "graph_bytes_per_claim" in big:
        per = big["graph_bytes_per_claim"]
        checks.append(("graph bytes per claim",
                       f"{per['arrays']:.0f} arrays + {per['matrices']:.0f} matrices",
                       per["matrices"] <= 64, "matrices <= 64"))
    print(f"\nat {big['claims']:,} claims")
    for name, value, ok, budget in checks:
        print(f"  {name:<24} {value:<28} {'ok' if ok else 'OVER'}  ({budget})")


if __name__ == "__main__":
    main()
