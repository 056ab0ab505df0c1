"""Legitimate look-alikes of organised care: dialysis, nursing-home rounds, check-up days,
rehabilitation courses, chronic-disease clinic days, a county hospital's village visits,
vaccination campaigns, large households and courses of daily treatment.

Each function returns the claims of one look-alike (tagged ``tag``); ``_lookalike`` chooses
the places and people and writes the descriptions.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from . import _catalog as cat
from ._claims import DAY, HOUR, clinic_time, make, money
from ._normal import _diagnoses
from ._shared import choose, staff
from ._world import World

__all__ = ["monthly_days", "dialysis", "home_rounds", "checkup_day", "rehab_course",
           "chronic_followup", "mobile_team", "vaccination_day", "family_ages", "large_household",
           "treatment_courses"]


def monthly_days(rng: np.random.Generator, days: int, start: dt.date) -> np.ndarray:
    """Day offsets of one fixed weekday-of-the-month (e.g. every second Tuesday) in the
    period, drawn once."""
    weekday, week = int(rng.integers(0, 5)), int(rng.integers(0, 3))
    out, first = [], start.replace(day=1)
    while (first - start).days < days:
        d = first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * week)
        if 0 <= (d - start).days < days:
            out.append((d - start).days)
        first = (first + dt.timedelta(days=32)).replace(day=1)
    return np.array(out, dtype=np.int64)


def _fund(w: World, inst, vt: int, total: np.ndarray) -> np.ndarray:
    ratio = cat.INP_RATIO if vt == cat.INP else cat.OUT_RATIO
    return np.floor(total * ratio[w.inst_tier[inst]]).astype(np.int64)


def rehab_course(rng: np.random.Generator, w: World, host: int, pats: np.ndarray, p: dict,
                 days: int, tag: int) -> dict:
    """The same stroke patients admitted together for a course every ``interval_days``."""
    docs = w.spec_off[host, cat.S_REHAB] + np.arange(min(int(p["doctors"]),
                                                         w.spec_cnt[host, cat.S_REHAB]))
    dx = rng.choice(cat.REHAB_CODES, len(pats))
    course, step = int(p["course_days"]), int(p["interval_days"])
    last = days - course - 4
    first = int(rng.integers(0, max(1, min(step, last))))
    begin = np.arange(first, last, step)
    begin = np.clip(begin + rng.integers(-2, 3, len(begin)), 0, last)
    come = rng.random((len(begin), len(pats))) < p["attendance"]
    k, j = np.nonzero(come)
    los = course + rng.integers(-1, 2, len(j))
    day = begin[k]
    start = day * DAY + 8 * HOUR + rng.integers(0, 3 * HOUR, len(j))
    end = (day + los) * DAY + 9 * HOUR + rng.integers(0, 7200, len(j))
    total = np.round(p["day_rate"] * los * 100 * (1 + rng.normal(0, p["bill_cv"], len(j))))
    total = total.astype(np.int64)
    return make(pats[j], host, cat.INP, start, total, end=end, doc=rng.choice(docs, len(j)),
                dx=dx[j], fund=_fund(w, host, cat.INP, total), tag=tag)


def chronic_followup(rng: np.random.Generator, w: World, host: int, doc: int,
                     pats: np.ndarray, p: dict, days: int, start: dt.date, tag: int) -> dict:
    """One doctor's clinic day: the same chronic patients on a fixed day each month."""
    on = monthly_days(rng, days, start)
    come = rng.random((len(on), len(pats))) < p["attendance"]
    k, j = np.nonzero(come)
    t = on[k] * DAY + 8 * HOUR + rng.integers(0, 9 * HOUR, len(j))
    dx = w.pat_chronic[pats[j]]
    total = money(rng, cat.OUT_BASE[w.inst_tier[host]] * cat.DIAG_PRICE[dx], 0.35)
    return make(pats[j], host, cat.OUT, t, total, doc=doc, dx=dx,
                fund=_fund(w, host, cat.OUT, total), tag=tag)


def mobile_team(rng: np.random.Generator, w: World, host: int, pool: np.ndarray, p: dict,
                days: int, start: dt.date, tag: int) -> dict:
    """A county team's monthly visit to a village: a changing subset of its people."""
    docs = choose(rng, staff(w, host), p["doctors"])
    n = min(int(p["villagers"]), len(pool))
    seen, parts = np.empty(0, dtype=np.int64), []
    for day in monthly_days(rng, days, start):
        keep = choose(rng, seen, round(p["overlap"] * n))
        fresh = choose(rng, np.setdiff1d(pool, seen), n - len(keep))
        seen = np.concatenate([keep, fresh])
        if len(seen) < n:
            seen = np.union1d(seen, choose(rng, np.setdiff1d(pool, seen), n - len(seen)))
        parts.append((day, seen))
    pat = np.concatenate([s for _, s in parts])
    day = np.repeat([d for d, _ in parts], [len(s) for _, s in parts])
    t = day * DAY + 9 * HOUR + rng.integers(0, 7 * HOUR, len(pat))
    dx = _diagnoses(rng, w, pat, cat.ACUTE, 0.5)
    total = money(rng, cat.OUT_BASE[cat.SEC] * 0.6 * cat.DIAG_PRICE[dx], 0.4)
    return make(pat, host, cat.OUT, t, total, doc=rng.choice(docs, len(pat)), dx=dx,
                fund=_fund(w, host, cat.OUT, total), tag=tag)


def vaccination_day(rng: np.random.Generator, w: World, hc: int, pool: np.ndarray, p: dict,
                    days: int, wd0: int, tag: int) -> dict:
    """Hundreds of a township's people vaccinated at its health centre on one or two days."""
    pats = choose(rng, pool, p["people"])
    n_days = int(p["days"])
    day = int(rng.integers(0, days - n_days))
    day += (2 - (day + wd0) % 7) % 7 if day + 7 + n_days < days else 0
    d = day + rng.integers(0, n_days, len(pats))
    t = d * DAY + 8 * HOUR + rng.integers(0, int(8.5 * HOUR), len(pats))
    docs = staff(w, hc)[:3]
    total = np.round(p["price"] * 100 * (1 + rng.normal(0, 1, len(pats)) * p["price_cv"]))
    total = (np.round(total / 10) * 10).astype(np.int64)
    return make(pats, hc, cat.OUT, t, total, doc=rng.choice(docs, len(pats)), dx=cat.DX["Z23"],
                fund=total // 2, tag=tag)


def family_ages(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Ages and sexes (0 M, 1 F) of a three-generation household of ``size``: two
    grandparents, two to four parents, the rest their children."""
    g = rng.uniform(62, 84)
    n_par = min(size - 4, int(rng.integers(2, 5))) // 2 * 2
    par = np.minimum(rng.uniform(28, 50, n_par // 2), g - 22)
    par = np.repeat(par, 2) + rng.normal(0, 2, n_par)
    kids = rng.uniform(0, 1, size - 2 - n_par) * np.clip(np.min(par) - 20, 1, 20)
    age = np.concatenate([[g, g + rng.normal(0, 3)], par, kids])
    sex = np.concatenate([[0, 1], np.tile([0, 1], n_par // 2), rng.integers(0, 2, len(kids))])
    return np.clip(age, 0, 99), sex


def large_household(rng: np.random.Generator, w: World, pats: np.ndarray, p: dict,
                    days: int, tag: int) -> dict:
    """A large family seen at its village clinic, one to four of them per visit day."""
    vc = int(w.vil_vc[w.pat_vil[pats[0]]])
    doc = int(w.spec_off[vc, w.inst_general[vc]])
    parts = []
    for day in np.sort(rng.choice(days, int(p["occasions"]), replace=False)):
        m = choose(rng, pats, int(rng.integers(1, 5)))
        parts.append((day, rng.permutation(m)))
    pat = np.concatenate([m for _, m in parts])
    day = np.repeat([d for d, _ in parts], [len(m) for _, m in parts])
    rank = np.concatenate([np.arange(len(m)) for _, m in parts])
    t = day * DAY + np.repeat(clinic_time(rng, len(parts)), [len(m) for _, m in parts])
    t = t + rank * rng.integers(120, 480, len(pat))
    dx = _diagnoses(rng, w, pat, cat.ACUTE, 0.4)
    total = money(rng, cat.OUT_BASE[cat.VC] * cat.DIAG_PRICE[dx], 0.4)
    return make(pat, vc, cat.OUT, t, total, doc=doc, dx=dx, fund=_fund(w, vc, cat.OUT, total),
                tag=tag)


def dialysis(rng: np.random.Generator, w: World, unit: int, pats: np.ndarray, p: dict,
             days: int, wd0: int, tag: int) -> dict:
    """Three sessions a week (Mon/Wed/Fri or Tue/Thu/Sat), morning or afternoon shift."""
    d = np.arange(days)
    sched = rng.integers(0, 2, len(pats))
    shift = np.where(rng.random(len(pats)) < 0.5, 7 * HOUR + 1800, 12 * HOUR + 1800)
    joined = np.where(rng.random(len(pats)) >= p["late_share"], 0,
                      rng.integers(0, max(1, days // 2), len(pats)))
    dow = (d + wd0) % 7
    on = (dow[None, :] < 6) & (dow[None, :] % 2 == sched[:, None]) & (d[None, :] >= joined[:, None])
    on &= rng.random(on.shape) > 0.03
    pi, day = np.nonzero(on)
    neph = w.spec_off[unit, cat.S_NEPH] + np.arange(min(3, w.spec_cnt[unit, cat.S_NEPH]))
    start = day * DAY + shift[pi] + rng.integers(0, 2400, len(pi))
    total = (np.round(p["price"] * (1 + rng.normal(0, 0.03, len(pi)))) * 100).astype(np.int64)
    total += np.where(rng.random(len(pi)) < 0.1, 8000, 0)
    return make(pats[pi], unit, cat.OUT, start, total, doc=rng.choice(neph, len(pi)),
                dx=cat.DX["N18.5"], fund=(total * 0.85).astype(np.int64), tag=tag)


def home_rounds(rng: np.random.Generator, w: World, town: int, res: np.ndarray, p: dict,
                days: int, start: dt.date, tag: int) -> dict:
    """A health-centre doctor sees the residents one morning a month, minutes apart."""
    hc = w.town_hc[town]
    doc = w.spec_off[hc, w.inst_general[hc]]
    term = w.term_off[hc] + int(rng.integers(w.term_cnt[hc]))
    on = monthly_days(rng, days, start)
    came = rng.random((len(on), len(res))) < p["attendance"]
    sizes = came.sum(1)
    here = np.concatenate([rng.permutation(res[c]) for c in came])
    gap = 60 * p["gap_minutes"]
    steps = rng.integers(int(0.5 * gap), int(1.5 * gap) + 1, len(here))
    first = np.repeat(np.cumsum(sizes) - sizes, sizes)
    csum = np.cumsum(steps)
    t = np.repeat(on, sizes) * DAY + int(8.5 * HOUR) + csum - np.concatenate([[0], csum])[first]
    dx = np.where(w.pat_chronic[here] >= 0, w.pat_chronic[here], cat.DX["R54"])
    total = money(rng, 60 * cat.DIAG_PRICE[dx], 0.45)
    return make(here, hc, cat.OUT, t, total, doc=doc, dx=dx, term=term, op=w.term_op[term],
                fund=total // 2, tag=tag)


def checkup_day(rng: np.random.Generator, w: World, town: int, pool: np.ndarray, p: dict,
                days: int, wd0: int, tag: int, school: bool) -> dict:
    """Hundreds of school children or elderly checked at one health centre one morning."""
    age = w.pat_age[pool]
    pats = choose(rng, pool[(age >= 6) & (age <= 14) if school else age >= 65], p["people"])
    hc = w.town_hc[town]
    day = int(rng.integers(0, days))
    day += (1 - (day + wd0) % 7) % 7 if day + 7 < days else 0
    start = day * DAY + int(7.5 * HOUR) + np.sort(rng.integers(0, int(p["hours"] * HOUR),
                                                               len(pats)))
    price = 4500 if school else 12000
    total = price + np.where(rng.random(len(pats)) < 0.1, 2000, 0)
    dx = cat.DX["Z00.1" if school else "Z00.0"]
    return make(pats, hc, cat.OUT, start, total, doc=rng.choice(staff(w, hc), len(pats)),
                dx=dx, fund=total // 2, tag=tag)


#: Diagnoses of a physiotherapy course and of an infusion course.
_COURSE_DX = {True: ("M54.5", "M17.9", "I69.3"), False: ("J06.9", "J20.9", "J18.9")}


def treatment_courses(rng: np.random.Generator, w: World, host: int, pool: np.ndarray,
                      p: dict, days: int, wd0: int, tag: int, physio: bool) -> dict:
    """Rolling courses at one place: each patient there every day of a course (weekdays
    for physiotherapy) in the morning, at one price, its courses begun at random."""
    open_days = np.arange(days)
    if physio:
        open_days = open_days[(open_days + wd0) % 7 < 5]
    length = int(p["course_days"])
    pats = choose(rng, pool, int(round(p["in_course"] * len(open_days) / length)))
    who = np.concatenate([pats, pats[rng.random(len(pats)) < p["again_share"]]])
    visits = np.maximum(length + rng.integers(-2, 3, len(who)), 3)
    first = rng.integers(0, np.maximum(len(open_days) - visits, 1))
    k = np.repeat(np.arange(len(who)), visits)
    at = first[k] + np.arange(int(visits.sum())) - np.repeat(np.cumsum(visits) - visits, visits)
    k, at = k[at < len(open_days)], at[at < len(open_days)]
    # a second course that runs into the first: one visit a day
    _, once = np.unique(who[k] * days + open_days[at], return_index=True)
    k, at = k[np.sort(once)], at[np.sort(once)]
    price = p["price"] * np.maximum(1 + rng.normal(0, p["price_cv"], len(who)), 0.3)
    total = np.round(price[k] * 100).astype(np.int64)
    dx = cat.codes(*_COURSE_DX[physio])[rng.integers(0, 3, len(who))]
    docs = choose(rng, staff(w, host), 2)
    start = open_days[at] * DAY + int(7.5 * HOUR) + rng.integers(0, 4 * HOUR, len(k))
    return make(who[k], host, cat.OUT, start, total, doc=docs[k % len(docs)], dx=dx[k],
                fund=_fund(w, host, cat.OUT, total), tag=tag)
