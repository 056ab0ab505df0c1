"""The ground truth: which claims and entities each planted group and look-alike consists of."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np

from ._claims import DAY
from ._world import World

FIELDS = ("patients", "doctors", "institutions", "cards", "terminals", "operators",
          "claim_ids", "days")


# Truth lists that come from an optional claim column (empty when it is omitted).
OPTIONAL = {"doctors": "doctor_id", "cards": "card_id", "terminals": "terminal_id",
            "operators": "operator_id"}


def _entry(w: World, c: dict, rows: np.ndarray, claim_no: np.ndarray,
           start: dt.date, omit: frozenset = frozenset()) -> dict[str, list[str]]:
    def uniq(col: str) -> np.ndarray:
        v = np.unique(c[col][rows])
        return v[v >= 0]

    pats = uniq("pat")
    day0 = start.toordinal()
    out = {
        "patients": sorted(f"{w.county_code[w.pat_county[p]]}{w.pat_serial[p]:010d}"
                           for p in pats),
        "doctors": sorted(w.doc_id[d] for d in uniq("doc")),
        "institutions": sorted(w.inst_id[i] for i in uniq("inst")),
        "cards": sorted(f"A{w.card_serial[p]:08d}" for p in pats),
        "terminals": [f"T{t + 1:08d}" for t in uniq("term")],
        "operators": [f"OP{o + 1:06d}" for o in uniq("op")],
        "claim_ids": [f"JS{k:012d}" for k in np.sort(claim_no[rows])],
        "days": [dt.date.fromordinal(day0 + int(d)).isoformat()
                 for d in np.unique(c["start"][rows] // DAY)],
    }
    for name, col in OPTIONAL.items():
        if col in omit:
            out[name] = []
    return out


def _hub(w: World, c: dict, inst: int, start: dt.date, top: int = 5) -> dict:
    """A tertiary hospital's busiest days (no members: the point is the bucket's size)."""
    per_day = np.bincount(c["start"][c["inst"] == inst] // DAY)
    busiest = np.sort(np.argsort(-per_day, kind="stable")[:top])
    entry = {f: [] for f in FIELDS}
    entry["institutions"] = [w.inst_id[inst]]
    entry["days"] = [dt.date.fromordinal(start.toordinal() + int(d)).isoformat()
                     for d in busiest]
    return entry


def build_truth(w: World, c: dict, claim_no: np.ndarray, group_metas: list[dict],
                look_metas: list[dict], header: dict, start: dt.date,
                omit: frozenset = frozenset()) -> dict:
    """Truth document: planted groups (tags > 0) and look-alikes (tags < 0), each with its
    kind, variant and drawn parameters."""
    tag = c["tag"]
    sel = np.flatnonzero(tag != 0)
    sel = sel[np.argsort(tag[sel], kind="stable")]
    tags, first = np.unique(tag[sel], return_index=True)
    bounds = dict(zip(tags.tolist(), zip(first, np.append(first[1:], len(sel)), strict=True),
                      strict=True))
    groups, looks = [], []
    for k, meta in enumerate(group_metas, start=1):
        if k in bounds:
            rows = sel[bounds[k][0]:bounds[k][1]]
            groups.append({"id": f"G-{len(groups) + 1:04d}", **meta,
                           **_entry(w, c, rows, claim_no, start, omit)})
    for k, meta in enumerate(look_metas, start=1):
        if meta["kind"] == "hub_hospital":
            entry = _hub(w, c, meta["inst"], start)
        elif -k in bounds:
            rows = sel[bounds[-k][0]:bounds[-k][1]]
            entry = _entry(w, c, rows, claim_no, start, omit)
            if meta["kind"] == "household" and len(entry["patients"]) < 2:
                continue
        else:
            continue
        looks.append({"id": f"L-{len(looks) + 1:04d}", "kind": meta["kind"],
                      "variant": meta["variant"], "params": meta["params"], **entry})
    return {**header, "groups": groups, "lookalikes": looks}


def write_truth(path: Path, truth: dict) -> None:
    """Write ``truth`` as deterministic JSON (sorted keys, indent 1, UTF-8)."""
    text = json.dumps(truth, sort_keys=True, indent=1, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")
