"""graphdetect against the pipeline a user would write with networkx, on the same claims.

The baseline: read the claims with pandas, build the bipartite graph of patients and
(institution, day) visits, project it onto patients with co-visit counts as weights,
and run ``networkx.community.louvain_communities``. It finds communities only — no
scoring, no evidence — so the comparison flatters it. Target (issue 3): graphdetect's
whole ``detect`` at least 20x faster on 1M claims.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from _common import ensure_data
from detect import run_detect

BASELINE = """
import pandas as pd, networkx as nx, glob
from networkx.algorithms import bipartite
path = glob.glob({data!r} + "/claims.*")[0]
c = pd.read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path)
c["bucket"] = c["institution_id"].astype(str) + "|" + c["start_time"].astype(str).str[:10]
B = nx.Graph()
patients = c["patient_id"].astype(str).unique()
B.add_nodes_from(patients, bipartite=0)
B.add_nodes_from(c["bucket"].unique(), bipartite=1)
B.add_edges_from(zip(c["patient_id"].astype(str), c["bucket"]))
P = bipartite.weighted_projected_graph(B, patients)
groups = nx.community.louvain_communities(P, weight="weight", seed=0)
print(len(groups), P.number_of_edges())
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--patients", type=int, default=110_000)
    ap.add_argument("--timeout", type=int, default=3600,
                    help="Stop the baseline after this many seconds (then the ratio is a "
                         "lower bound).")
    args = ap.parse_args()
    data = ensure_data(args.patients, "parquet")
    ours = run_detect(data, Path(str(data) + "-run"))
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-c", BASELINE.format(data=str(data))],
                              capture_output=True, text=True, timeout=args.timeout)
        base, done = time.perf_counter() - t0, proc.returncode == 0
        note = proc.stdout.strip() if done else proc.stderr.strip()[-300:]
    except subprocess.TimeoutExpired:
        base, done, note = float(args.timeout), False, "timed out"
    ratio = base / ours["wall_s"]
    print(f"claims: {ours['claims']:,}")
    print(f"graphdetect detect (all detectors, cases written): {ours['wall_s']} s")
    print(f"networkx projection + louvain: {base:.1f} s ({'finished' if done else note})")
    print(f"ratio: {'>=' if not done else ''}{ratio:.0f}x  (target >= 20x)")


if __name__ == "__main__":
    main()
