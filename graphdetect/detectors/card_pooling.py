"""card_pooling: many people's cards swiped together, repeatedly, by one place (聚敛盗刷, 空刷)."""

from __future__ import annotations

import numpy as np

from ._base import Finding, Param, Pattern, detector, int_at_least, number_in
from ._features import course_note, held_below, in_courses, logistic
from ._lockstep import groups_of
from ._lockstep_facts import METRICS

__all__ = ["card_pooling", "PATTERN", "lockstep_params", "actors_text", "occasions_text"]


def _explain(case: dict, lang: str, name) -> str:
    m, d = case["metrics"], case["details"]
    place = name("institution", d["host"])
    zh = lang == "zh"
    if zh:
        head = (f"{place}在{m['occasions']}天（{d['first_day']}至{d['last_day']}）反复集中刷同一批"
                f"{m['cards']}张医保卡，共{m['claims']}笔、{m['total_amount']:,.2f}元；每次"
                f"{m['min_cards']}至{m['max_cards']}张卡")
    else:
        head = (f"{place} swiped the same {m['cards']} insurance cards together on "
                f"{m['occasions']} days ({d['first_day']} to {d['last_day']}): {m['claims']} "
                f"settlements, {m['total_amount']:,.2f} yuan, {m['min_cards']} to "
                f"{m['max_cards']} cards each time")
    parts = [head, companions_text(m, zh), occasions_text(m, d, zh), actors_text(d, zh, name)]
    sep, stop = ("；", "。") if zh else ("; ", ".")
    return sep.join([p for p in parts if p] + [n[0 if zh else 1] for n in _notes(m, d)]) + stop


def companions_text(m: dict, zh: bool) -> str:
    """The other cards its runs swiped while the place was shut, when there are any."""
    k = m.get("companion_cards") or 0     # cases written before the companions: none
    if not k:
        return ""
    if zh:
        return (f"停业时段的这些集中刷卡中还刷了另外{k}张卡（{m['companion_claims']}笔、"
                f"{m['companion_amount']:,.2f}元），一并列入")
    return (f"in those runs, made while it is shut, it also swiped {k} other cards "
            f"({m['companion_claims']} settlements, {m['companion_amount']:,.2f} yuan), "
            f"listed with them")


def occasions_text(m: dict, d: dict, zh: bool) -> str:
    """How dense the windows were, and the first occasions with their hours."""
    if d["timed"]:
        shown = "、".join(f"{o['day']} {o['from']}-{o['to']}（{o['cards']}张）"
                         for o in d["occasions"][:3]) if zh else ", ".join(
            f"{o['day']} {o['from']}-{o['to']} ({o['cards']} cards)" for o in d["occasions"][:3])
        if zh:
            return (f"刷卡密度为该处同一时段平常的{m['density']:.1f}倍（中位数），如{shown}")
        return f"windows {m['density']:.1f}x as dense as its usual traffic at those hours " \
               f"(median), e.g. {shown}"
    if zh:
        return f"数据无具体时刻，按日计：这些日子的结算量为该处同星期几平常的{m['density']:.1f}倍"
    return (f"no times of day, so windows are whole days: {m['density']:.1f}x its usual "
            f"settlements for those weekdays")


def actors_text(d: dict, zh: bool, name) -> str:
    """The terminals, operators and doctors on the evidence, commonest first."""
    parts = []
    for kind, zh_word, en_word in (("terminals", "终端", "terminals"),
                                   ("operators", "操作员", "operators"),
                                   ("doctors", "医师", "doctors")):
        ids = d[kind]
        if ids:
            who = [name(kind[:-1], x) for x in ids[:4]]
            more = len(ids) - len(who)
            if zh:
                parts.append(f"{zh_word}{'、'.join(who)}" + (f"等{len(ids)}个" if more else ""))
            else:
                parts.append(f"{en_word} {', '.join(who)}" + (f" and {more} more" if more else ""))
    if not parts:
        return ""
    return ("经" + "，".join(parts)) if zh else ("via " + "; ".join(parts))


PATTERN = Pattern(
    "card_pooling", prefix="K", zh="聚敛盗刷医保卡", en="Card pooling",
    rules={"聚敛盗刷": "card pooling", "分时段集中刷卡": "swipes in concentrated slots",
           "金额高度一致": "near-identical amounts", "住院期间异地刷卡": "swiped while in hospital",
           "虚假就诊": "phantom visits"},
    explain=_explain,
    needs={"claims.terminal_id": "swipes were grouped by place, operator and doctor only",
           "claims.operator_id": "swipes were grouped by place, terminal and doctor only",
           "claims.time_of_day": "windows are whole days and off-hours swipes were not checked",
           "patients.region_code": "holders' homes were not checked",
           "patients.address_hash": "shared addresses (care homes) were not checked",
           "patients.birth": "holders' ages were not checked"},
    metrics={**METRICS,
             "companion_cards": ("停业时段集中刷卡中另刷的卡数",
                                 "other cards in its runs while shut", "count"),
             "companion_claims": ("另刷卡的结算笔数", "settlements of those other cards",
                                  "count"),
             "companion_amount": ("另刷卡的金额", "amount of those other cards", "yuan")})


def lockstep_params() -> list[Param]:
    """The lockstep engine's parameters, shared by card_pooling and outpatient_gathering."""
    return [
        Param("density", "How many times denser than its stream's usual traffic at that hour "
              "(or on that weekday, without times) a window must be.", "a number in [1.2, 20]",
              number_in(1.2, 20), float),
        Param("min_run_cards", "Distinct cards a window needs to count.", "an int >= 3",
              int_at_least(3)),
        Param("min_runs", "Distinct days with windows of largely the same cards needed.",
              "an int >= 2", int_at_least(2)),
        Param("min_overlap", "Share of the smaller window's recurring cards (those the "
              "place's windows on other days hold too) two windows must share; also the "
              "share of a set of shut-hour windows' swipes that its cards seen on two or "
              "more days must make.",
              "a number in [0.05, 1]", number_in(0.05, 1), float),
        Param("min_cards", "Cards a finding needs (those seen on two or more of its days).",
              "an int >= 3", int_at_least(3)),
    ]


@detector(PATTERN, lockstep_params())
def card_pooling(graph, *, density: float = 2.0, min_run_cards: int = 8, min_runs: int = 3,
                 min_overlap: float = 0.4, min_cards: int = 8) -> list[Finding]:
    """Find places that swipe largely the same set of cards in window after window.

    The lockstep engine (:mod:`._lockstep`) finds groups of cards that keep appearing
    together in windows far denser than the place's (or its terminal's, operator's,
    doctor's) usual traffic at that hour. A group is *pooling* unless
    :func:`._lockstep.classify` calls it a gathering: pooling is cards swiped without
    their holders — pharmacy purchases, small or routine amounts, runs in the place's
    night, holders in hospital elsewhere. (A gathering — outpatient visits under one or
    two doctors billed at three times the place's usual, with no sign of absence: at most
    a fifth of the swipes in the place's night, i.e. hours it is shut with the hours
    either side shut too, and at most 5% while the holder was in hospital elsewhere — is
    outpatient_gathering's; a bus arriving the hour before opening is presence.)

    The score rises with repetition, bills per visit (a card's claims there that day)
    far more alike than the place's usual visits', dense windows, swipes in the place's
    off hours, holders from townships it hardly serves and holders in hospital
    elsewhere; it is held below the case threshold when most holders share one address
    (a care home's rounds), and falls when the holders' own calendar there is a treatment
    schedule (each card there 1.5 times a week or more on fixed weekdays, at least 12
    days, over all its visits there and not only the windows, which may catch only the
    busiest sessions; the runs not in the place's night: dialysis, its afternoon shift
    over the outpatients' lunch break too) or courses of daily visits (half the swipes on
    days of their card's three or more visit days in a row there, weekends aside, within
    four weeks: physiotherapy, infusions),
    and when the bills vary as much as the place's usual ones (ordinary care); when most
    of more than twelve holders give one phone number the group is left to
    shared_identity (scored low here, with that reason).

    Examples
    --------
    >>> import pandas as pd
    >>> from graphdetect.graph import ClaimsGraph
    >>> t = pd.Timestamp("2024-01-01 22:00")
    >>> rows = [(f"C{n}{k}", f"P{k}", t + pd.Timedelta(days=9 * n, minutes=2 * k))
    ...         for n in range(4) for k in range(10)]
    >>> claims = pd.DataFrame(rows, columns=["claim_id", "patient_id", "start_time"]).assign(
    ...     institution_id="PH1", terminal_id="T1", visit_type="pharmacy", total_amount=198.0)
    >>> [len(f.claim_ids) for f in card_pooling(ClaimsGraph(claims))]
    [40]
    """
    found = [_finding(f, graph.claim_ids(np.union1d(g.rows, f["companions"]["rows"]))
                      if f["companions"]["rows"] else ids)
             for g, f, ids in groups_of(graph, "card_pooling", density=density,
                                        min_run_cards=min_run_cards, min_runs=min_runs,
                                        min_overlap=min_overlap, min_cards=min_cards)]
    found.sort(key=lambda f: (-f.score, f.claim_ids[0]))
    return found


def _finding(facts: dict, claim_ids: list[str]) -> Finding:
    m = dict(facts["m"])
    companions = facts["companions"]
    m.update(companion_cards=len(companions["cards"]), companion_claims=len(companions["rows"]),
             companion_amount=companions["amount"])
    # amounts far more alike than the place's usual bills, on the spread a few stray
    # purchases by the same cards do not move
    usual_spread = m["usual_amount_spread"] or 0.5
    same = 1.0 - min(m["amount_spread"] / max(0.3 * usual_spread, 1e-9), 1.0)
    off, far = m["off_hours_share"] or 0.0, m["strangers_share"] or 0.0
    z = -2.5 + 1.5 * min(m["occasions"], 8) / 8 + 2.5 * same
    z += min(max(float(m["density"]), 1.0) ** 0.5 / 4, 1.0) + 1.5 * off + 1.0 * far
    z += 3.0 * min(m["in_hospital_elsewhere"] / m["claims"] * 5, 1.0)
    care_home = m["shared_address_share"] is not None and m["shared_address_share"] >= 0.5
    routine = (m["visits_per_week"] >= 1.5 and m["weekday_share"] >= 0.9
               and (m["night_share"] or 0.0) <= 0.2 and m["calendar_days"] >= 12)
    course = in_courses(m)
    ordinary = same == 0.0
    phone = m["shared_phone_share"] is not None and m["shared_phone_share"] >= 0.5 \
        and not care_home and m["cards"] > 12
    z -= 3.0 * (routine or course) + 1.0 * ordinary + 3.0 * phone
    m["amount_sameness"] = round(same, 3)
    rules = ["聚敛盗刷"]
    if off >= 0.5:
        rules.append("分时段集中刷卡")
    if m["amount_cv"] < 0.05:
        rules.append("金额高度一致")
    if m["in_hospital_elsewhere"]:
        rules.append("住院期间异地刷卡")
    if m["outpatient_share"] >= 0.5:
        rules.append("虚假就诊")
    members = [("institution", facts["host"], "host")]
    members += [("terminal", x, "terminal") for x in facts["terminals"]]
    members += [("operator", x, "operator") for x in facts["operators"]]
    members += [("doctor", x, "doctor") for x in facts["doctors"]]
    # the cards and holders of its runs, then the other cards it swiped while shut (other
    # cards by construction; their holders may hold one of its cards too)
    known = set(facts["holders"])
    holders = facts["holders"] + [x for x in companions["holders"] if x not in known]
    held = set(holders)
    members += [("card", x, "card") for x in facts["cards"] + companions["cards"]
                if x not in held]
    members += [("patient", h, "holder") for h in holders]
    details = {k: facts[k] for k in ("host", "terminals", "operators", "doctors", "first_day",
                                     "last_day", "occasions", "timed", "streams")}
    details.update(care_home=bool(care_home), routine=bool(routine), course=bool(course),
                   ordinary=bool(ordinary), shared_phone=bool(phone))
    # a care home's rounds: held below the case threshold, saying why
    score = held_below(logistic(z)) if care_home else logistic(z)
    return Finding("card_pooling", round(score, 4), members,
                   claim_ids, rules, m, details)


def _notes(m: dict, d: dict) -> list[tuple[str, str]]:
    notes = []
    gap, cv, off, far = (m["median_gap_minutes"], m["amount_cv"], m["off_hours_share"],
                         m["strangers_share"])
    if gap is not None:
        notes.append((f"同日刷卡间隔中位数{gap:.1f}分钟", f"median {gap:.1f} min between swipes"))
    usual, spread, usual_spread = (m["usual_amount_cv"], m["amount_spread"],
                                   m["usual_amount_spread"])
    if usual is None:
        notes.append((f"金额变异系数{cv:.1%}（稳健离散度{spread:.1%}）",
                      f"amounts vary by {cv:.1%} (CV; {spread:.1%} robust)"))
    else:
        notes.append((f"金额变异系数{cv:.1%}、稳健离散度{spread:.1%}（该处平常为{usual:.1%}、"
                      f"{usual_spread:.1%}）",
                      f"amounts vary by {cv:.1%} (CV; {spread:.1%} robust, from the median "
                      f"absolute deviation; the place's usual bills by {usual:.1%} and "
                      f"{usual_spread:.1%})"))
    if off is None:
        notes.append(("未核查非营业时段", "off-hours not checked"))
    elif off > 0:
        notes.append((f"{off:.0%}发生在该处平常几乎无人结算的时段",
                      f"{off:.0%} in hours when the place otherwise all but shuts"))
    if far is None:
        notes.append(("缺少区划信息，未核查持卡人居住地",
                      "no region codes: holders' homes not checked"))
    else:
        notes.append((f"{far:.0%}的持卡人来自该处平常极少服务的乡镇",
                      f"{far:.0%} of holders come from townships the place hardly serves"))
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
        notes.append((f"但同一批人每周约{m['visits_per_week']:.1f}次、固定在星期几、在白天，"
                      "像是透析等定期治疗，风险较低",
                      f"but the same people come {m['visits_per_week']:.1f} times a week on fixed "
                      "weekdays in the daytime, like scheduled treatment (dialysis): lower risk"))
    if d.get("course"):
        notes.append(course_note(m))
    if d.get("shared_phone"):
        notes.append((f"{m['shared_phone_share']:.0%}的持卡人登记同一电话，属多户头/冒名线索，"
                      "另由身份共用规则报告",
                      f"{m['shared_phone_share']:.0%} of holders give one phone number: a "
                      "shared-identity lead, reported by that rule"))
    if d["ordinary"]:
        notes.append(("但金额与该处平常一样参差，像是普通诊疗（如慢病随访日），风险较低",
                      "but the bills vary as much as the place's usual ones, like ordinary care "
                      "(a follow-up clinic day): lower risk"))
    return notes
