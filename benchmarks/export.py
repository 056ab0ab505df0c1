"""Time ``export_case`` on a 500-member case (budget, issue 5: under 10 s).

The case is made over real claims: after a real detection run on the data folder, the
institution with the most distinct patients hosts a crafted case whose members are the
first N of those patients, their doctors and the institution, and whose evidence is every
claim they have there. It is appended to a copy of the run folder, so the export reads
the real data files the run hashed. The export runs in a fresh process; the figure is the
time of ``export_case`` itself (imports excluded) and the whole process's wall time.

    .venv/bin/python benchmarks/export.py                      # datasets/sample, 500 members
    .venv/bin/python benchmarks/export.py --members 1000
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from _common import ROOT, measure, report

CODE = """
import json, time
from graphdetect.export import export_case, verify_package
t0, c0 = time.perf_counter(), time.process_time()
folder = export_case({run!r}, "BENCH-0001", {out!r})
t1, c1 = time.perf_counter(), time.process_time()
ok = verify_package(folder).ok
t2 = time.perf_counter()
files = json.loads((folder / "manifest.json").read_text())["files"]
print(json.dumps({{"export_s": round(t1 - t0, 2), "export_cpu_s": round(c1 - c0, 2),
                  "verify_s": round(t2 - t1, 2),
                  "verified": ok, "files": len(files),
                  "pdf_mb": round((folder / "report.pdf").stat().st_size / 1e6, 2)}}))
"""


def big_case(data: Path, run: Path, members: int) -> dict:
    """A case of ``members`` patients (plus their doctors and host) over real claims."""
    from graphdetect import read_folder

    claims = read_folder(data).claims
    c = claims.assign(**{k: claims[k].astype(str) for k in ("patient_id", "institution_id",
                                                            "doctor_id", "claim_id")})
    host = c.groupby("institution_id")["patient_id"].nunique().idxmax()
    here = c[c["institution_id"] == host]
    patients = sorted(here["patient_id"].unique())[:members]
    if len(patients) < members:
        raise SystemExit(f"{host} has only {len(patients)} patients; use bigger data")
    evidence = here[here["patient_id"].isin(patients)]
    doctors = sorted(d for d in evidence["doctor_id"].unique() if d != "nan")
    summary = json.loads((run / "summary.json").read_text())
    return {
        "case_id": "BENCH-0001", "pattern": "collusion_ring", "score": 0.99,
        "members": [{"kind": "institution", "id": host, "role": "host"}]
        + [{"kind": "doctor", "id": d, "role": "hub"} for d in doctors]
        + [{"kind": "patient", "id": p, "role": "member"} for p in patients],
        "claim_ids": sorted(evidence["claim_id"]),
        "rules": ["聚集性就医", "集中入院", "医患合谋", "费用雷同"],
        "explanation": f"基准测试案件：{len(patients)}名患者在{host}的全部结算。",
        "explanation_en": f"Benchmark case: every claim of {len(patients)} patients at {host}.",
        "metrics": {"members": len(patients), "claims": len(evidence),
                    "total_amount": round(float(evidence["total_amount"].sum()), 2)},
        "detector": "benchmark", "run_id": summary["run_id"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=Path("datasets/sample"))
    ap.add_argument("--members", type=int, default=500)
    args = ap.parse_args()
    from graphdetect.run import detect_folder

    base = ROOT / f"export-{args.data.resolve().name}-run"
    if not (base / "summary.json").exists():
        detect_folder(args.data, base)
    run = ROOT / f"export-{args.members}-run"
    shutil.rmtree(run, ignore_errors=True)
    shutil.copytree(base, run)
    case = big_case(args.data, run, args.members)
    with open(run / "cases.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(case, ensure_ascii=False) + "\n")
    out = ROOT / f"export-{args.members}-out"
    shutil.rmtree(out, ignore_errors=True)
    figures = measure(CODE.format(run=str(run), out=str(out)))
    members = len(case["members"])
    report(f"export_case: {members} members, {len(case['claim_ids']):,} evidence claims",
           figures, {"export_s": 10})


if __name__ == "__main__":
    main()
