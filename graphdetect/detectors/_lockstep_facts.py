"""What the lockstep detectors score, explain and classify a group by (:mod:`._lockstep`).

:func:`describe` gathers a group's facts as plain JSON values (entities by id, the
occasions with their hours, the evidence features); :func:`facts` works them out once
per group for both detectors; :func:`classify` says which pattern a group is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..graph import OUTPATIENT, PHARMACY
from ._arrays import commonest, sorted_unique
from ._features import (
    amount_cv,
    calendar,
    elderly_share,
    in_hospital_elsewhere,
    off_hours_share,
    robust_cv,
    shared_address,
    stranger_share,
    usual_bill,
)
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
    "median_amount": ("单笔金额中位数", "median bill", "yuan"),
    "amount_cv": ("金额变异系数", "bill CV", "percent"),
    "usual_amount": ("该机构常规单笔金额", "the place's usual bill", "yuan"),
    "usual_amount_cv": ("该机构常规金额变异系数", "the place's usual bill CV", "percent"),
    "amount_spread": ("金额稳健离散度", "robust bill spread", "percent"),
    "usual_amount_spread": ("该机构常规金额稳健离散度", "the place's usual robust spread",
                            "percent"),
    "amount_sameness": ("金额雷同程度（0–1）", "bills alike (0–1)", "number"),
    "bill_ratio": ("单笔金额 / 该机构常规", "bill / the place's usual", "times"),
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
    "max_cards": ("单日最多卡数", "most cards in a day", "count"),
    "min_cards": ("单日最少卡数", "fewest cards in a day", "count"),
}


def facts(graph, group: Group) -> dict:
    """:func:`describe` of a group, worked out once and shared by both detectors."""
    if group.facts is None:
        group.facts = describe(graph, group, stays(graph))
    return group.facts


def describe(graph, group: Group, stay_table) -> dict:
    """The facts both detectors score and explain a group by (plain JSON values).

    Entities are ids; ``occasions`` lists each day with its first and last swipe time
    (``None`` without times) and its number of cards.
    """
    rows = group.rows
    amounts = graph.amount[rows]
    visits = graph.visit[rows]
    out_share = float(np.mean(visits == OUTPATIENT))
    usual, usual_cv, usual_rcv = usual_bill(graph, group.place, rows, (OUTPATIENT,)
                                            if out_share >= 0.5 else (PHARMACY,), robust=True)
    day = graph.day[rows]
    days, di = np.unique(day, return_inverse=True)
    di = di.reshape(-1)
    card = graph.codes("card")[rows].astype(np.int64)
    per_day_cards = np.bincount(sorted_unique(di.astype(np.int64) << 32 | card) >> 32,
                                minlength=len(days)).tolist()
    tod = graph.seconds[rows] % 86400
    lo, hi = np.full(len(days), 86400, np.int64), np.zeros(len(days), np.int64)
    np.minimum.at(lo, di, tod)
    np.maximum.at(hi, di, tod)
    occasions = [{"day": day_str(d), "cards": int(n),
                  "from": _hhmm(a) if group.timed else None,
                  "to": _hhmm(b) if group.timed else None}
                 for d, n, a, b in zip(days.tolist(), per_day_cards, lo.tolist(), hi.tolist(),
                                       strict=True)]
    gaps = None
    if group.timed:
        order = np.argsort(graph.seconds[rows], kind="stable")
        g = np.diff(graph.seconds[rows][order])[np.diff(day[order]) == 0]
        gaps = float(np.median(g) / 60) if len(g) else None
    doctors = commonest(graph, "doctor", graph.codes("doctor")[rows])
    cards = _ids(graph, "card", rows)
    doc_share = sum(n for _, n in doctors[:2]) / len(rows) if doctors else None
    calendar_days, per_week, weekday_share = calendar(graph, rows, group.place)
    in_hosp = in_hospital_elsewhere(graph, rows, stay_table)
    stranger = stranger_share(graph, rows, group.place)
    return {
        "host": str(graph.index("institution")[group.place]),
        "cards": cards,
        "holders": cards if graph.cards_are_patients else _ids(graph, "patient", rows),
        "terminals": [i for i, _ in commonest(graph, "terminal", graph.codes("terminal")[rows])],
        "operators": [i for i, _ in commonest(graph, "operator", graph.codes("operator")[rows])],
        "doctors": [i for i, _ in doctors],
        "first_day": day_str(days.min()), "last_day": day_str(days.max()),
        "occasions": occasions, "timed": group.timed, "streams": list(group.kinds),
        "m": {
            "occasions": len(days), "cards": len(cards),
            "claims": len(rows), "total_amount": round(float(amounts.sum()), 2),
            "median_amount": round(float(np.median(amounts)), 2),
            "amount_cv": round(amount_cv(amounts), 4),
            "usual_amount": None if usual is None else round(usual, 2),
            "usual_amount_cv": None if usual_cv is None else round(usual_cv, 4),
            "amount_spread": robust_cv(amounts), "usual_amount_spread": usual_rcv,
            "bill_ratio": None if not usual else round(float(np.median(amounts)) / usual, 2),
            "outpatient_share": round(out_share, 3),
            "doctor_share": None if doc_share is None else round(doc_share, 3),
            "density": round(group.density, 1),
            "median_gap_minutes": None if gaps is None else round(gaps, 1),
            "off_hours_share": _r(off_hours_share(graph, rows, group.place)),
            "night_share": _r(off_hours_share(graph, rows, group.place, margin=True)),
            "strangers_share": _r(stranger),
            "in_hospital_elsewhere": int(in_hosp.sum()),
            "shared_address_share": _r(shared_address(graph, rows)),
            "shared_phone_share": _r(shared_address(graph, rows, "phone_hash")),
            "elderly_share": _r(elderly_share(graph, sorted_unique(graph.codes("patient")[rows]),
                                              int(days.min()))),
            "visits_per_week": round(per_week, 2), "weekday_share": round(weekday_share, 3),
            "calendar_days": round(calendar_days, 1),
            "max_cards": int(max(per_day_cards)),
            "min_cards": int(min(per_day_cards)),
        },
    }


def classify(facts: dict) -> str:
    """Which pattern a lockstep group is: ``"outpatient_gathering"`` or ``"card_pooling"``.

    A group is a *gathering* (people brought in) when its settlements are outpatient
    visits, mostly under one or two doctors (when the data has doctor ids), billed at
    least three times the place's own usual outpatient bill, with no sign that the
    holders were absent: hardly any swipes in the place's night (hours it is shut, the
    hours either side shut too: a bus arriving the hour before opening is presence, a
    run at midnight is not) and hardly any while the holder was in hospital elsewhere.
    Everything else is *pooling* (cards swiped without their holders): pharmacy
    purchases, routine or small amounts, off-hours runs, absent or far-away holders.
    """
    m = facts["m"]
    visits = m["outpatient_share"] >= 0.8
    doctor = m["doctor_share"] is None or m["doctor_share"] >= 0.8
    high = m["bill_ratio"] is not None and m["bill_ratio"] >= 3
    present = ((m["night_share"] or 0) <= 0.2
               and m["in_hospital_elsewhere"] <= 0.05 * m["claims"])
    return "outpatient_gathering" if visits and doctor and high and present else "card_pooling"


def _ids(graph, kind: str, rows: np.ndarray) -> list[str]:
    """:meth:`ClaimsGraph.ids` by one sort (the distinct ids on the rows, sorted)."""
    codes = sorted_unique(graph.codes(kind)[rows])
    return sorted(str(x) for x in graph.index(kind).take(codes[codes >= 0]).tolist())


def _hhmm(seconds: int) -> str:
    return f"{int(seconds) // 3600:02d}:{int(seconds) % 3600 // 60:02d}"


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 3)
