"""A confirmed pool as a collusion_ring finding: evidence, facts, score.

Also recognises a ward's routine (a rehabilitation course programme): the same patients
readmitted on a regular schedule with one diagnosis group, which looks dense but is how
such wards work; those are scored below the case threshold and say why.
"""

from __future__ import annotations

import numpy as np

from ._arrays import attribute_codes, sorted_unique, unique_counts
from ._base import Finding
from ._features import amount_cv, elderly_share, held_below, logistic
from ._ring_sets import median
from ._stays import day_str, id_array

__all__ = ["ring_finding", "categories"]

def _cohorts_return(patient: np.ndarray, occasion: np.ndarray) -> float:
    """How far each occasion brings back the patients of another: per occasion, the
    highest Jaccard similarity of its patients with another occasion's; the median over
    the occasions (0 with one occasion).

    A course's cohort returns whole (each occasion like the cohort's next one, however
    many cohorts a ward runs side by side); a pool of recruits, a random part of it each
    time, does not. One cohort attending a share ``a`` of its courses gives about
    ``a / (2 - a)``: a third at half.

    >>> _cohorts_return(np.array([1, 2, 3, 1, 2, 3, 7, 8, 7, 8]),
    ...                 np.array([0, 0, 0, 2, 2, 2, 1, 1, 3, 3]))
    1.0
    >>> _cohorts_return(np.array([1, 2, 3, 4, 5, 6]), np.array([0, 0, 1, 1, 2, 2]))
    0.0
    """
    occ, o = np.unique(occasion, return_inverse=True)
    if len(occ) < 2:
        return 0.0
    _, p = np.unique(patient, return_inverse=True)
    X = np.zeros((len(occ), int(p.max()) + 1))
    X[o, p] = 1.0
    both = X @ X.T
    size = np.diag(both)
    similar = both / (size[:, None] + size[None, :] - both)
    np.fill_diagonal(similar, 0.0)
    return float(median(similar.max(axis=1)))


def _schedule_cv(patient: np.ndarray, start: np.ndarray) -> float | None:
    """How regularly the same patients come back: per patient admitted three times or
    more, the coefficient of variation of the days between their admissions; the
    median over those patients. When no patient has two gaps (a short period shows
    each course's patients coming back once), how much the single gaps vary across
    the patients admitted twice (the scaled median absolute deviation over the median
    gap; None when no one is).

    >>> _schedule_cv(np.array([1, 1, 1, 2, 2, 2]), np.array([0, 90, 181, 10, 99, 190]))
    0.0083
    >>> _schedule_cv(np.array([1, 1, 2, 2, 3, 3]), np.array([0, 90, 3, 95, 5, 93]))
    0.0329
    """
    order = np.lexsort((start, patient))
    p, d = patient[order], start[order].astype(float)
    same = p[1:] == p[:-1]
    gap, who = np.diff(d)[same], p[1:][same]
    if not len(gap):
        return None
    # ``who`` is sorted (the stays are ordered by patient): one run per patient
    inv = np.cumsum(np.concatenate([[True], who[1:] != who[:-1]])) - 1
    n = np.bincount(inv)
    mean = np.bincount(inv, weights=gap) / n
    sd = np.sqrt(np.maximum(np.bincount(inv, weights=gap ** 2) / n - mean ** 2, 0))
    ok = (n >= 2) & (mean > 0)
    if ok.any():
        return round(median(sd[ok] / mean[ok]), 4)
    mid = median(gap)
    if len(gap) >= 2 and mid > 0:   # robust: a patient back for another reason is one gap
        return round(1.4826 * median(np.abs(gap - mid)) / mid, 4)
    return None


def _repeat_stays(patient: np.ndarray) -> np.ndarray:
    """Whether each stay is of a patient with two or more stays in the group."""
    vals, n = unique_counts(patient)
    return n[np.searchsorted(vals, patient)] >= 2


def _top_share(codes: np.ndarray) -> tuple[int, float | None]:
    """The commonest known code and its share of all rows (None when none is known)."""
    known = codes[codes >= 0]
    if not len(known):
        return -1, None
    vals, cnt = unique_counts(known)
    i = int(np.argmax(cnt))
    return int(vals[i]), float(cnt[i] / len(codes))


def ring_finding(graph, sub: dict, table: dict, rate: np.ndarray,
                 host_admissions: np.ndarray, usual_stay: float,
                 categories: np.ndarray | None = None,
                 amount: np.ndarray | None = None,
                 by_doctor: np.ndarray | None = None) -> tuple[Finding, np.ndarray]:
    """The finding for one pool, without its claim ids, and its evidence rows in order
    (:func:`._stays.with_claim_ids` fills them in for all findings at once).

    ``sub`` holds the evidence stays as arrays (row, patient, institution, start, end,
    occasion, doctor, diagnosis: ICD-10 category codes); ``table`` one entry per
    occasion (occasion, institution, first, last, patients, claims); ``rate`` each
    occasion's usual admissions per day: its place's, or, where ``by_doctor`` says it
    was seen only in its doctors' own admissions, theirs; ``host_admissions`` each
    institution's admissions in all and ``usual_stay`` the median length of all stays in
    the data;
    ``categories`` the ICD-10 categories the diagnosis codes are numbered in (found from
    the graph when not given); ``amount`` each claim row's bill (``graph.amount`` when not
    given; :func:`._stays.whole_stays` gives a stay cut on settlement days its parts'
    bills on its first row).

    A ward's routine is recognised when the same patients come back on a regular
    schedule (each one's gaps vary by 10% or less, in the median; over a short period,
    the single gaps of those admitted twice), occasions bring in the same patients
    (half the group or more each time, or, where a ward runs cohorts side by side, each
    occasion another's patients again: :func:`_cohorts_return` a third or more), 80% of
    the stays share one ICD-10 category, the stays of the patients who come back (for
    that category, where codes are known) are of a fixed length (varying by 10% or less,
    as a CV or as a scaled median absolute deviation, so a few other stays do not count)
    longer than the data's usual stay, and the patients do not come mostly from one
    village: a course programme, not a burst of recruits. None of it needs doctor ids;
    without diagnosis codes the rest is judged and the category is not checked (a ward's
    programme flagged in every such city is the worse error: a ring as regular as a
    programme, with one diagnosis code, is capped alike where codes are known).
    """
    order = np.argsort(sub["row"], kind="stable")
    rows = sub["row"][order]
    inst_ids = id_array(graph, "institution")
    vals, cnt = unique_counts(sub["institution"])
    insts = [int(x) for x in vals[np.lexsort((vals, -cnt))]]
    host = insts[0]
    by_day = np.lexsort((table["institution"], table["first"]))
    table = {c: v[by_day] for c, v in table.items()}
    span = table["last"] - table["first"] + 1
    expected = rate[table["occasion"]] * span
    burst = median(table["claims"] / np.maximum(expected, 0.5))
    per_occ = table["patients"]
    n_occ = len(per_occ)
    patients = sorted_unique(sub["patient"])
    amounts = (graph.amount if amount is None else amount)[rows]
    length = (sub["end"] - sub["start"]).astype(float)
    cv, los_cv = amount_cv(amounts), amount_cv(length + 1)
    # a course is the same patients' stays for one condition: judged on those who come
    # back, for the commonest diagnosis group where diagnoses are known (a patient's
    # admission for something else, taken in with the group, is no course)
    dx_code, dx_share = _top_share(sub["diagnosis"])
    again = _repeat_stays(sub["patient"])
    if dx_code >= 0 and (again & (sub["diagnosis"] == dx_code)).any():
        again &= sub["diagnosis"] == dx_code
    course_los = length[again] if again.any() else length
    course_cv = amount_cv(course_los + 1)
    # a fixed length but for a few stays (a course's patients admitted once for
    # something else): the spread of the lengths by their median absolute deviation
    mid_los = median(course_los + 1)
    steady = min(course_cv, 1.4826 * median(np.abs(course_los + 1 - mid_los)) / mid_los) \
        <= 0.1
    doctors, doc_share = _doctors(graph, sub["doctor"])
    elderly, village = _people(graph, patients, int(sub["start"].min()))
    ownership = graph.attribute("institution", "ownership")
    level = graph.attribute("institution", "level")
    private = ownership is not None and any(ownership[i] == "private" for i in insts)
    small = level is not None and any(level[i] is not None and level[i] <= 1 for i in insts)
    mid_occ, course_days = median(per_occ), median(course_los)
    attendance = float(mid_occ / len(patients))
    schedule = _schedule_cv(sub["patient"], sub["start"])
    dx_group = _category(graph, dx_code, categories)
    share_of_host = float(np.sum(sub["institution"] == host) / max(host_admissions[host], 1))
    routine = bool(schedule is not None and schedule <= 0.1
                   and (dx_share is None or dx_share >= 0.8)
                   and course_days > usual_stay and steady
                   and (village is None or village < 0.5)
                   and (attendance >= 0.5
                        or _cohorts_return(sub["patient"], sub["occasion"]) >= 1 / 3))
    z = (-3.0 + 1.5 * min(n_occ, 8) / 4 + 1.5 * (1 - min(cv / 0.3, 1))
         + 1.2 * min(np.log2(max(burst, 1.0)) / 3, 1) + 0.6 * bool(private or small)
         + 0.6 * (elderly or 0) + 0.4 * (village or 0) + 0.5 * doc_share)
    score = logistic(z)
    if routine:
        score = held_below(score)
    rules = ["聚集性就医", "集中入院"]
    if doc_share >= 0.8:
        rules.append("医患合谋")
    if cv < 0.1:
        rules.append("费用雷同")
    names = [str(x) for x in inst_ids[insts]]
    members = [("institution", x, "host") for x in names]
    members += [("doctor", x, "hub") for x in doctors]
    members += [("patient", str(x), "member") for x in id_array(graph, "patient")[patients]]
    metrics = {"occasions": n_occ, "members": len(patients), "claims": len(rows),
               "institutions": len(insts),
               "per_occasion_min": int(per_occ.min()), "per_occasion_max": int(per_occ.max()),
               "per_occasion_median": float(mid_occ),
               "longest_occasion_days": int(span.max()), "attendance": round(attendance, 3),
               "amount_cv": round(cv, 4), "stay_length_cv": round(los_cv, 4),
               "median_stay_days": median(length),
               "course_stay_days": float(course_days),
               "course_stay_cv": round(course_cv, 4),
               "usual_stay_days": float(usual_stay),
               "burst": round(burst, 2), "doctor_share": round(doc_share, 3),
               "elderly_share": None if elderly is None else round(elderly, 3),
               "village_share": None if village is None else round(village, 3),
               "schedule_cv": None if schedule is None else round(schedule, 3),
               "diagnosis_share": None if dx_share is None else round(dx_share, 3),
               "share_of_host_admissions": round(share_of_host, 3),
               "total_amount": round(float(amounts.sum()), 2)}
    occasions = [{"first_day": day_str(int(f)), "last_day": day_str(int(la)),
                  "patients": int(n), "claims": int(c), "institution": str(i)}
                 for f, la, n, c, i in zip(table["first"], table["last"], per_occ,
                                           table["claims"], inst_ids[table["institution"]],
                                           strict=True)]
    gaps = np.diff(table["first"])
    # occasions seen only in the doctors' own admissions (the place too busy to show them)
    of_doctors = 0 if by_doctor is None else int(by_doctor[table["occasion"]].sum())
    details = {"host": names[0], "institutions": names, "doctors": doctors,
               "occasions": occasions, "first_day": occasions[0]["first_day"],
               "last_day": day_str(int(table["last"].max())),
               "routine": routine, "diagnosis_group": dx_group,
               "median_gap_days": median(gaps) if len(gaps) else None,
               "doctor_occasions": of_doctors}
    return Finding("collusion_ring", round(score, 4), members, [], rules, metrics,
                   details), rows


def categories(graph) -> np.ndarray:
    """The ICD-10 categories (three characters), sorted, that diagnosis codes are
    numbered in (empty without diagnoses)."""
    if "diagnosis_code" not in graph.claims:
        return np.array([], dtype=str)
    cats = graph.claims["diagnosis_code"].cat.categories.astype(str).str[:3]
    return np.unique(np.asarray(cats))


def _category(graph, code: int, cats: np.ndarray | None = None) -> str | None:
    """The ICD-10 category (three characters) numbered ``code`` by the detector."""
    if code < 0:
        return None
    return str((categories(graph) if cats is None else cats)[code])


def _doctors(graph, codes: np.ndarray) -> tuple[list[str], float]:
    """The doctors behind most of the stays (up to 4) and the share of stays they cover."""
    u, n = unique_counts(codes[codes >= 0])
    order = np.lexsort((u, -n))            # commonest first, ties by id (codes are sorted)
    top = order[n[order] >= 0.15 * len(codes)][:4]
    if not len(top):
        return [], 0.0
    ids = [str(x) for x in id_array(graph, "doctor")[u[top]]]
    return sorted(ids), float(sum(int(x) for x in n[top]) / len(codes))


def _people(graph, codes: np.ndarray, first_day: int) -> tuple[float | None, float | None]:
    """Share of the patients aged 60 or more, and largest share from one village (from
    per-patient codes made once per graph, so each ring costs only its members)."""
    elderly = elderly_share(graph, codes, first_day)
    region = attribute_codes(graph, "patient", "region_code")
    known = np.empty(0, np.int64) if region is None else region[codes]
    known = known[known >= 0]
    village = int(np.bincount(known).max()) / len(codes) if len(known) else None
    return elderly, village
