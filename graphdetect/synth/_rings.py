"""Planted collusion rings: hospitals that admit the same recruited villagers together.

Variants: ``batch_admission`` (one morning, minutes apart), ``spread_week`` (over a few
days), ``partial_pool`` (a large pool, a part of it each time), ``weekly_trickle`` (a few
every week) and ``multi_site`` (one doctor and the same recruits at 2-3 institutions in
turn). A member's planted stays never overlap and are at least a week apart, so a ring never
looks like a concurrent or split stay.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from . import _catalog as cat
from ._claims import DAY, HOUR, make
from ._shared import choose, meta, nearest_pool, next_host, spaced_days, staff

__all__ = ["batch_admission", "spread_week", "partial_pool", "weekly_trickle", "multi_site"]


def _attend(rng: np.random.Generator, members: np.ndarray, share: float,
            jitter: float) -> np.ndarray:
    share = float(np.clip(share + rng.uniform(-jitter, jitter), 0.02, 1.0))
    k = min(len(members), max(2, round(share * len(members))))
    return rng.choice(members, size=k, replace=False)


def _admit(rng: np.random.Generator, plan: list, p: dict, spread: int,
           occ_jitter: int = 1, person_jitter: int = 2) -> tuple:
    """Admission and discharge times of each occasion's ``(day, people)`` in ``plan``: one
    morning minutes apart when ``spread`` is 1 (closer together than ``admit_gap_minutes``
    when that would run past about 14:00), else over ``spread`` days at normal hours."""
    pats, starts, ends = [], [], []
    for day, m in plan:
        m = rng.permutation(m)
        if spread <= 1:
            d = np.full(len(m), day)
            g = min(60 * p.get("admit_gap_minutes", 5), 4 * HOUR / len(m))
            tod = int(8.5 * HOUR) + int(rng.integers(0, 3600)) + np.cumsum(
                rng.integers(max(30, int(0.5 * g)), int(1.5 * g) + 31, len(m)))
        else:
            d = day + rng.integers(0, spread, len(m))
            tod = 8 * HOUR + rng.integers(0, 9 * HOUR, len(m))
        los = (p["stay_days"] + int(rng.integers(-occ_jitter, occ_jitter + 1))
               + rng.integers(-person_jitter, person_jitter + 1, len(m)))
        los = np.maximum(2, los)
        pats.append(m)
        starts.append(d * DAY + tod)
        ends.append((d + los) * DAY + 9 * HOUR + rng.integers(0, 9000, len(m)))
    return np.concatenate(pats), np.concatenate(starts), np.concatenate(ends)


def _bills(rng: np.random.Generator, p: dict, sizes: list[int]) -> np.ndarray:
    """Bills in cents: the group's mean, ±3% per occasion, then the group's CV per claim."""
    per_occ = np.repeat(rng.uniform(0.97, 1.03, len(sizes)), sizes)
    val = p["bill"] * per_occ * (1 + rng.normal(0, p["bill_cv"], int(sum(sizes))))
    return np.round(np.maximum(val, 0.3 * p["bill"]) * 100).astype(np.int64)


def _claims(rng, w, pat, inst, start, end, total, docs, p, tag) -> dict:
    dxs = rng.choice(cat.RING_CODES, size=int(p["codes"]), replace=False)
    ratio = cat.INP_RATIO[w.inst_tier[np.broadcast_to(inst, pat.shape)]]
    return make(pat, inst, cat.INP, start, total, end=end, doc=docs,
                dx=rng.choice(dxs, len(pat)), fund=np.floor(total * ratio).astype(np.int64),
                tag=tag)


def _occasions(rng, ctx, p: dict, spread: int) -> np.ndarray:
    """Occasion days, at least ``gap_days`` (and the longest stay + spread + 7) apart."""
    gap = max(int(p["gap_days"]), int(p["stay_days"]) + 3 + spread + 7)
    days = spaced_days(rng, p["occasions"], 0, ctx.days - int(p["stay_days"]) - spread - 5, gap)
    p["occasions"] = len(days)
    return days


def _ring(rng, ctx, p: dict, tag: int, size: int, spread: int, jitter: float):
    w = ctx.w
    host = next_host(rng, ctx)
    docs = choose(rng, staff(w, host), p["doctors"])
    pool, wt = nearest_pool(ctx, host, p["villages"], p["elderly_weight"])
    members = choose(rng, pool, size, wt)
    if len(members) < 4 or len(docs) == 0:
        return None
    ctx.taken[members] = True
    plan = [(d, _attend(rng, members, p["attendance"], jitter))
            for d in _occasions(rng, ctx, p, spread)]
    pat, start, end = _admit(rng, plan, p, spread)
    total = _bills(rng, p, [len(m) for _, m in plan])
    return _claims(rng, ctx.w, pat, host, start, end, total, rng.choice(docs, len(pat)), p, tag)


def _each(variant: str, specs: list, tag0: int, one) -> list:
    out = []
    for p in specs:
        claims = one(p, tag0 + len(out))
        if claims is not None:
            out.append((claims, meta(variant, p)))
    return out


def batch_admission(rng: np.random.Generator, ctx: SimpleNamespace, specs: list,
                    tag0: int) -> list:
    """Recruits admitted together the same morning, minutes apart, again and again."""
    return _each("batch_admission", specs, tag0,
                 lambda p, tag: _ring(rng, ctx, p, tag, p["members"], 1, 0.05))


def spread_week(rng: np.random.Generator, ctx: SimpleNamespace, specs: list,
                tag0: int) -> list:
    """Recruits admitted on each occasion over ``spread_days`` days at normal hours."""
    return _each("spread_week", specs, tag0,
                 lambda p, tag: _ring(rng, ctx, p, tag, p["members"], p["spread_days"], 0.05))


def partial_pool(rng: np.random.Generator, ctx: SimpleNamespace, specs: list,
                 tag0: int) -> list:
    """A large pool of recruits of whom each occasion brings in only a part."""
    return _each("partial_pool", specs, tag0,
                 lambda p, tag: _ring(rng, ctx, p, tag, p["pool"], p["spread_days"], 0.03))


def _trickle(rng, ctx, p: dict, tag: int):
    w, days = ctx.w, ctx.days
    host = next_host(rng, ctx)
    docs = choose(rng, staff(w, host), p["doctors"])
    pool, wt = nearest_pool(ctx, host, p["villages"], p["elderly_weight"])
    members = choose(rng, pool, p["pool"], wt)
    if len(members) < 9 or len(docs) == 0:
        return None
    ctx.taken[members] = True
    p["per_week"] = min(int(p["per_week"]), len(members) // 3)
    step = rng.integers(p["spacing_days"] - p["spacing_jitter"],
                        p["spacing_days"] + p["spacing_jitter"] + 1, int(p["weeks"]))
    step[0] = 0
    week_day = np.cumsum(step)
    last = days - p["stay_days"] - 6
    week_day = week_day[week_day <= last]
    p["weeks"] = len(week_day)
    week_day = week_day + int(rng.integers(0, last - week_day[-1] + 1))
    home_from = np.full(len(members), -10**6)
    plan = []
    for day in week_day:
        order = np.lexsort((rng.random(len(members)), home_from))
        ok = order[home_from[order] + 5 <= day][:p["per_week"]]
        plan.append((int(day), members[ok]))
        home_from[ok] = day + p["stay_days"] + 2
    pat, start, end = _admit(rng, [(d, m) for d, m in plan if len(m)], p, 1, 0, 1)
    total = _bills(rng, p, [len(m) for _, m in plan if len(m)])
    return _claims(rng, w, pat, host, start, end, total, rng.choice(docs, len(pat)), p, tag)


def weekly_trickle(rng: np.random.Generator, ctx: SimpleNamespace, specs: list,
                   tag0: int) -> list:
    """A small pool of whom ``per_week`` are admitted every week by the same doctors."""
    return _each("weekly_trickle", specs, tag0, lambda p, tag: _trickle(rng, ctx, p, tag))


def _multi(rng, ctx, p: dict, tag: int):
    w = ctx.w
    home = next_host(rng, ctx, 0.4)
    cand = np.flatnonzero((w.inst_tier == cat.PRIV) | (w.inst_tier == cat.HC))
    cand = cand[cand != home]
    d = ((w.inst_xy[cand] - w.inst_xy[home]) ** 2).sum(1)
    spread = int(p["spread_days"])
    occ = _occasions(rng, ctx, p, spread)
    sites = np.concatenate([[home], cand[np.argsort(d, kind="stable")][:p["sites"] - 1]])
    sites = sites[:len(occ)]
    p["sites"] = len(sites)
    home_staff = staff(w, home)
    if len(sites) < 2 or len(home_staff) == 0:
        return None
    shared = int(rng.choice(home_staff))
    local = np.array([int(rng.choice(s)) if len(s := staff(w, int(i))) else shared
                      for i in sites])
    pool, wt = nearest_pool(ctx, home, p["villages"], p["elderly_weight"])
    members = choose(rng, pool, p["recruits"], wt)
    if len(members) < 4:
        return None
    ctx.taken[members] = True
    site = (int(rng.integers(len(sites))) + np.arange(len(occ))) % len(sites)
    plan = [(day, _attend(rng, members, p["attendance"], 0.05)) for day in occ]
    pat, start, end = _admit(rng, plan, p, spread)
    sizes = [len(m) for _, m in plan]
    k = np.repeat(site, sizes)
    docs = np.where(rng.random(len(pat)) < p["shared_share"], shared, local[k])
    return _claims(rng, w, pat, sites[k], start, end, _bills(rng, p, sizes), docs, p, tag)


def multi_site(rng: np.random.Generator, ctx: SimpleNamespace, specs: list,
               tag0: int) -> list:
    """One doctor and the same recruits at 2-3 cooperating institutions in turn."""
    return _each("multi_site", specs, tag0, lambda p, tag: _multi(rng, ctx, p, tag))
