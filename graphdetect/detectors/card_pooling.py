"""card_pooling: many people's cards swiped together, repeatedly, by one place (聚敛盗刷, 空刷)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..graph import INPATIENT
from ._base import Finding, Param, Pattern, detector, int_at_least, number_in
from ._features import (
    amount_cv,
    far_fraction,
    hours,
    in_hospital_elsewhere,
    logistic,
    shared_address,
)
from ._stays import components, day_str, stays

__all__ = ["card_pooling", "PATTERN"]

_BY = {"terminal": ("终端", "Terminal"), "operator": ("操作员", "Operator")}


def _explain(case: dict, lang: str, name) -> str:
    m, d = case["metrics"], case["details"]
    place = name("institution", d["host"])
    who = name(d["by"], d["who"])
    zh = lang == "zh"
    if zh:
        head = (f"{place}的{_BY[d['by']][0]}{who}在{m['days']}天（{d['first_day']}至"
                f"{d['last_day']}）里共{m['runs']}轮集中刷卡，反复使用同一批{m['cards']}张医保卡，"
                f"共{m['claims']}笔、{m['total_amount']:,.2f}元")
    else:
        head = (f"{_BY[d['by']][1]} {who} at {place} swiped the same {m['cards']} insurance cards "
                f"in {m['runs']} runs on {m['days']} days ({d['first_day']} to {d['last_day']}): "
                f"{m['claims']} settlements, {m['total_amount']:,.2f} yuan")
    sep, stop = ("；", "。") if zh else ("; ", ".")
    return head + sep + sep.join(n[0 if zh else 1] for n in _notes(m, d)) + stop


PATTERN = Pattern(
    "card_pooling", prefix="K", zh="聚敛盗刷医保卡", en="Card pooling",
    rules={"聚敛盗刷": "card pooling", "分时段集中刷卡": "swipes in concentrated slots",
           "金额高度一致": "near-identical amounts", "住院期间异地刷卡": "swiped while in hospital",
           "虚假就诊": "phantom visits"},
    explain=_explain,
    needs={"claims.terminal_id": "swipes were not grouped by terminal",
           "claims.operator_id": "swipes were not grouped by operator",
           "claims.time_of_day": "runs are whole days and after-hours swipes were not checked",
           "patients.region_code": "holders' homes were not checked",
           "patients.address_hash": "shared addresses (care homes) were not checked"})


@detector(PATTERN, [
    Param("run_gap_minutes", "Swipes this close together at one terminal or operator "
          "belong to one run.", "an int >= 1", int_at_least(1)),
    Param("min_run_cards", "Distinct cards a run needs to count.", "an int >= 3",
          int_at_least(3)),
    Param("min_runs", "Runs with largely the same cards needed for a finding.",
          "an int >= 2", int_at_least(2)),
    Param("min_overlap", "Share of the smaller run's cards two runs must have in common.",
          "a number in [0.05, 1]", number_in(0.05, 1)),
    Param("min_cards", "Cards a finding needs (those seen in two or more of its runs).",
          "an int >= 3", int_at_least(3)),
])
def card_pooling(graph, *, run_gap_minutes: int = 10, min_run_cards: int = 8,
                 min_runs: int = 3, min_overlap: float = 0.4, min_cards: int = 8
                 ) -> list[Finding]:
    """Find terminals or operators that swipe largely the same set of cards in run after run.

    A *run* is a stretch of outpatient or pharmacy settlements at one terminal (and,
    separately, by one operator) with at most ``run_gap_minutes`` between swipes and at
    least ``min_run_cards`` distinct cards. Runs at the same terminal sharing at least
    ``min_overlap`` of the smaller run's cards are linked; linked runs, at least
    ``min_runs`` of them, form a finding. The score rises with repetition,
    near-identical amounts, after-hours swipes, holders who live far away or were in
    hospital elsewhere at the time, and falls when most holders share one address
    (a care home's rounds) or the runs are a daytime routine all year (dialysis).

    Examples
    --------
    >>> import pandas as pd
    >>> from graphdetect.graph import ClaimsGraph
    >>> t = pd.Timestamp("2024-01-01 22:00")
    >>> rows = [(f"C{n}{k}", f"P{k}", t + pd.Timedelta(days=n, minutes=2 * k))
    ...         for n in range(4) for k in range(10)]
    >>> claims = pd.DataFrame(rows, columns=["claim_id", "patient_id", "start_time"]).assign(
    ...     institution_id="PH1", terminal_id="T1", visit_type="pharmacy", total_amount=198.0)
    >>> [len(f.claim_ids) for f in card_pooling(ClaimsGraph(claims))]
    [40]
    """
    found: list[Finding] = []
    stay_table = None
    for by in ("terminal", "operator"):
        groups = _linked_runs(graph, by, run_gap_minutes * 60, min_run_cards, min_runs,
                              min_overlap)
        for rows, n_runs in groups:
            if stay_table is None:
                stay_table = stays(graph)
            f = _finding(graph, by, rows, n_runs, min_cards, stay_table)
            if f is not None:
                found.append(f)
    return _drop_repeats(found)


def _linked_runs(graph, by: str, gap_s: int, min_run_cards: int, min_runs: int,
                 min_overlap: float) -> list[tuple[np.ndarray, int]]:
    # Inpatient settlements are admissions, not swipes at a counter: rings handle them.
    run_of = graph.sessions(by=by, gap_seconds=gap_s, mask=graph.visit != INPATIENT)
    rows = np.flatnonzero(run_of >= 0)
    if len(rows) < min_run_cards:
        return []
    run = run_of[rows]
    n_runs = int(run.max()) + 1
    entity = np.empty(n_runs, np.int64)
    entity[run] = graph.codes(by)[rows]
    # A run with fewer swipes than min_run_cards cannot hold that many cards: most runs
    # are single customers, so drop them before anything is sorted.
    busy = np.bincount(run, minlength=n_runs)[run] >= min_run_cards
    pair = np.sort(run[busy].astype(np.int64) << 32 | graph.codes("card")[rows[busy]])
    pair = pair[np.r_[True, pair[1:] != pair[:-1]]] if len(pair) else pair
    prun, pcard = pair >> 32, pair & 0xFFFFFFFF
    size = np.bincount(prun, minlength=n_runs)
    keep = size[prun] >= min_run_cards
    prun, pcard = prun[keep], pcard[keep]
    if not len(prun):
        return []
    runs, col = np.unique(prun, return_inverse=True)
    B = sp.csr_matrix((np.ones(len(col), np.int32), (pcard, col)),
                      shape=(graph.n("card"), len(runs)))
    S = sp.triu(B.T @ B, k=1).tocoo()
    run_entity = entity[runs]
    small = np.minimum(size[runs][S.row], size[runs][S.col])
    link = (S.data >= np.maximum(min_overlap * small, 3)) \
        & (run_entity[S.row] == run_entity[S.col])
    label = components(len(runs), S.row[link], S.col[link])
    counts = np.bincount(label)
    group_of_run = np.full(n_runs, -1)
    big = counts[label] >= min_runs
    group_of_run[runs[big]] = label[big]
    group = group_of_run[run]
    mine = np.flatnonzero(group >= 0)
    mine = mine[np.argsort(group[mine], kind="stable")]
    cuts = np.flatnonzero(np.diff(group[mine])) + 1
    return [(rows[part], int(counts[group[part[0]]])) for part in np.split(mine, cuts)
            if len(part)]


def _finding(graph, by: str, rows: np.ndarray, n_runs: int, min_cards: int,
             stay_table) -> Finding | None:
    card = graph.codes("card")[rows]
    day = graph.day[rows]
    days_per_card = np.unique(card.astype(np.int64) << 32 | day) >> 32
    seen = np.bincount(days_per_card, minlength=graph.n("card"))
    rows = rows[seen[card] >= 2]
    if len(np.unique(graph.codes("card")[rows])) < min_cards:
        return None
    rows = np.sort(rows)
    inst_code = np.bincount(graph.codes("institution")[rows]).argmax()
    host = str(graph.index("institution")[inst_code])
    who = str(graph.index(by)[np.bincount(graph.codes(by)[rows]).argmax()])
    holders = graph.ids("patient", rows)
    cards = graph.ids("card", rows)
    doctors = graph.ids("doctor", rows)
    amounts = graph.amount[rows]
    cv = amount_cv(amounts)
    hrs = hours(graph, rows)
    late = None if hrs is None else float(np.mean((hrs >= 20) | (hrs < 7)))
    far = far_fraction(graph, rows, inst_code)
    shared = shared_address(graph, rows)
    in_hosp = in_hospital_elsewhere(graph, rows, stay_table)
    n_days = len(np.unique(graph.day[rows]))
    gaps = np.diff(np.sort(graph.seconds[rows]))
    gap_min = float(np.median(gaps[gaps <= 3600]) / 60) if (gaps <= 3600).any() else None

    z = -2.0 + 1.5 * min(n_runs, 8) / 8 + 2.5 * (1 - min(cv / 0.15, 1.0))
    z += 1.5 * (late or 0.0) + 1.0 * (far or 0.0) + 3.0 * min(in_hosp.mean() * 5, 1.0)
    care_home = shared is not None and shared >= 0.5
    routine = n_days >= 100 and (late or 0.0) < 0.2
    z -= 3.0 * care_home + 2.0 * routine
    score = logistic(z)

    rules = ["聚敛盗刷"]
    if late is not None and late >= 0.5:
        rules.append("分时段集中刷卡")
    if cv < 0.05:
        rules.append("金额高度一致")
    if in_hosp.any():
        rules.append("住院期间异地刷卡")
    if doctors:
        rules.append("虚假就诊")
    members = [("institution", host, "host"), (by, who, by)]
    members += [("doctor", d, "doctor") for d in doctors]
    members += [("card", x, "card") for x in cards if x not in holders]
    members += [("patient", h, "holder") for h in holders]
    metrics = {"runs": n_runs, "days": n_days, "cards": len(cards), "claims": len(rows),
               "amount_cv": round(cv, 4), "total_amount": round(float(amounts.sum()), 2),
               "after_hours_share": None if late is None else round(late, 3),
               "holders_far_share": None if far is None else round(far, 3),
               "in_hospital_elsewhere": int(in_hosp.sum()),
               "shared_address_share": None if shared is None else round(shared, 3),
               "median_gap_minutes": None if gap_min is None else round(gap_min, 1)}
    details = {"host": host, "by": by, "who": who,
               "first_day": day_str(graph.day[rows].min()),
               "last_day": day_str(graph.day[rows].max()),
               "care_home": bool(care_home), "routine": bool(routine)}
    ids = graph.claim_ids(rows)
    return Finding("card_pooling", round(score, 4), members, ids, rules, metrics, details)


def _notes(m: dict, d: dict) -> list[tuple[str, str]]:
    notes = []
    gap, cv, late, far = (m["median_gap_minutes"], m["amount_cv"], m["after_hours_share"],
                          m["holders_far_share"])
    if gap is not None:
        notes.append((f"刷卡间隔中位数{gap:.1f}分钟", f"median {gap:.1f} min between swipes"))
    notes.append((f"金额变异系数{cv:.1%}", f"amounts vary by {cv:.1%} (CV)"))
    if late is None:
        notes.append(("数据无具体时刻，未核查非营业时间",
                      "no times of day: after-hours not checked"))
    else:
        notes.append((f"{late:.0%}发生在20:00至次日7:00", f"{late:.0%} between 20:00 and 07:00"))
    if far is None:
        notes.append(("缺少区划信息，未核查持卡人居住地",
                      "no region codes: holders' homes not checked"))
    else:
        notes.append((f"{far:.0%}的持卡人不住在本乡镇", f"{far:.0%} of holders live in another "
                      "township"))
    n = m["in_hospital_elsewhere"]
    if n:
        notes.append((f"{n}笔刷卡时持卡人正在他院住院",
                      f"{n} swipes while the holder was in hospital elsewhere"))
    if d["care_home"]:
        shared = m["shared_address_share"]
        notes.append((f"但{shared:.0%}的持卡人同住一址，像是养老机构的巡诊，风险较低",
                      f"but {shared:.0%} of holders share one address, which looks like a care "
                      "home's rounds: lower risk"))
    if d["routine"]:
        notes.append(("但全年白天规律发生，像是透析等定期治疗，风险较低",
                      "but it recurs in daytime all year, like scheduled treatment (dialysis): "
                      "lower risk"))
    return notes


def _drop_repeats(found: list[Finding]) -> list[Finding]:
    """A terminal's finding and its operator's are usually the same claims: keep the best."""
    found.sort(key=lambda f: (-f.score, -len(f.claim_ids), f.claim_ids[0]))
    kept: list[Finding] = []
    seen: list[set[str]] = []
    for f in found:
        ids = set(f.claim_ids)
        if any(len(ids & s) >= 0.5 * min(len(ids), len(s)) for s in seen):
            continue
        kept.append(f)
        seen.append(ids)
    return kept
