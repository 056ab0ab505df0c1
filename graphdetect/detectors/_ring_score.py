"""A confirmed pool as a collusion_ring finding: evidence, facts, score.

Also recognises a ward's routine (a rehabilitation course programme): the same patients
readmitted on a regular schedule with one diagnosis group, which looks dense but is how
such wards work; those are scored below the case threshold and say why.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from ._base import Finding
from ._features import amount_cv, logistic
from ._stays import day_str

__all__ = ["ring_finding"]

#: Score ceiling of a group that looks like a ward's routine course programme.
ROUTINE_CEILING = 0.45


def _schedule_cv(first_days: np.ndarray) -> float | None:
    """Coefficient of variation of the days between occasions (None for under 3)."""
    if len(first_days) < 3:
        return None
    gaps = np.diff(np.sort(first_days)).astype(float)
    return float(gaps.std() / gaps.mean()) if gaps.mean() > 0 else None


def _diagnosis_group(graph, rows: np.ndarray) -> tuple[str | None, float | None]:
    """The commonest ICD-10 category (3 characters) of the rows and its share."""
    claims = graph.claims
    if "diagnosis_code" not in claims:
        return None, None
    dx = claims["diagnosis_code"].iloc[rows].dropna().astype(str).str[:3]
    if not len(dx):
        return None, None
    counts = dx.value_counts().sort_index().sort_values(ascending=False, kind="stable")
    return str(counts.index[0]), float(counts.iloc[0] / len(rows))


def ring_finding(graph, sub: pd.DataFrame, occ_table: pd.DataFrame, rate: np.ndarray,
                 host_admissions: np.ndarray, usual_stay: float) -> Finding:
    """The finding for one pool.

    ``sub`` holds the evidence stays (columns row, patient, institution, start, end,
    occasion); ``occ_table`` one row per occasion (occasion, institution, first, last,
    patients, claims); ``rate`` each institution's usual admissions per day and
    ``host_admissions`` each institution's admissions in all; ``usual_stay`` the median
    length of all stays in the data.

    A ward's routine is recognised when the occasions keep a regular schedule (their
    gaps vary by 10% or less), bring in the same patients (half the group or more each
    time), 80% of the stays share one ICD-10 category, the stays are longer than the
    data's usual stay, and the patients do not come mostly from one village: a course
    programme, not a burst of recruits.
    """
    claims = graph.claims
    rows = np.sort(sub["row"].to_numpy())
    inst_ids = graph.index("institution")
    counts = sub["institution"].value_counts().sort_index().sort_values(
        ascending=False, kind="stable")
    insts = [int(x) for x in counts.index]
    host = insts[0]
    occ_table = occ_table.sort_values(["first", "institution"], kind="stable")
    span = (occ_table["last"] - occ_table["first"] + 1).to_numpy()
    expected = rate[occ_table["institution"].to_numpy()] * span
    burst = float(np.median(occ_table["claims"].to_numpy() / np.maximum(expected, 0.5)))
    per_occ = occ_table["patients"].to_numpy()
    n_occ = len(occ_table)
    patients = np.unique(sub["patient"].to_numpy())
    amounts = graph.amount[rows]
    length = (sub["end"] - sub["start"]).to_numpy().astype(float)
    cv, los_cv = amount_cv(amounts), amount_cv(length + 1)
    doctors, doc_share = _doctors(claims, rows)
    elderly, village = _people(graph, patients, int(sub["start"].min()))
    ownership = graph.attribute("institution", "ownership")
    level = graph.attribute("institution", "level")
    private = ownership is not None and any(ownership[i] == "private" for i in insts)
    small = level is not None and any(level[i] is not None and level[i] <= 1 for i in insts)
    attendance = float(np.median(per_occ) / len(patients))
    schedule = _schedule_cv(occ_table["first"].to_numpy())
    dx_group, dx_share = _diagnosis_group(graph, rows)
    share_of_host = float(len(sub[sub["institution"] == host]) / max(host_admissions[host], 1))
    routine = bool(schedule is not None and schedule <= 0.1 and attendance >= 0.5
                   and dx_share is not None and dx_share >= 0.8
                   and np.median(length) > usual_stay
                   and (village is None or village < 0.5))
    z = (-3.0 + 1.5 * min(n_occ, 8) / 4 + 1.5 * (1 - min(cv / 0.3, 1))
         + 1.2 * min(np.log2(max(burst, 1.0)) / 3, 1) + 0.6 * bool(private or small)
         + 0.6 * (elderly or 0) + 0.4 * (village or 0) + 0.5 * doc_share)
    score = logistic(z)
    if routine:
        score = min(score, ROUTINE_CEILING * score / 0.99)
    rules = ["聚集性就医", "集中入院"]
    if doc_share >= 0.8:
        rules.append("医患合谋")
    if cv < 0.1:
        rules.append("费用雷同")
    names = [str(inst_ids[i]) for i in insts]
    members = [("institution", x, "host") for x in names]
    members += [("doctor", x, "hub") for x in doctors]
    members += [("patient", str(x), "member") for x in graph.index("patient")[patients]]
    metrics = {"occasions": n_occ, "members": len(patients), "claims": len(rows),
               "institutions": len(insts),
               "per_occasion_min": int(per_occ.min()), "per_occasion_max": int(per_occ.max()),
               "per_occasion_median": float(np.median(per_occ)),
               "longest_occasion_days": int(span.max()), "attendance": round(attendance, 3),
               "amount_cv": round(cv, 4), "stay_length_cv": round(los_cv, 4),
               "median_stay_days": float(np.median(length)),
               "usual_stay_days": float(usual_stay),
               "burst": round(burst, 2), "doctor_share": round(doc_share, 3),
               "elderly_share": None if elderly is None else round(elderly, 3),
               "village_share": None if village is None else round(village, 3),
               "schedule_cv": None if schedule is None else round(schedule, 3),
               "diagnosis_share": None if dx_share is None else round(dx_share, 3),
               "share_of_host_admissions": round(share_of_host, 3),
               "total_amount": round(float(amounts.sum()), 2)}
    occasions = [{"first_day": day_str(int(o.first)), "last_day": day_str(int(o.last)),
                  "patients": int(o.patients), "claims": int(o.claims),
                  "institution": str(inst_ids[int(o.institution)])}
                 for o in occ_table.itertuples()]
    gaps = np.diff(occ_table["first"].to_numpy())
    details = {"host": names[0], "institutions": names, "doctors": doctors,
               "occasions": occasions, "first_day": occasions[0]["first_day"],
               "last_day": day_str(int(occ_table["last"].max())),
               "routine": routine, "diagnosis_group": dx_group,
               "median_gap_days": float(np.median(gaps)) if len(gaps) else None}
    return Finding("collusion_ring", round(score, 4), members,
                   graph.claim_ids(rows), rules, metrics, details)


def _doctors(claims: pd.DataFrame, rows: np.ndarray) -> tuple[list[str], float]:
    """The doctors behind most of the stays (up to 4) and the share of stays they cover."""
    if "doctor_id" not in claims:
        return [], 0.0
    docs = claims["doctor_id"].iloc[rows].dropna().astype(str).value_counts()
    if not len(docs):
        return [], 0.0
    docs = docs.sort_index().sort_values(ascending=False, kind="stable")
    top = docs[docs >= 0.15 * len(rows)].iloc[:4]
    return sorted(top.index), float(top.sum() / len(rows))


def _people(graph, codes: np.ndarray, first_day: int) -> tuple[float | None, float | None]:
    """Share of the patients aged 60 or more, and largest share from one village."""
    year = 1970 + first_day / 365.2425
    born = graph.attribute("patient", "birth_date")
    years = None if born is None else [b.year for b in born[codes] if b is not None]
    if not years:
        born = graph.attribute("patient", "birth_year")
        years = None if born is None else [b for b in born[codes] if b is not None]
    elderly = float(np.mean([year - y >= 60 for y in years])) if years else None
    region = graph.attribute("patient", "region_code")
    known = [] if region is None else [r for r in region[codes] if r is not None]
    village = Counter(known).most_common(1)[0][1] / len(codes) if known else None
    return elderly, village
