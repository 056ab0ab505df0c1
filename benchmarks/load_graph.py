"""Read a data folder and build the ClaimsGraph with the matrices detection uses.

Budget (issue 2): 10M claims / 1M patients from Parquet in <= 60 s and <= 6 GB peak RSS.
"""

from __future__ import annotations

from _common import data_arguments, ensure_data, measure, report

CODE = """
import json, time
from graphdetect import read_folder
from graphdetect.graph import ClaimsGraph
t0 = time.perf_counter()
data = read_folder({path!r})
t1 = time.perf_counter()
g = ClaimsGraph.from_data(data)
g.incidence("patient", "doctor"); g.incidence("patient", "institution")
g.incidence("card", "terminal")
g.bucket_incidence("patient", "institution"); g.bucket_incidence("patient", "doctor")
g.sessions(by="terminal")
t2 = time.perf_counter()
print(json.dumps({{"claims": len(g), "patients": g.n("patient"), "rejected": len(data.rejects),
                  "read_s": round(t1 - t0, 2), "graph_s": round(t2 - t1, 2)}}))
"""


def main() -> None:
    args = data_arguments(__doc__, 1_000_000)
    path = ensure_data(args.patients, args.format, args.seed)
    figures = measure(CODE.format(path=str(path)))
    report(f"load + graph, {args.format}, {path}", figures,
           {"wall_s": 60, "peak_rss_gb": 6} if args.format == "parquet" else {})


if __name__ == "__main__":
    main()
