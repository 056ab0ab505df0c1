"""outpatient_gathering: the same people brought in together for same-day outpatient visits,
again and again, for near-identical high bills (聚集性就医 without admission)."""

from __future__ import annotations

import numpy as np

from ._base import Finding, Pattern, detector
from ._features import course_note, held_below, in_courses, logistic
from ._lockstep import groups_of
from ._lockstep_facts import METRICS
from .card_pooling import lockstep_params, occasions_text

__all__ = ["outpatient_gathering", "PATTERN"]


def _explain(case: dict, lang: str, name) -> str:
    m, d = case["metrics"], case["details"]
    place = name("institution", d["host"])
    zh = lang == "zh"
    if zh:
        parts = [f"同一批{m['people']}人在{m['occasions']}天（{d['first_day']}至{d['last_day']}）"
                 f"集中到{place}门诊就诊，每次{m['min_cards']}至{m['max_cards']}人，共"
                 f"{m['claims']}笔、{m['total_amount']:,.2f}元"]
    else:
        parts = [f"The same {m['people']} people were seen together at {place} as outpatients "
                 f"on {m['occasions']} days ({d['first_day']} to {d['last_day']}), "
                 f"{m['min_cards']} to {m['max_cards']} each time: {m['claims']} visits, "
                 f"{m['total_amount']:,.2f} yuan"]
    parts.append(occasions_text(m, d, zh))
    if m["doctor_share"] is None:
        parts.append("数据无医师编码，按机构计" if zh else "no doctor ids: counted by place")
    else:
        top = [name("doctor", x) for x in d["doctors"][:2]]
        parts.append(f"{m['doctor_share']:.0%}的就诊由医师{'、'.join(top)}接诊" if zh else
                     f"{m['doctor_share']:.0%} of the visits under doctor {' and '.join(top)}")
    if zh:
        parts.append(f"次均费用{m['median_amount']:,.2f}元，为该处平常门诊费用"
                     f"（{m['usual_amount']:,.2f}元）的{m['bill_ratio']:.1f}倍，金额变异系数"
                     f"{m['amount_cv']:.1%}")
    else:
        parts.append(f"a median bill per visit of {m['median_amount']:,.2f} yuan, "
                     f"{m['bill_ratio']:.1f}x "
                     f"the place's usual outpatient bill ({m['usual_amount']:,.2f}), varying by "
                     f"{m['amount_cv']:.1%} (CV)")
    if m["elderly_share"] is not None:
        parts.append(f"{m['elderly_share']:.0%}为60岁以上老人" if zh else
                     f"{m['elderly_share']:.0%} are aged 60 or over")
    if d["routine"]:
        parts.append(f"但同一批人每周约{m['visits_per_week']:.1f}次、固定在星期几，像是定期治疗，"
                     "风险较低" if zh else
                     f"but the same people come {m['visits_per_week']:.1f} times a week on fixed "
                     "weekdays, like scheduled treatment: lower risk")
    if d.get("course"):
        parts.append(course_note(m)[0 if zh else 1])
    if d["care_home"]:
        parts.append(f"但{m['shared_address_share']:.0%}的人同住一址，像是养老机构的巡诊，风险较低"
                     if zh else f"but {m['shared_address_share']:.0%} share one address, like a "
                     "care home's rounds: lower risk")
    if d.get("shared_phone"):
        parts.append(f"但{m['shared_phone_share']:.0%}的人登记同一电话，属多户头/冒名线索，另由身份共用"
                     "规则报告" if zh else f"but {m['shared_phone_share']:.0%} give one phone "
                     "number: a shared-identity lead, reported by that rule")
    sep, stop = ("；", "。") if zh else ("; ", ".")
    return sep.join(p for p in parts if p) + stop


PATTERN = Pattern(
    "outpatient_gathering", prefix="G", zh="聚集性门诊就医", en="Outpatient gathering",
    rules={"聚集性就医": "clustered visits", "集中就诊": "seen together",
           "费用雷同": "near-identical bills"},
    explain=_explain,
    needs={"claims.doctor_id": "gatherings are found by place, not by doctor",
           "claims.time_of_day": "windows are whole days",
           "patients.birth": "people's ages were not checked",
           "patients.region_code": "people's homes were not checked",
           "patients.address_hash": "shared addresses (care homes) were not checked"},
    metrics=METRICS, after=("card_pooling",))


@detector(PATTERN, lockstep_params())
def outpatient_gathering(graph, *, density: float = 2.0, min_run_cards: int = 8,
                         min_runs: int = 3, min_overlap: float = 0.4,
                         min_cards: int = 8) -> list[Finding]:
    """Find the same people seen together, same day, same doctor, again and again.

    The lockstep engine (:mod:`._lockstep`, shared with card_pooling) finds groups of
    cards that keep appearing together in windows far denser than the place's usual
    traffic. :func:`._lockstep.classify` calls a group a *gathering* when its
    settlements are outpatient visits, mostly under one or two doctors (or the place,
    without doctor ids), billed at three times the place's own usual outpatient bill or
    more, with no sign that the holders were absent: at most a fifth of the swipes in
    the place's night (hours it is shut with the hours either side shut too, so a bus
    arriving the hour before opening counts as presence) and at most 5% while the
    holder was in hospital elsewhere; every other group is card pooling. So one group
    gives one case of one pattern. A phantom biller billing high under the village
    doctor by day, with nothing showing the holders away, reads as a gathering (still
    one case); once holders are shown in hospital elsewhere it is pooling.

    The score rises with repetition, bills per visit (a card's claims there that day) more
    alike than the place's usual visits' and high for it, dense windows, one doctor and
    elderly people; it falls when the same people come 1.5 times a week or more on fixed
    weekdays by their own calendar there, all their visits and not only the windows
    (scheduled treatment), and is held below the case threshold when they share one
    address (a care home); when most of more than twelve people give one phone
    number it is left to shared_identity (scored low here, with that reason).

    Examples
    --------
    >>> import pandas as pd
    >>> from graphdetect.graph import ClaimsGraph
    >>> usual = [(f"U{k}", f"Q{k}", pd.Timestamp("2024-01-01 08:00")
    ...           + pd.Timedelta(days=k % 90, hours=k % 7), 60.0 + k % 40) for k in range(300)]
    >>> bus = [(f"B{n}-{k}", f"P{k}", pd.Timestamp("2024-01-03 08:30")
    ...         + pd.Timedelta(days=14 * n, minutes=3 * k), 880.0) for n in range(5)
    ...        for k in range(15)]
    >>> claims = pd.DataFrame(usual + bus, columns=["claim_id", "patient_id", "start_time",
    ...     "total_amount"]).assign(institution_id="C1", doctor_id="D1",
    ...     visit_type="outpatient")
    >>> [len(f.claim_ids) for f in outpatient_gathering(ClaimsGraph(claims))]
    [75]
    """
    found = [_finding(f, ids) for _, f, ids in groups_of(
        graph, "outpatient_gathering", density=density, min_run_cards=min_run_cards,
        min_runs=min_runs, min_overlap=min_overlap, min_cards=min_cards)]
    found.sort(key=lambda f: (-f.score, f.claim_ids[0]))
    return found


def _finding(facts: dict, claim_ids: list[str]) -> Finding:
    m = dict(facts["m"])
    m["people"] = len(facts["holders"])
    usual_cv = m["usual_amount_cv"] or 0.5
    same = 1.0 - min(m["amount_cv"] / max(0.3 * usual_cv, 1e-9), 1.0)
    z = -2.5 + 1.5 * min(m["occasions"], 8) / 8 + 2.0 * same
    z += min(float(np.log2(max(m["bill_ratio"], 1.0))) / 3, 1.0)
    z += min(max(float(m["density"]), 1.0) ** 0.5 / 4, 1.0)
    z += 0.7 * (m["elderly_share"] or 0.0) + 0.5 * ((m["doctor_share"] or 0.0) >= 0.8)
    care_home = m["shared_address_share"] is not None and m["shared_address_share"] >= 0.5
    routine = m["visits_per_week"] >= 1.5 and m["weekday_share"] >= 0.9 \
        and m["calendar_days"] >= 12
    course = in_courses(m)
    phone = m["shared_phone_share"] is not None and m["shared_phone_share"] >= 0.5 \
        and not care_home and m["people"] > 12
    z -= 3.0 * (routine or course) + 3.0 * phone
    m["amount_sameness"] = round(same, 3)
    rules = ["聚集性就医"]
    if m["density"] >= 4:
        rules.append("集中就诊")
    if m["amount_cv"] < 0.05:
        rules.append("费用雷同")
    members = [("institution", facts["host"], "host")]
    members += [("doctor", x, "doctor") for x in facts["doctors"]]
    holders = set(facts["holders"])
    members += [("card", x, "card") for x in facts["cards"] if x not in holders]
    members += [("patient", h, "member") for h in facts["holders"]]
    details = {k: facts[k] for k in ("host", "doctors", "first_day", "last_day", "occasions",
                                     "timed", "streams")}
    details.update(care_home=bool(care_home), routine=bool(routine), course=bool(course),
                   shared_phone=bool(phone))
    # a care home's rounds: held below the case threshold, saying why
    score = held_below(logistic(z)) if care_home else logistic(z)
    return Finding("outpatient_gathering", round(score, 4), members,
                   claim_ids, rules, m, details)
