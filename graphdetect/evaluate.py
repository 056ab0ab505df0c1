"""Score a run against the truth a planted-data folder carries (``truth.json``).

* Planted groups (collusion_ring, card_pooling): a group is *found* when one case of its
  pattern covers at least half of its patients and at least half of that case's
  patients belong to it. Recall = found groups / groups; precision = cases matching a
  group / cases of the pattern.
* Look-alikes (dialysis, nursing homes, check-up days, households, hubs) are *flagged*
  by the same rule (a hub, which has no patient list, when a ring or pooling case names
  it as host).
* concurrent_stay and split_stay are scored against the rule applied to the data
  itself: every pair of overlapping stays at two places, and every readmission within
  the run's ``max_gap_days`` with the same diagnosis. A pair is found when one case of
  the pattern holds both claims; a case is right when it holds such a pair.
* ROC-AUC of patient and institution scores (entity_scores.csv, 0 when absent) against
  membership of any planted group (institutions: rings and pooling only).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from .errors import DataError, RunError
from .graph import ClaimsGraph
from .io import read_folder
from .run import load_summary, read_cases

__all__ = ["evaluate", "auc", "format_table"]

GROUP_PATTERNS = ("collusion_ring", "card_pooling")


def auc(scores: np.ndarray, positive: np.ndarray) -> float | None:
    """ROC-AUC by the rank-sum formula, ties counted half.

    >>> auc(np.array([0.9, 0.1, 0.5, 0.0]), np.array([True, False, True, False]))
    1.0
    """
    pos, neg = int(positive.sum()), int((~positive).sum())
    if not pos or not neg:
        return None
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(len(scores))
    s = scores[order]
    _, start, counts = np.unique(s, return_index=True, return_counts=True)
    avg = start + (counts + 1) / 2.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[positive].sum() - pos * (pos + 1) / 2) / (pos * neg))


def _patients(case: dict) -> set[str]:
    return {m["id"] for m in case["members"] if m["kind"] == "patient"}


def _matches(case_patients: set[str], group_patients: set[str]) -> bool:
    if not case_patients or not group_patients:
        return False
    both = len(case_patients & group_patients)
    return both >= 0.5 * len(group_patients) and both >= 0.5 * len(case_patients)


def _read_scores(run: Path) -> dict[tuple[str, str], float]:
    with open(run / "entity_scores.csv", encoding="utf-8", newline="") as f:
        return {(r["kind"], r["id"]): float(r["score"]) for r in csv.DictReader(f)}


def evaluate(data: str | Path, run: str | Path) -> dict:
    """Compare a run folder with the truth of its data folder; return the figures."""
    data, run = Path(data), Path(run)
    truth_path = data / "truth.json"
    if not truth_path.is_file():
        raise DataError("truth.json", f"no truth.json in {data}: evaluate needs planted data")
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    summary = load_summary(run)
    try:
        cases = read_cases(run)
        scores = _read_scores(run)
    except (OSError, ValueError, KeyError) as exc:
        raise RunError(f"{run}: unreadable run folder ({exc})") from None
    by_pattern: dict[str, list[dict]] = {}
    for c in cases:
        by_pattern.setdefault(c["pattern"], []).append(c)
    out: dict = {"run": str(run), "data": str(data), "patterns": {}}
    for pattern in GROUP_PATTERNS:
        groups = [g for g in truth["groups"] if g["kind"] == pattern]
        mine = by_pattern.get(pattern, [])
        found = sum(any(_matches(_patients(c), set(g["patients"])) for c in mine) for g in groups)
        right = sum(any(_matches(_patients(c), set(g["patients"])) for g in groups) for c in mine)
        out["patterns"][pattern] = _rates(len(groups), found, len(mine), right)
    graph = ClaimsGraph.from_data(read_folder(data))
    params = summary.get("parameters", {})
    for pattern, pairs in _rule_pairs(graph, params).items():
        mine = [set(c["claim_ids"]) for c in by_pattern.get(pattern, [])]
        found = sum(any(a in ids and b in ids for ids in mine) for a, b in pairs)
        right = sum(any(a in ids and b in ids for a, b in pairs) for ids in mine)
        out["patterns"][pattern] = _rates(len(pairs), found, len(mine), right)
    out["lookalikes"] = _lookalikes(truth, cases)
    out["auc"] = _aucs(truth, graph, scores)
    return out


def _rates(truth_n: int, found: int, cases: int, right: int) -> dict:
    return {"truth": truth_n, "found": found, "cases": cases, "cases_right": right,
            "recall": round(found / truth_n, 4) if truth_n else None,
            "precision": round(right / cases, 4) if cases else None}


def _rule_pairs(graph: ClaimsGraph, params: dict) -> dict[str, list[tuple[str, str]]]:
    """The stay rules applied straight to the claims, independently of the detectors."""
    c = graph.claims
    inp = c[c["visit_type"] == "inpatient"]
    frame = inp.assign(p=inp["patient_id"].astype(str), h=inp["institution_id"].astype(str),
                       s=inp["start_time"].dt.floor("D"), e=inp["end_time"].dt.floor("D"),
                       dx=inp["diagnosis_code"].astype(str))[["claim_id", "p", "h", "s", "e", "dx"]]
    m = frame.merge(frame, on="p", suffixes=("_a", "_b"))
    m = m[m["claim_id_a"] < m["claim_id_b"]]
    overlap = (np.minimum(m["e_a"], m["e_b"]) - np.maximum(m["s_a"], m["s_b"])).dt.days
    min_overlap = params.get("concurrent_stay.min_overlap_days", 1)
    conc = m[(m["h_a"] != m["h_b"]) & (overlap >= min_overlap)]
    max_gap = params.get("split_stay.max_gap_days", 2)
    same = m[(m["h_a"] == m["h_b"]) & (m["dx_a"] == m["dx_b"]) & (frame["dx"].ne("nan").all()
                                                                  | (m["dx_a"] != "nan"))]
    first_then = same[same["s_a"] <= same["s_b"]]
    gap_ab = (first_then["s_b"] - first_then["e_a"]).dt.days
    second_then = same[same["s_a"] > same["s_b"]]
    gap_ba = (second_then["s_a"] - second_then["e_b"]).dt.days
    split = [*zip(first_then["claim_id_a"][(gap_ab >= 0) & (gap_ab <= max_gap)],
                  first_then["claim_id_b"][(gap_ab >= 0) & (gap_ab <= max_gap)], strict=True),
             *zip(second_then["claim_id_a"][(gap_ba >= 0) & (gap_ba <= max_gap)],
                  second_then["claim_id_b"][(gap_ba >= 0) & (gap_ba <= max_gap)], strict=True)]
    return {"concurrent_stay": list(zip(conc["claim_id_a"], conc["claim_id_b"], strict=True)),
            "split_stay": sorted(split)}


def _lookalikes(truth: dict, cases: list[dict]) -> dict:
    group_cases = [c for c in cases if c["pattern"] in GROUP_PATTERNS]
    flagged: dict[str, list[str]] = {}
    total: dict[str, int] = {}
    for g in truth.get("lookalikes", []):
        total[g["kind"]] = total.get(g["kind"], 0) + 1
        if g["patients"]:
            hit = any(_matches(_patients(c), set(g["patients"])) for c in group_cases)
        else:
            hosts = {m["id"] for c in group_cases for m in c["members"] if m["role"] == "host"}
            hit = bool(hosts & set(g["institutions"]))
        if hit:
            flagged.setdefault(g["kind"], []).append(g["id"])
    return {"groups": sum(total.values()), "by_kind": total,
            "flagged": sum(len(v) for v in flagged.values()), "flagged_ids": flagged}


def _aucs(truth: dict, graph: ClaimsGraph, scores: dict) -> dict:
    out = {}
    for kind, kinds in (("patient", None), ("institution", GROUP_PATTERNS)):
        ids = np.asarray(graph.index(kind), dtype=object)
        plural = kind + "s"
        planted = {x for g in truth["groups"] if kinds is None or g["kind"] in kinds
                   for x in g.get(plural, [])}
        s = np.array([scores.get((kind, str(i)), 0.0) for i in ids])
        pos = np.array([str(i) in planted for i in ids])
        value = auc(s, pos)
        out[kind] = None if value is None else round(value, 4)
    return out


def format_table(result: dict) -> str:
    """The evaluation as a plain-text table."""
    lines = [f"{'pattern':<17}{'truth':>7}{'found':>7}{'recall':>8}{'cases':>7}"
             f"{'right':>7}{'precision':>11}"]
    for name, r in result["patterns"].items():
        rec = "-" if r["recall"] is None else f"{r['recall']:.3f}"
        pre = "-" if r["precision"] is None else f"{r['precision']:.3f}"
        lines.append(f"{name:<17}{r['truth']:>7}{r['found']:>7}{rec:>8}{r['cases']:>7}"
                     f"{r['cases_right']:>7}{pre:>11}")
    la = result["lookalikes"]
    lines.append(f"look-alike groups flagged: {la['flagged']} of {la['groups']}"
                 + (f" {la['flagged_ids']}" if la["flagged"] else ""))
    lines.append("ROC-AUC: " + ", ".join(f"{k} {v}" for k, v in result["auc"].items()))
    return "\n".join(lines)
