"""Score a run against the truth a planted-data folder carries (``truth.json``).

* Group patterns: every truth kind other than concurrent_stay and split_stay
  (collusion_ring, card_pooling, outpatient_gathering, shared_identity, ...). A group is
  *found* when one case of its pattern covers at least half of its patients and at least
  half of that case's patients belong to it. Recall = found groups / groups; precision =
  cases matching a group / cases of the pattern.
* Per variant (the truth's ``variant``) also: *coverage*, the median over the variant's
  groups of the share of a group's patients in its best case (the case of the pattern
  holding most of them); *institutions_covered*, the median share of the group's
  institutions that case names; and a precision that punishes fragments: cases matching a
  group of the variant / cases of the pattern sharing at least a third of their patients
  with one (three cases of a third of a pool each give 0 of 3). For the stay variants the
  unit is the group's claims: found when one case holds all its inpatient claims.
* Look-alikes (dialysis, nursing homes, check-up days, households, rehabilitation courses,
  ...) are *flagged* when a case of any group pattern matches one by the same rule (a hub,
  which has no patient list, when such a case names it as host); counted per kind. A
  readmission for another illness is flagged when a split_stay case holds both its stays.
* concurrent_stay and split_stay are scored against the rule applied to the data
  itself: every pair of overlapping stays at two places, and every readmission within
  the run's ``max_gap_days`` with the same diagnosis (on the run's ``diagnosis_prefix``
  characters of an ICD-10 code; in data without diagnosis codes, the same doctor;
  without doctor ids either, any) but a stay cut on a settlement day and
  resumed (written apart from the detector's rule, so that each checks the other). A
  pair is found when one case of the pattern holds both claims; a case is right when it
  holds such a pair.
* ROC-AUC of patient and institution scores (entity_scores.csv, 0 when absent) against
  membership of any planted group (institutions: group patterns only).
* A run made with ``--since/--until`` is scored on its window: the data is read with the
  same window, and only groups and look-alikes with a claim inside it count.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from .cells import read_cell
from .errors import DataError, RunError
from .graph import ClaimsGraph
from .io import read_folder
from .run import load_summary, read_cases, time_zone_of

__all__ = ["evaluate", "auc", "format_table"]

GROUP_PATTERNS = ("collusion_ring", "card_pooling")  # always reported, even when absent
STAY_PATTERNS = ("concurrent_stay", "split_stay")


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


def _institutions(case: dict) -> set[str]:
    return {m["id"] for m in case["members"] if m["kind"] == "institution"}


def _matches(case_patients: set[str], group_patients: set[str]) -> bool:
    if not case_patients or not group_patients:
        return False
    both = len(case_patients & group_patients)
    return both >= 0.5 * len(group_patients) and both >= 0.5 * len(case_patients)


def _read_scores(run: Path) -> dict[tuple[str, str], float]:
    with open(run / "entity_scores.csv", encoding="utf-8", newline="") as f:
        return {(r["kind"], read_cell(r["id"])): float(r["score"]) for r in csv.DictReader(f)}


def _group_patterns(truth: dict, cases: list[dict]) -> list[str]:
    """Every group pattern: the standard two, then any other non-stay kind of the truth or
    pattern of the run, sorted."""
    more = {g["kind"] for g in truth["groups"]} | {c["pattern"] for c in cases}
    return [*GROUP_PATTERNS, *sorted(more - set(GROUP_PATTERNS) - set(STAY_PATTERNS))]


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
    window = summary.get("window") or {}
    graph = ClaimsGraph.from_data(read_folder(data, since=window.get("since"),
                                              until=window.get("until"),
                                              time_zone=time_zone_of(summary)))
    if window.get("since") or window.get("until"):
        truth = _within(truth, set(graph.claims["claim_id"].astype(str)))
    by_pattern: dict[str, list[dict]] = {}
    for c in cases:
        by_pattern.setdefault(c["pattern"], []).append(c)
    patterns = _group_patterns(truth, cases)
    out: dict = {"run": str(run), "data": str(data), "patterns": {}}
    for pattern in patterns:
        groups = [g for g in truth["groups"] if g["kind"] == pattern]
        mine = by_pattern.get(pattern, [])
        found = sum(any(_matches(_patients(c), set(g["patients"])) for c in mine) for g in groups)
        right = sum(any(_matches(_patients(c), set(g["patients"])) for g in groups) for c in mine)
        out["patterns"][pattern] = _rates(len(groups), found, len(mine), right)
    params = summary.get("parameters", {})
    for pattern, pairs in _rule_pairs(graph, params).items():
        mine = [set(c["claim_ids"]) for c in by_pattern.get(pattern, [])]
        found = sum(any(a in ids and b in ids for ids in mine) for a, b in pairs)
        right = sum(any(a in ids and b in ids for a, b in pairs) for ids in mine)
        out["patterns"][pattern] = _rates(len(pairs), found, len(mine), right)
    out["variants"] = _variants(truth, by_pattern, graph)
    out["lookalikes"] = _lookalikes(truth, [c for c in cases if c["pattern"] in patterns],
                                    by_pattern)
    out["auc"] = _aucs(truth, graph, scores)
    return out


def _within(truth: dict, inside: set[str]) -> dict:
    """The truth of a windowed run (``detect --since/--until``): only the groups and
    look-alikes with at least one claim inside the window; a group cut by the window's
    edge stays, and counts as missed if its part inside is too small to find."""
    def kept(items: list[dict]) -> list[dict]:
        return [g for g in items if not inside.isdisjoint(g.get("claim_ids", ()))]
    return {**truth, "groups": kept(truth["groups"]), "lookalikes": kept(truth["lookalikes"])}


def _median(values: list[float]) -> float | None:
    return round(float(np.median(values)), 4) if values else None


def _unit(g: dict, stay: bool) -> set[str]:
    """What a group is measured in: its claims (stays) or its patients (groups)."""
    return set(g["claim_ids"] if stay else g["patients"])


def _hit(case_unit: set[str], g: dict, stay: bool, inpatient: set[str]) -> bool:
    if stay:
        return (set(g["claim_ids"]) & inpatient) <= case_unit
    return _matches(case_unit, set(g["patients"]))


def _variant(groups: list[dict], cases: list[dict], stay: bool, inpatient: set[str]) -> dict:
    """Recall, coverage, institutions covered and fragment precision of one variant."""
    units = [set(x["claim_ids"]) if stay else _patients(x) for x in cases]
    found, cover, inst_cover = 0, [], []
    for g in groups:
        mine = _unit(g, stay)
        found += any(_hit(u, g, stay, inpatient) for u in units)
        best = max(range(len(cases)), key=lambda k: (len(units[k] & mine), -len(units[k])),
                   default=None)
        if best is None or not units[best] & mine:
            cover.append(0.0)
            inst_cover.append(0.0)
            continue
        cover.append(len(units[best] & mine) / len(mine))
        gi = set(g["institutions"])
        inst_cover.append(len(_institutions(cases[best]) & gi) / len(gi) if gi else 0.0)
    near = [u for u in units if u and any(3 * len(u & _unit(g, stay)) >= len(u)
                                          for g in groups)]
    right = sum(any(_hit(u, g, stay, inpatient) for g in groups) for u in near)
    return {**_rates(len(groups), found, len(near), right), "coverage": _median(cover),
            "institutions_covered": _median(inst_cover)}


def _variants(truth: dict, by_pattern: dict[str, list[dict]], graph: ClaimsGraph) -> dict:
    """Per variant of the truth (in the truth's order): its pattern and ``_variant``'s
    figures."""
    c = graph.claims
    inpatient = set(c["claim_id"][c["visit_type"] == "inpatient"].astype(str))
    out = {}
    for variant in dict.fromkeys(g["variant"] for g in truth["groups"]):
        groups = [g for g in truth["groups"] if g["variant"] == variant]
        pattern = groups[0]["kind"]
        out[variant] = {"pattern": pattern,
                        **_variant(groups, by_pattern.get(pattern, []),
                                   pattern in STAY_PATTERNS, inpatient)}
    return out


def _rates(truth_n: int, found: int, cases: int, right: int) -> dict:
    return {"truth": truth_n, "found": found, "cases": cases, "cases_right": right,
            "recall": round(found / truth_n, 4) if truth_n else None,
            "precision": round(right / cases, 4) if cases else None}


def _rule_pairs(graph: ClaimsGraph, params: dict) -> dict[str, list[tuple[str, str]]]:
    """The stay rules applied straight to the claims, independently of the detectors."""
    c = graph.claims
    inp = c[c["visit_type"] == "inpatient"]
    # what a readmission's stays share: the diagnosis, else the doctor, else nothing
    same_as = next((col for col in ("diagnosis_code", "doctor_id") if c[col].notna().any()),
                   None)
    dx = inp[same_as].astype(str) if same_as else "any"
    prefix = params.get("split_stay.diagnosis_prefix", 0)
    if same_as == "diagnosis_code" and prefix:
        # an ICD-10 code (a letter, two digits, ...) on its first characters, others whole
        icd = dx.str.match(r"[A-Za-z]\d\d")
        dx = dx.where(~icd, dx.str.slice(0, prefix))
    frame = inp.assign(p=inp["patient_id"].astype(str), h=inp["institution_id"].astype(str),
                       s=inp["start_time"].dt.floor("D"), e=inp["end_time"].dt.floor("D"),
                       dx=dx)[["claim_id", "p", "h", "s", "e", "dx"]]
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
    resumed = _settled(frame)
    return {"concurrent_stay": list(zip(conc["claim_id_a"], conc["claim_id_b"], strict=True)),
            "split_stay": sorted(x for x in split if x not in resumed)}


def _settled(frame) -> set[tuple[str, str]]:
    """Stays cut on a settlement day and resumed, as (earlier, later) claim ids: a
    patient's next stay at the place admitted on the discharge day or the next and going
    on past it, when two or more stays were cut that day at the place, or in the whole
    data, and they were half or more of the patients in bed that night."""
    f = frame.sort_values(["p", "h", "s", "e", "claim_id"])
    nxt = f.shift(-1)
    gap = (nxt["s"] - f["e"]).dt.days
    cut = f[(nxt["p"] == f["p"]) & (nxt["h"] == f["h"]) & (gap >= 0) & (gap <= 1)
            & (nxt["e"] > f["e"])].assign(later=nxt["claim_id"], day=f["e"],
                                          counted=nxt["s"] <= f["e"])
    frame, cut = frame.assign(everywhere=""), cut.assign(everywhere="")
    out: set[tuple[str, str]] = set()
    for where in ("h", "everywhere"):   # at the place, and in the whole data
        at = cut.groupby([where, "day"]).agg(cuts=("claim_id", "size"),
                                             counted=("counted", "sum")).reset_index()
        # in bed the night after the day: admitted by then, less discharged by then
        times = {k: (np.sort(g["s"].to_numpy()), np.sort(g["e"].to_numpy()))
                 for k, g in frame.groupby(where)}
        in_bed = np.array([np.searchsorted(times[k][0], d, "right")
                           - np.searchsorted(times[k][1], d, "right")
                           for k, d in zip(at[where], at["day"].to_numpy(), strict=True)], int)
        day = at[(at["cuts"] >= 2) & (2 * at["cuts"] >= in_bed + at["cuts"] - at["counted"])]
        hit = cut.merge(day[[where, "day"]], on=[where, "day"])
        out |= set(zip(hit["claim_id"], hit["later"], strict=True))
    return out


#: Look-alikes judged by their claims against one stay pattern's cases, not by patients.
_CLAIM_LOOKALIKES = {"readmission": "split_stay"}
#: Look-alikes whose patients come and go (a course room's hundreds over the year, a
#: few dozen at a time): flagged by a group pattern's case made half or more of its claims.
_ROLLING_LOOKALIKES = {"treatment_course"}


def _lookalikes(truth: dict, group_cases: list[dict], by_pattern: dict) -> dict:
    flagged: dict[str, list[str]] = {}
    total: dict[str, int] = {}
    for g in truth.get("lookalikes", []):
        total[g["kind"]] = total.get(g["kind"], 0) + 1
        if g["kind"] in _CLAIM_LOOKALIKES:
            ids = set(g["claim_ids"])
            hit = any(ids <= set(c["claim_ids"])
                      for c in by_pattern.get(_CLAIM_LOOKALIKES[g["kind"]], []))
        elif g["kind"] in _ROLLING_LOOKALIKES:
            ids = set(g["claim_ids"])
            hit = any(2 * len(ids.intersection(c["claim_ids"])) >= len(c["claim_ids"])
                      for c in group_cases)
        elif g["patients"]:
            hit = any(_matches(_patients(c), set(g["patients"])) for c in group_cases)
        else:
            hosts = {m["id"] for c in group_cases for m in c["members"] if m["role"] == "host"}
            hit = bool(hosts & set(g["institutions"]))
        if hit:
            flagged.setdefault(g["kind"], []).append(g["id"])
    return {"groups": sum(total.values()), "by_kind": total,
            "flagged": sum(len(v) for v in flagged.values()), "flagged_ids": flagged,
            "flagged_by_kind": {k: len(flagged.get(k, [])) for k in total}}


def _aucs(truth: dict, graph: ClaimsGraph, scores: dict) -> dict:
    out = {}
    for kind, stays_too in (("patient", True), ("institution", False)):
        ids = np.asarray(graph.index(kind), dtype=object)
        plural = kind + "s"
        planted = {x for g in truth["groups"] if stays_too or g["kind"] not in STAY_PATTERNS
                   for x in g.get(plural, [])}
        s = np.array([scores.get((kind, str(i)), 0.0) for i in ids])
        pos = np.array([str(i) in planted for i in ids])
        value = auc(s, pos)
        out[kind] = None if value is None else round(value, 4)
    return out


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def format_table(result: dict) -> str:
    """The evaluation as plain-text tables: per pattern, per variant, look-alikes, AUC."""
    lines = [f"{'pattern':<22}{'truth':>7}{'found':>7}{'recall':>8}{'cases':>7}"
             f"{'right':>7}{'precision':>11}"]
    for name, r in result["patterns"].items():
        lines.append(f"{name:<22}{r['truth']:>7}{r['found']:>7}{_fmt(r['recall']):>8}"
                     f"{r['cases']:>7}{r['cases_right']:>7}{_fmt(r['precision']):>11}")
    if result.get("variants"):
        lines += ["", f"{'variant':<28}{'truth':>7}{'found':>7}{'recall':>8}{'coverage':>10}"
                      f"{'inst':>7}{'near':>6}{'right':>7}{'precision':>11}"]
        for name, r in result["variants"].items():
            lines.append(f"{name:<28}{r['truth']:>7}{r['found']:>7}{_fmt(r['recall']):>8}"
                         f"{_fmt(r['coverage']):>10}{_fmt(r['institutions_covered']):>7}"
                         f"{r['cases']:>6}{r['cases_right']:>7}{_fmt(r['precision']):>11}")
        lines.append("")
    la = result["lookalikes"]
    by_kind = la.get("flagged_by_kind", {})
    lines.append(f"look-alike groups flagged: {la['flagged']} of {la['groups']}"
                 + (" (" + ", ".join(f"{k} {n}/{la['by_kind'][k]}" for k, n in by_kind.items()
                                     if n) + ")" if la["flagged"] else ""))
    if la["flagged"]:
        lines.append(f"  {la['flagged_ids']}")
    lines.append("ROC-AUC: " + ", ".join(f"{k} {v}" for k, v in result["auc"].items()))
    return "\n".join(lines)
