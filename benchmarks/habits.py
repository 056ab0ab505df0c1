"""Detection on cities exported with other habits: the README's habit table.

Each seed's city (every variant planted) is exported as each habit, run through
``graphdetect detect`` and scored by ``graphdetect evaluate``. Per habit: groups planted,
groups missed, cases of the group patterns matching no group, look-alikes flagged, and
split and concurrent stays' cases and cases right (those two are judged by their rule);
then the variants that missed a group or made a wrong case.

    python benchmarks/habits.py                        # every habit, seeds 1-6, 8,000 people
    python benchmarks/habits.py --habit month_settled --seeds 1 2 --patients 4000

Cities are written under /tmp/graphdetect-bench/habits (made once per generator version).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from _common import ROOT, _version

from graphdetect.synth import generate
from graphdetect.synth.busy import busy_hospital
from graphdetect.synth.generator import VERSION
from graphdetect.synth.habits import HABITS

GRAPHDETECT = str(Path(sys.executable).parent / "graphdetect")
#: habit: (generate's arguments, the export habit applied after, if any)
TABLE = {
    "all_columns": ({}, None),
    "no_terminal_ids": ({"omit_columns": ("terminal_id", "operator_id")}, None),
    "no_doctor_ids": ({"omit_columns": ("doctor_id",)}, None),
    "no_diagnosis_codes": ({"omit_columns": ("diagnosis_code",)}, None),
    "no_doctor_ids_or_diagnoses": ({"omit_columns": ("doctor_id", "diagnosis_code")}, None),
    "no_card_ids": ({"omit_columns": ("card_id",)}, None),
    "dates_only": ({}, "dates_only"),
    "dates_at_small_places": ({}, "dates_at_small_places"),
    "midnight_times": ({}, "midnight_times"),
    "hour_stamps": ({}, "hour_stamps"),
    "diagnosis_subcodes": ({}, "diagnosis_subcodes"),
    "all_bare": ({"omit_columns": ("doctor_id", "fund_amount", "diagnosis_code",
                                   "terminal_id", "operator_id", "card_id")}, "dates_only"),
    "month_settled": ({"settle": "month"}, None),
    "year_settled": ({"settle": "year", "start": "2024-07-01"}, None),
    "visits_in_parts": ({}, "visits_in_parts"),
    "compact_times": ({}, "compact_times"),
    "purchases_as_visits": ({}, "purchases_as_visits"),
    "rings_in_a_busy_hospital": ({}, "busy_hospital"),
}


def city(habit: str, seed: int, patients: int) -> Path:
    """The seed's city exported as ``habit``, made once per generator version."""
    made, then = TABLE[habit]
    out = ROOT / "habits" / f"{habit}-{patients}-s{seed}"
    if (out / "truth.json").exists() and _version(out / "truth.json") == VERSION:
        return out
    shutil.rmtree(out, ignore_errors=True)
    if then is None:
        generate(out, patients=patients, seed=seed, **made)
        return out
    base = out.with_name(out.name + "-base")
    shutil.rmtree(base, ignore_errors=True)
    generate(base, patients=patients, seed=seed, **made)
    if then == "busy_hospital":
        # the wards admit from 10 to 60 a day, drawn per seed
        per_day = round(float(np.random.default_rng(seed).uniform(10, 60)), 1)
        busy_hospital(base, out, per_day=per_day, seed=seed)
    else:
        fn = HABITS[then]
        fn(base, out, seed=seed) if then == "visits_in_parts" else fn(base, out)
    shutil.rmtree(base)
    return out


def score(data: Path) -> dict:
    run = data.with_name(data.name + "-run")
    shutil.rmtree(run, ignore_errors=True)
    subprocess.run([GRAPHDETECT, "detect", str(data), "--out", str(run), "--quiet"],
                   check=True)
    subprocess.run([GRAPHDETECT, "evaluate", str(data), str(run)], check=True,
                   capture_output=True)
    return json.loads((run / "evaluation.json").read_text(encoding="utf-8"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--habit", nargs="+", choices=list(TABLE), default=list(TABLE))
    ap.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3, 4, 5, 6])
    ap.add_argument("--patients", type=int, default=8000)
    args = ap.parse_args()
    print(f"habit (seeds {' '.join(map(str, args.seeds))}, {args.patients:,} people, "
          f"generator version {VERSION}): groups, missed, wrong, look-alikes flagged; "
          f"split and concurrent stays (cases right / cases)")
    for habit in args.habit:
        total = {"groups": 0, "missed": 0, "wrong": 0, "flagged": 0}
        stays = {"split_stay": [0, 0], "concurrent_stay": [0, 0]}
        weak: dict[str, list[int]] = {}
        for seed in args.seeds:
            e = score(city(habit, seed, args.patients))
            for v, x in e["variants"].items():
                total["groups"] += x["truth"]
                total["missed"] += x["truth"] - x["found"]
                if x["truth"] != x["found"] or x["cases"] != x["cases_right"]:
                    w = weak.setdefault(v, [0, 0])
                    w[0] += x["truth"] - x["found"]
                    w[1] += x["cases"] - x["cases_right"]
            total["wrong"] += sum(x["cases"] - x["cases_right"] for p, x in
                                  e["patterns"].items() if p not in stays)
            total["flagged"] += e["lookalikes"]["flagged"]
            for p, s in stays.items():
                x = e["patterns"].get(p, {"cases": 0, "cases_right": 0})
                s[0] += x["cases_right"]
                s[1] += x["cases"]
        print(f"{habit:28} {total['groups']:4} {total['missed']:3} {total['wrong']:3} "
              f"{total['flagged']:3}   split {stays['split_stay'][0]}/{stays['split_stay'][1]}"
              f"  concurrent {stays['concurrent_stay'][0]}/{stays['concurrent_stay'][1]}"
              + "".join(f"   {v}: {m} missed, {w} wrong" for v, (m, w) in weak.items()),
              flush=True)


if __name__ == "__main__":
    main()
