"""Time ``graphdetect detect --engine spark`` against the embedded engine on the same data.

Both run as whole ``graphdetect detect`` processes, one after the other in one run, so
the ratio compares like with like (the Spark figure includes starting the JVM). The run
folders must be the same bytes (cases.jsonl, entity_scores.csv, rejects.csv); the script
stops if they are not. Each engine's read stage is printed beside its wall time, and the
times of the detectors whose steps run on Spark: the stay detectors (their relational
steps) and card_pooling (the lockstep groups, which outpatient_gathering reuses; its
facts, case assembly and scoring are the same work on both). The graph and the other
detectors are the same work on both (see the README's "Engines").

``--patients 100000`` (the default) is about 1M claims, generated once under
/tmp/graphdetect-bench/.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ensure_data

SAME = ("cases.jsonl", "entity_scores.csv", "rejects.csv")


def run(data: Path, out: Path, *engine: str) -> dict:
    """One ``graphdetect detect`` process: its wall time and its summary's timings."""
    exe = Path(sys.executable).with_name("graphdetect")
    t0 = time.perf_counter()
    subprocess.run([str(exe), "detect", str(data), "--out", str(out), "--quiet", *engine],
                   check=True)
    wall = time.perf_counter() - t0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    timings = summary["timings"]
    return {"wall_s": round(wall, 2), "read_s": timings["read"],
            "stays_s": timings["detect.concurrent_stay"] + timings["detect.split_stay"],
            "pooling_s": timings["detect.card_pooling"],
            "rows": summary["rows"]["read"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE",
                    help="passed on to detect (10M claims on local[2] need "
                         "spark.driver.memory=12g: the driver collects the claims)")
    args = ap.parse_args()
    data = ensure_data(args.patients, args.format)
    tmp = Path(tempfile.mkdtemp(prefix="graphdetect-spark-bench-"))
    try:
        embedded = run(data, tmp / "embedded")
        conf = [x for kv in args.spark_conf for x in ("--spark-conf", kv)]
        spark = run(data, tmp / "spark", "--engine", "spark", "--master", args.master, *conf)
        for name in SAME:
            if (tmp / "embedded" / name).read_bytes() != (tmp / "spark" / name).read_bytes():
                raise SystemExit(f"{name} differs between the engines")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{data.name}: {embedded['rows']:,} rows read, outputs the same bytes")
    for name, r in (("embedded", embedded), (f"spark {args.master}", spark)):
        print(f"  {name:<18} wall {r['wall_s']:7.2f} s   read {r['read_s']:7.2f} s   "
              f"stay detectors {r['stays_s']:6.2f} s   card_pooling {r['pooling_s']:6.2f} s")
    print(f"  ratio spark/embedded: wall {spark['wall_s'] / embedded['wall_s']:.2f}x, "
          f"read {spark['read_s'] / embedded['read_s']:.2f}x")


if __name__ == "__main__":
    main()
