"""What the lockstep detectors score, explain and classify a group by (:mod:`._lockstep`).

:func:`describe` gathers groups' facts as plain JSON values (entities by id, the
occasions with their hours, the evidence features), all groups at once; :func:`facts`
works them out once for both detectors; :func:`classify` says which pattern a group is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..graph import OUTPATIENT
from ._arrays import distinct_counts, group_medians, pair_order
from ._features import amount_cv, in_hospital_elsewhere
from ._lockstep_bills import usual_bills, visit_bills
from ._lockstep_features import (
    calendar,
    commonest,
    elderly,
    ids,
    pairs,
    place_tables,
    place_walk,
    shared,
    split,
    strangers,
    walk_times,
)
from ._lockstep_hours import off_hours, run_floor, shut_companions, stamp_seconds
from ._stays import day_str, stays

if TYPE_CHECKING:
    from ._lockstep import Group

__all__ = ["facts", "describe", "classify", "METRICS"]

#: The labels of the metrics both lockstep patterns carry (:attr:`Pattern.metrics`).
METRICS = {
    "occasions": ("集中结算天数", "days with runs", "count"),
    "cards": ("医保卡数", "cards", "count"),
    "people": ("人数", "people", "count"),
    "claims": ("结算笔数", "settlements", "count"),
    "total_amount": ("金额合计", "total", "yuan"),
    "median_amount": ("单次就诊金额中位数", "median bill per visit", "yuan"),
    "amount_cv": ("金额变异系数", "bill CV", "percent"),
    "usual_amount": ("该机构常规单次就诊金额", "the place's usual bill per visit", "yuan"),
    "usual_amount_cv": ("该机构常规金额变异系数", "the place's usual bill CV", "percent"),
    "amount_spread": ("金额稳健离散度", "robust bill spread", "percent"),
    "usual_amount_spread": ("该机构常规金额稳健离散度", "the place's usual robust spread",
                            "percent"),
    "amount_sameness": ("金额雷同程度（0–1）", "bills alike (0–1)", "number"),
    "bill_ratio": ("次均金额 / 该机构常规", "bill per visit / the place's usual", "times"),
    "outpatient_share": ("门诊占比", "outpatient share", "percent"),
    "doctor_share": ("主要医师占比", "share under the main doctors", "percent"),
    "density": ("时段密度倍数（相对常规）", "window density vs usual", "times"),
    "median_gap_minutes": ("刷卡间隔中位数", "median gap between swipes", "minutes"),
    "off_hours_share": ("非营业时段占比", "share outside opening hours", "percent"),
    "night_share": ("夜间（停业时段）占比", "share in the place's night", "percent"),
    "strangers_share": ("来自少来往乡镇的持卡人占比", "holders from townships it hardly serves",
                        "percent"),
    "in_hospital_elsewhere": ("刷卡时持卡人正在他院住院",
                              "swipes while in hospital elsewhere", "count"),
    "shared_address_share": ("持卡人同住址占比", "holders sharing one address", "percent"),
    "shared_phone_share": ("持卡人同手机号占比", "holders sharing one phone", "percent"),
    "elderly_share": ("60岁以上占比", "aged 60 or over", "percent"),
    "visits_per_week": ("每卡每周就诊次数", "visits per card per week", "number"),
    "weekday_share": ("固定星期几占比", "share on fixed weekdays", "percent"),
    "calendar_days": ("持卡人在该机构就诊天数（中位）", "holders' visit days there (median)",
                      "days"),
    "course_share": ("疗程内就诊占比", "share in courses of daily visits", "percent"),
    "max_cards": ("单日最多卡数", "most cards in a day", "count"),
    "min_cards": ("单日最少卡数", "fewest cards in a day", "count"),
}


def facts(graph, groups: list[Group]) -> list[dict]:
    """:func:`describe` of each group, worked out once (for all groups lacking them
    together) and shared by both detectors."""
    todo = [g for g in groups if g.facts is None]
    if todo:
        for g, f in zip(todo, describe(graph, todo, stays(graph)), strict=True):
            g.facts = f
    return [g.facts for g in groups]


def describe(graph, groups: list[Group], stay_table) -> list[dict]:
    """The facts both detectors score and explain each group by (plain JSON values).

    Entities are ids; ``occasions`` lists each day with its first and last swipe time
    (``None`` without times) and its number of cards. The groups are described
    together (:mod:`._lockstep_features`): each fact is one pass over all their rows.
    """
    n = len(groups)
    if not n:
        return []
    size = np.array([len(g.rows) for g in groups])
    ends = np.cumsum(size).tolist()
    cut = list(zip([0] + ends[:-1], ends, strict=True))
    rows = np.concatenate([g.rows for g in groups])
    gid = np.repeat(np.arange(n, dtype=np.int64), size)
    place = np.array([g.place for g in groups], np.int64)
    places, pi = np.unique(place, return_inverse=True)
    here = graph.codes("institution")[rows] == place[gid]
    walk = place_walk(graph, places)
    times = walk_times(graph, walk)
    hours, people = place_tables(graph, walk, times, len(places))
    amounts = graph.amount[rows]
    visits = graph.visit[rows]
    out_share = (np.bincount(gid, weights=visits == OUTPATIENT, minlength=n) / size).tolist()
    occasions, first_day, gaps, run_gap = _occasions(graph, rows, gid, place, n)
    doctors = commonest(graph, "doctor", gid, graph.codes("doctor")[rows], n)
    terminals = commonest(graph, "terminal", gid, graph.codes("terminal")[rows], n)
    operators = commonest(graph, "operator", gid, graph.codes("operator")[rows], n)
    cards = ids(graph, "card", gid, graph.codes("card")[rows], n)
    holders = cards if graph.cards_are_patients else ids(
        graph, "patient", gid, graph.codes("patient")[rows], n)
    calendar_days, per_week, weekday_share, course_share = (x.tolist() for x in calendar(
        graph, rows, gid, pi, walk, n))
    in_hosp = np.bincount(gid, weights=in_hospital_elsewhere(graph, rows, stay_table),
                          minlength=n).astype(np.int64).tolist()
    c_rows, c_gid = shut_companions(graph, rows, gid, pi, walk, times, hours, run_gap, n)
    off, night = off_hours(graph, rows, gid, pi, here, hours, n, (c_rows, c_gid))
    c_cards = ids(graph, "card", c_gid, graph.codes("card")[c_rows], n)
    c_holders = c_cards if graph.cards_are_patients else ids(
        graph, "patient", c_gid, graph.codes("patient")[c_rows], n)
    c_amount = np.bincount(c_gid, weights=graph.amount[c_rows], minlength=n).tolist()
    c_split = split(c_rows.tolist(), c_gid, n)
    stranger = strangers(graph, rows, gid, pi, here, people, n)
    pg, patient, _ = pairs(gid, graph.codes("patient")[rows])
    n_holders = np.bincount(pg, minlength=n)
    address = shared(graph, pg, patient, n_holders, n, "address_hash")
    phone = shared(graph, pg, patient, n_holders, n, "phone_hash")
    old = elderly(graph, pg, patient, first_day, n)
    bills = usual_bills(graph, groups, pi, walk, [x >= 0.5 for x in out_share])
    host = graph.index("institution").take(place).tolist()
    # bills by visit: a card's claims on one of the place's days, one or several
    _, bill, bill_gid = visit_bills(graph, rows, gid)
    bill_cut = np.searchsorted(bill_gid, np.arange(n + 1))
    median = group_medians(bill, bill_gid, n)
    # the robust spread: 1.4826 times the median distance from the median, over the median
    mad = group_medians(np.abs(bill - median[bill_gid]), bill_gid, n).tolist()
    median = median.tolist()
    # each distinct day written once (groups share their days)
    days = {d: day_str(d) for d in {d for occ in occasions for d, _, _, _ in occ}}
    doctor_ids = bool(graph.n("doctor"))
    out = []
    for k, group in enumerate(groups):
        a, b = cut[k]
        amt = amounts[a:b]
        usual, usual_cv, usual_rcv = bills[k]
        doc_share = sum(c for _, c in doctors[k][:2]) / len(group.rows) \
            if doctors[k] else None
        occ = occasions[k]
        out.append({
            "host": str(host[k]),
            "cards": cards[k],
            "holders": holders[k],
            "terminals": [i for i, _ in terminals[k]],
            "operators": [i for i, _ in operators[k]],
            "doctors": [i for i, _ in doctors[k]],
            "first_day": days[occ[0][0]], "last_day": days[occ[-1][0]],
            "occasions": [{"day": days[d], "cards": c,
                           "from": _hhmm(f) if group.timed else None,
                           "to": _hhmm(e) if group.timed else None} for d, c, f, e in occ],
            "timed": group.timed, "streams": list(group.kinds), "doctor_ids": doctor_ids,
            # the other cards its runs swiped while the place was shut (:func:`shut_companions`)
            "companions": {"rows": c_split[k], "cards": c_cards[k], "holders": c_holders[k],
                           "amount": round(c_amount[k], 2)},
            "m": {
                "occasions": len(occ), "cards": len(cards[k]),
                "claims": len(group.rows), "total_amount": round(float(amt.sum()), 2),
                "median_amount": round(median[k], 2),
                "amount_cv": round(amount_cv(bill[bill_cut[k]:bill_cut[k + 1]]), 4),
                "usual_amount": None if usual is None else round(usual, 2),
                "usual_amount_cv": None if usual_cv is None else round(usual_cv, 4),
                "amount_spread": 0.0 if bill_cut[k + 1] - bill_cut[k] < 2 or median[k] <= 0
                else round(1.4826 * mad[k] / median[k], 4),
                "usual_amount_spread": usual_rcv,
                "bill_ratio": None if not usual else round(median[k] / usual, 2),
                "outpatient_share": round(out_share[k], 3),
                "doctor_share": None if doc_share is None else round(doc_share, 3),
                "density": round(group.density, 1),
                "median_gap_minutes": None if not group.timed or np.isnan(gaps[k])
                else round(float(gaps[k]), 1),
                "off_hours_share": _r(off[k]),
                "night_share": _r(night[k]),
                "strangers_share": _r(stranger[k]),
                "in_hospital_elsewhere": in_hosp[k],
                "shared_address_share": _r(address[k]),
                "shared_phone_share": _r(phone[k]),
                "elderly_share": _r(old[k]),
                "visits_per_week": round(per_week[k], 2),
                "weekday_share": round(weekday_share[k], 3),
                "calendar_days": round(calendar_days[k], 1),
                "course_share": round(course_share[k], 3),
                "max_cards": max(c for _, c, _, _ in occ),
                "min_cards": min(c for _, c, _, _ in occ),
            },
        })
    return out


def classify(facts: dict) -> str:
    """Which pattern a lockstep group is: ``"outpatient_gathering"`` or ``"card_pooling"``.

    A group is a *gathering* (people brought in) when its settlements are outpatient
    visits, mostly under one or two doctors (when the data has doctor ids: a group
    under none is no one's patients, say a pharmacy's purchases an export calls
    outpatient visits), billed at
    least three times the place's own usual outpatient bill, with no sign that the
    holders were absent: hardly any swipes in the place's night (hours it is shut, the
    hours either side shut too: a bus arriving the hour before opening is presence, a
    run at midnight is not) and hardly any while the holder was in hospital elsewhere.
    Everything else is *pooling* (cards swiped without their holders): pharmacy
    purchases, routine or small amounts, off-hours runs, absent or far-away holders.
    """
    m = facts["m"]
    visits = m["outpatient_share"] >= 0.8
    doctor = m["doctor_share"] >= 0.8 if m["doctor_share"] is not None \
        else not facts["doctor_ids"]
    high = m["bill_ratio"] is not None and m["bill_ratio"] >= 3
    present = ((m["night_share"] or 0) <= 0.2
               and m["in_hospital_elsewhere"] <= 0.05 * m["claims"])
    return "outpatient_gathering" if visits and doctor and high and present else "card_pooling"


def _occasions(graph, rows, gid, place, n
               ) -> tuple[list[list[tuple]], np.ndarray, np.ndarray, np.ndarray]:
    """Per group (at ``place``), its occasions as (day, cards, first and last swipe in
    seconds from that day's midnight), its first day, the median gap in minutes between
    its same-day swipes (NaN for none, or where its place stamps times coarser than the
    minute, :func:`._lockstep_hours.stamp_seconds`) and the gap that cuts its runs
    (seconds: four times that median, at least
    :func:`._lockstep_hours.run_floor`).

    An occasion is a day's swipes, and a run that goes on past midnight stays one: the
    next day's first swipe within that gap of the last, the rule
    :func:`._lockstep_blocks.trim` cuts a day's runs by, continues it (its last swipe
    then lies past 24:00).
    """
    t = graph.seconds[rows]
    order = pair_order(gid, t)
    g, t = gid[order], t[order]
    day = graph.day[rows][order].astype(np.int64)
    step = np.diff(t)
    same_group = g[1:] == g[:-1]
    same = same_group & (day[1:] == day[:-1])
    gaps = group_medians(step[same], g[1:][same], n) / 60
    cut = np.maximum(4 * 60 * np.nan_to_num(gaps), run_floor(graph, place))
    gaps[stamp_seconds(graph)[place] > 60] = np.nan
    new = np.ones(len(t), bool)
    new[1:] = ~same_group | ((day[1:] != day[:-1]) & (step > cut[g[1:]]))
    occasion = np.cumsum(new) - 1
    start = np.flatnonzero(new)
    end = np.append(start[1:], len(t)) - 1
    cards = distinct_counts(occasion, graph.codes("card")[rows][order].astype(np.int64),
                            len(start))
    o_day, o_group = day[start], g[start]
    occasions = split(list(zip(o_day.tolist(), cards.tolist(),
                               (t[start] - o_day * 86400).tolist(),
                               (t[end] - o_day * 86400).tolist(), strict=True)), o_group, n)
    first_day = o_day[np.searchsorted(o_group, np.arange(n))]
    return occasions, first_day, gaps, cut


def _hhmm(seconds: int) -> str:
    return _HHMM[int(seconds) // 60] if 0 <= seconds < 86400 else \
        f"{int(seconds) // 3600:02d}:{int(seconds) % 3600 // 60:02d}"


#: every minute of the day as ``HH:MM``, written once
_HHMM = [f"{m // 60:02d}:{m % 60:02d}" for m in range(1440)]


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 3)
