"""What linking a run to its predecessor (``detect --previous``) adds to ``detect``.

Budget (issue 11): linking a 10M-claim run to its predecessor adds <= 10% to ``detect``.

Two runs of one generated city: the earlier run sees all but the last ``--cut-days`` days
of claims, the later one sees them all and links to the earlier one. Each detect runs in
a fresh process; the later run's ``link`` stage (read and hash the earlier run's
``cases.jsonl``, match, key) is compared with the sum of its stages and with its wall
time. ``--patients 110000`` gives about 1M claims, ``--patients 1000000`` about 10M.
"""

from __future__ import annotations

import collections
import json
import shutil
from pathlib import Path

from _common import ROOT, data_arguments, ensure_data, measure, report

DETECT = """
import json
from graphdetect.run import detect_folder
s = detect_folder({data!r}, {out!r}, previous={previous!r})
print(json.dumps({{"timings": s["timings"], "cases": s["cases"]}}))
"""


def cut(data: Path, days: int) -> Path:
    """A copy of the data folder without the claims of its last ``days`` days (cached)."""
    from datetime import datetime, timedelta

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    out = ROOT / f"{data.name}-first-{days}d-off"
    if (out / "claims.parquet").exists():
        return out
    out.mkdir(parents=True, exist_ok=True)
    for f in data.iterdir():
        if f.name != "claims.parquet" and f.is_file():
            shutil.copyfile(f, out / f.name)
    claims = pq.read_table(data / "claims.parquet")
    last = pc.max(claims["start_time"]).as_py()
    cutoff = datetime(last.year, last.month, last.day) - timedelta(days=days - 1)
    start = claims["start_time"]
    pq.write_table(claims.filter(pc.less(start, pa.scalar(cutoff, type=start.type))),
                   out / "claims.parquet")
    return out


def main() -> None:
    args = data_arguments(__doc__, 110_000)
    if args.format != "parquet":
        raise SystemExit("benchmarks/lineage.py cuts Parquet data only; use --format parquet")
    data = ensure_data(args.patients, args.format, args.seed)
    earlier_data = cut(data, 30)
    earlier, later = (Path(f"{d}-lineage-run") for d in (earlier_data, data))
    for run in (earlier, later):
        shutil.rmtree(run, ignore_errors=True)
    first = measure(DETECT.format(data=str(earlier_data), out=str(earlier), previous=None))
    second = measure(DETECT.format(data=str(data), out=str(later), previous=str(earlier)))
    stages = second["timings"]
    states = collections.Counter(
        json.loads(line)["lineage"]["state"]
        for line in (later / "cases.jsonl").read_text(encoding="utf-8").splitlines())
    summary = json.loads((later / "summary.json").read_text(encoding="utf-8"))
    claims = sum(f["accepted"] for f in summary["inputs"].values() if f["table"] == "claims")
    figures = {"claims": claims, "earlier_cases": first["cases"], "cases": second["cases"],
               "link_s": stages["link"], "detect_s": round(sum(stages.values()), 2),
               "detect_wall_s": second["wall_s"],
               "link_share_pct": round(100 * stages["link"] / sum(stages.values()), 2)}
    report(f"detect --previous, {claims:,} claims", figures, {"link_share_pct": 10})
    print("  states: " + ", ".join(f"{k} {v}" for k, v in sorted(states.items())))
    print("  stages: " + ", ".join(f"{k} {v}s" for k, v in stages.items()))


if __name__ == "__main__":
    main()
