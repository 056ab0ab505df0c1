"""Planted card pooling: pharmacies that swipe many held cards in runs (at night, or by day
across several terminals) and village doctors who bill visits nobody made.

The hosts are chosen before the staff is built (``plan_hosts``), so that each host has the
terminals and cashiers its group's parameters ask for.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from . import _catalog as cat
from ._claims import DAY, HOUR, make
from ._shared import adults, choose, gap_times, meta, village_people, villages_near

__all__ = ["plan_hosts", "pharmacy_after_hours", "pharmacy_daytime", "phantom_billing"]


def plan_hosts(rng: np.random.Generator, w: SimpleNamespace, drawn: dict) -> dict:
    """Pharmacies and villages of the pooling groups; sets the world's terminal and cashier
    minimums (``w.need_term``, ``w.need_op``) for them."""
    w.need_term = np.zeros(w.n_inst, dtype=np.int64)
    w.need_op = np.zeros(w.n_inst, dtype=np.int64)
    pharms = rng.permutation(np.flatnonzero(w.inst_tier == cat.PHARM))
    n_day = len(drawn.get("pharmacy_daytime", []))
    day_hosts = [int(pharms[k % len(pharms)]) for k in range(n_day)]
    night_hosts = [int(pharms[(n_day + k) % len(pharms)])
                   for k in range(len(drawn.get("pharmacy_after_hours", [])))]
    vils = rng.permutation(np.flatnonzero(w.vil_size >= 40))
    phantom = [int(v) for v in vils[:len(drawn.get("phantom_billing", []))]]
    for inst, p in [*zip(day_hosts, drawn.get("pharmacy_daytime", []), strict=True),
                    *((int(w.vil_vc[v]), p) for v, p in
                      zip(phantom, drawn.get("phantom_billing", []), strict=False))]:
        w.need_term[inst] = max(w.need_term[inst], p["terminals"])
        w.need_op[inst] = max(w.need_op[inst], p["operators"])
    return {"pharmacy_daytime": day_hosts, "pharmacy_after_hours": night_hosts,
            "phantom_billing": phantom}


def _far_villages(rng, w, ph: int, k: int) -> np.ndarray:
    """``k`` villages of the half farther from pharmacy ``ph``."""
    far = villages_near(w, w.inst_xy[ph], far=True)[:max(1, w.n_vil // 2)]
    return rng.choice(far, size=min(len(far), int(k)), replace=False)


def _holders(rng, ctx, ph: int, far: np.ndarray, n: int, far_share: float,
             must: np.ndarray | None = None) -> np.ndarray:
    """``n`` untaken adults holding cards at pharmacy ``ph``: ``far_share`` of them (and
    ``must``) from the villages ``far``, the rest from the pharmacy's township."""
    w = ctx.w
    far_pool = adults(ctx, village_people(ctx.by_vil, far))
    near_pool = adults(ctx, village_people(ctx.by_vil,
                                           np.flatnonzero(w.vil_town == w.inst_town[ph])))
    must = np.empty(0, dtype=np.int64) if must is None else must
    rest = np.setdiff1d(far_pool, must)
    held = np.union1d(must, choose(rng, rest, round(far_share * n) - len(must)))
    held = np.union1d(held, choose(rng, np.setdiff1d(near_pool, held), n - len(held)))
    return held


def _pooled(w, p, pats, times, ph, base, term, op, tag, variant):
    pat = np.concatenate(pats)
    total = np.asarray(base, dtype=np.int64)
    return (make(pat, ph, cat.PHA, np.concatenate(times), total, dx=w.pat_chronic[pat],
                 term=term, op=op, fund=total // 2, tag=tag), meta(variant, p))


def pharmacy_after_hours(rng: np.random.Generator, ctx: SimpleNamespace, specs: list,
                         tag0: int) -> list:
    """Pharmacies that hold many far-away people's cards and swipe them at night."""
    w, days, stays = ctx.w, ctx.days, ctx.stays
    out = []
    has_stay = np.zeros(w.n_pat, dtype=bool)
    has_stay[stays["pat"]] = True
    for p, ph in zip(specs, ctx.hosts["pharmacy_after_hours"], strict=True):
        far = _far_villages(rng, w, ph, p["far_villages"])
        pool = adults(ctx, village_people(ctx.by_vil, far))
        sick = choose(rng, pool[has_stay[pool]], p["in_hospital"])
        holders = _holders(rng, ctx, ph, far, p["holders"], p["far_share"], sick)
        if len(holders) < 8:
            continue
        ctx.taken[holders] = True
        weight = np.where(rng.random(len(holders)) < p["core_share"], 5.0, 1.0)
        n_nights = min(int(p["nights"]), days // 10)
        p["nights"] = n_nights
        nights = list(np.sort(rng.choice(days - 1, n_nights, replace=False)))
        for q in sick:
            s = np.flatnonzero(stays["pat"] == q)[0]
            d0, d1 = stays["start"][s] // DAY, stays["end"][s] // DAY
            nights.append(int(d0 + rng.integers(1, max(2, d1 - d0))))
        term = int(w.term_off[ph] + rng.integers(w.term_cnt[ph]))
        op = int(w.op_off[ph] + rng.integers(w.op_cnt[ph]))
        gap = 60 * p["gap_minutes"]
        pats, times = [], []
        for j, night in enumerate(nights):
            r = int(np.clip(round(p["run_size"] * rng.uniform(0.7, 1.3)), 8, len(holders)))
            m = rng.choice(holders, size=r, replace=False, p=weight / weight.sum())
            if j >= n_nights and sick[j - n_nights] not in m:
                m[0] = sick[j - n_nights]
            evening = j >= n_nights or rng.random() < p["late_share"]
            t = gap_times(rng, r, 0, max(30, 0.5 * gap), 1.5 * gap)
            room = min(3 * HOUR, int(6.5 * HOUR) - int(t[-1]))
            t0 = night * DAY + (int(21.5 * HOUR) + int(rng.integers(0, 5400)) if evening else
                                DAY + HOUR + int(rng.integers(0, max(1, room))))
            pats.append(rng.permutation(m))
            times.append(t0 + t)
        n = sum(len(x) for x in pats)
        jit = int(p["jitter_yuan"])
        total = 100 * (int(p["base"]) + rng.integers(-jit, jit + 1, n))
        out.append(_pooled(w, p, pats, times, ph, total, term, op, tag0 + len(out),
                           "pharmacy_after_hours"))
    return out


def pharmacy_daytime(rng: np.random.Generator, ctx: SimpleNamespace, specs: list,
                     tag0: int) -> list:
    """Pharmacies that swipe runs of pooled cards in opening hours on several terminals."""
    w, days = ctx.w, ctx.days
    out = []
    for p, ph in zip(specs, ctx.hosts["pharmacy_daytime"], strict=True):
        g_lo = max(2.0, p["gap_minutes"] * (1 - p["gap_spread"])) * 60
        g_hi = min(30.0, p["gap_minutes"] * (1 + p["gap_spread"])) * 60
        g_lo = min(g_lo, g_hi)
        fits = int((13 * HOUR - 600) // g_hi) + 1
        holders = _holders(rng, ctx, ph, _far_villages(rng, w, ph, p["far_villages"]),
                           round(p["run_size"] * 1.15 * p["holders_ratio"]), p["far_share"])
        if len(holders) < 10:
            continue
        ctx.taken[holders] = True
        terms = w.term_off[ph] + choose(rng, np.arange(w.term_cnt[ph]), p["terminals"])
        ops = w.op_off[ph] + choose(rng, np.arange(w.op_cnt[ph]), p["operators"])
        weight = rng.uniform(0.5, 2.0, len(holders))
        run_days = np.sort(rng.choice(days, min(int(p["runs"]), days), replace=False))
        pats, times, t_s, o_s = [], [], [], []
        for day in run_days:
            r = round(p["run_size"] * rng.uniform(0.85, 1.15))
            r = int(min(r, fits, len(holders)))
            m = rng.choice(holders, size=r, replace=False, p=weight / weight.sum())
            t = gap_times(rng, r, 0, g_lo, g_hi)
            t0 = 8 * HOUR + int(rng.integers(0, max(1, 13 * HOUR - 60 - int(t[-1]))))
            staffing = rng.permutation(ops)[np.arange(len(terms)) % len(ops)]
            k = rng.integers(0, len(terms), r)
            other = rng.choice(ops, r)
            pats.append(m)
            times.append(day * DAY + t0 + t)
            t_s.append(terms[k])
            o_s.append(np.where(rng.random(r) < 0.85, staffing[k], other))
        n = sum(len(x) for x in pats)
        total = np.round(p["base"] * 100 * (1 + rng.uniform(-1, 1, n) * p["amount_spread"]))
        out.append(_pooled(w, p, pats, times, ph, total, np.concatenate(t_s),
                           np.concatenate(o_s), tag0 + len(out), "pharmacy_daytime"))
    return out


def phantom_billing(rng: np.random.Generator, ctx: SimpleNamespace, specs: list,
                    tag0: int) -> list:
    """Village doctors who bill visits nobody made on many villagers' cards, in runs that
    alternate over the clinic's terminals and cashiers swipe by swipe."""
    w, days = ctx.w, ctx.days
    out = []
    for p, v in zip(specs, ctx.hosts["phantom_billing"], strict=False):
        clinic = int(w.vil_vc[v])
        doc = int(w.spec_off[clinic, cat.S_VILLAGE] + rng.integers(w.spec_cnt[clinic,
                                                                           cat.S_VILLAGE]))
        pool = adults(ctx, village_people(ctx.by_vil, v))
        wt = 1 + 3.0 * (w.pat_age[pool] >= 65) + 2.0 * (ctx.n_claims[pool] <= 2)
        members = choose(rng, pool, p["members"], wt)
        if len(members) < 8:
            continue
        ctx.taken[members] = True
        p["days"] = n_days = min(int(p["days"]), days // 10)
        run_days = np.sort(rng.choice(days, n_days, replace=False))
        terms = w.term_off[clinic] + choose(rng, np.arange(w.term_cnt[clinic]), p["terminals"])
        ops = w.op_off[clinic] + choose(rng, np.arange(w.op_cnt[clinic]), p["operators"])
        dxs = rng.choice(cat.PHANTOM_CODES, size=int(p["codes"]), replace=False)
        gap = 60 * p["gap_minutes"]
        pats, times, t_s, o_s = [], [], [], []
        for day in run_days:
            share = p["attendance"] + rng.uniform(-0.1, 0.1)
            r = min(len(members), max(5, round(share * len(members))))
            m = rng.choice(members, size=r, replace=False)
            evening = r * gap <= 4 * HOUR and rng.random() < p["evening_share"]
            t0 = day * DAY + (int(18.5 * HOUR) if evening else int(13.5 * HOUR)) + int(
                rng.integers(0, 5400))
            pats.append(m)
            times.append(gap_times(rng, r, t0, max(30, 0.5 * gap), 1.5 * gap))
            j = np.arange(r)
            t_s.append(rng.permutation(terms)[j % len(terms)])
            o_s.append(rng.permutation(ops)[j % len(ops)])
        pat = np.concatenate(pats)
        total = int(p["base"]) * 100 + rng.choice([-100, 0, 0, 0, 100], len(pat))
        out.append((make(pat, clinic, cat.OUT, np.concatenate(times), total, doc=doc,
                         dx=rng.choice(dxs, len(pat)), term=np.concatenate(t_s),
                         op=np.concatenate(o_s), fund=(total * 0.6).astype(np.int64),
                         tag=tag0 + len(out)), meta("phantom_billing", p)))
    return out
