"""Planted fraud: collusion rings (batch or spread admissions) and card pooling (pharmacy
after hours, phantom billing by a village doctor).

Each planter returns a list of ``(claims, meta)`` pairs, one per group; the claims carry the
group's tag. Members are drawn from people nobody else has taken, and are then marked taken.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from . import _catalog as cat
from ._claims import DAY, HOUR, make
from ._world import members as village_people


def _choose(rng: np.random.Generator, pool: np.ndarray, k: int,
            weight: np.ndarray | None = None) -> np.ndarray:
    k = min(k, len(pool))
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    p = None if weight is None else weight / weight.sum()
    return np.sort(rng.choice(pool, size=k, replace=False, p=p))


def _spaced_days(rng: np.random.Generator, k: int, lo: int, hi: int, gap: int) -> np.ndarray:
    """``k`` sorted days in [lo, hi] at least ``gap`` apart (caller keeps k feasible)."""
    slack = hi - lo - gap * (k - 1)
    return lo + np.sort(rng.integers(0, slack + 1, k)) + gap * np.arange(k)


def _adults(ctx: SimpleNamespace, pool: np.ndarray) -> np.ndarray:
    return pool[~ctx.taken[pool] & (ctx.w.pat_age[pool] >= 18)]


def _nearest_pool(ctx: SimpleNamespace, inst: int, n_vil: int, elderly: float) -> tuple:
    """Untaken adults of the ``n_vil`` villages nearest ``inst``, elderly weighted up."""
    w = ctx.w
    d = ((w.vil_xy - w.inst_xy[inst]) ** 2).sum(1)
    pool = village_people(ctx.by_vil, np.argsort(d, kind="stable")[:n_vil])
    pool = pool[~ctx.taken[pool] & (w.pat_age[pool] >= 40)]
    return pool, np.where(w.pat_age[pool] >= 60, elderly, 1.0)


def rings(rng: np.random.Generator, ctx: SimpleNamespace, n_batch: int, n_spread: int,
          tag0: int) -> list:
    """Hospitals that admit the same recruited villagers together, again and again."""
    w, days = ctx.w, ctx.days
    priv = rng.permutation(np.flatnonzero(w.inst_tier == cat.PRIV))
    hcs = rng.permutation(w.town_hc)
    out, used = [], 0
    max_occ = (days - 20) // 28 + 1
    for k in range(n_batch + n_spread):
        batch = k < n_batch
        host = int(hcs[k % len(hcs)] if rng.random() < 0.3 else priv[used % len(priv)])
        used += int(w.inst_tier[host] == cat.PRIV)
        lo = np.searchsorted(w.doc_inst, host)
        staff = np.arange(lo, np.searchsorted(w.doc_inst, host, side="right"))
        docs = _choose(rng, staff, int(rng.integers(1, 4)))
        pool, wt = _nearest_pool(ctx, host, int(rng.integers(1, 4)), 8.0)
        members = _choose(rng, pool, int(rng.integers(8, 26)), wt)
        if len(members) < 4 or len(docs) == 0:
            continue
        ctx.taken[members] = True
        n_occ = min(int(rng.integers(4, 11)), max_occ)
        occ = _spaced_days(rng, n_occ, 0, days - 20, 28)
        los0, bill0 = int(rng.integers(5, 11)), rng.uniform(3000, 9000)
        cv = rng.uniform(0.03, 0.08)
        dxs = rng.choice(cat.RING_CODES, size=int(rng.integers(1, 4)), replace=False)
        pats, starts, ends, bills = [], [], [], []
        for day in occ:
            m = rng.choice(members, size=max(2, round(rng.uniform(0.6, 0.9) * len(members))),
                           replace=False)
            if batch:
                d = np.full(len(m), day)
                tod = int(8.5 * HOUR) + rng.integers(0, 5400) + np.cumsum(
                    rng.integers(120, 600, len(m)))
            else:
                d = day + rng.integers(0, 7, len(m))
                tod = 8 * HOUR + rng.integers(0, 9 * HOUR, len(m))
            los = np.maximum(3, los0 + int(rng.integers(-1, 2)) + rng.integers(-2, 3, len(m)))
            pats.append(m)
            starts.append(d * DAY + tod)
            ends.append((d + los) * DAY + 9 * HOUR + rng.integers(0, 9000, len(m)))
            bills.append(bill0 * rng.uniform(0.97, 1.03) * (1 + rng.normal(0, cv, len(m))))
        pat = np.concatenate(pats)
        total = np.round(np.concatenate(bills) * 100).astype(np.int64)
        ratio = cat.INP_RATIO[w.inst_tier[host]]
        claims = make(pat, host, cat.INP, np.concatenate(starts), total,
                      end=np.concatenate(ends), doc=rng.choice(docs, len(pat)),
                      dx=rng.choice(dxs, len(pat)), fund=np.floor(total * ratio).astype(np.int64),
                      tag=tag0 + len(out))
        out.append((claims, {"kind": "collusion_ring",
                             "variant": "batch_admission" if batch else "spread_week"}))
    return out


def _runs(rng: np.random.Generator, n: int, t0: int, lo: int, hi: int) -> np.ndarray:
    """Times of a run of ``n`` swipes starting at ``t0``, ``lo``-``hi`` seconds apart."""
    return t0 + np.concatenate([[0], np.cumsum(rng.integers(lo, hi + 1, n - 1))])


def pharmacy_pooling(rng: np.random.Generator, ctx: SimpleNamespace, n_groups: int,
                     tag0: int) -> list:
    """Pharmacies that hold many far-away people's cards and swipe them at night."""
    w, days, stays = ctx.w, ctx.days, ctx.stays
    out = []
    pharms = rng.permutation(np.flatnonzero(w.inst_tier == cat.PHARM))
    has_stay = np.zeros(w.n_pat, dtype=bool)
    has_stay[stays["pat"]] = True
    for k in range(n_groups):
        ph = int(pharms[k % len(pharms)])
        d = ((w.vil_xy - w.inst_xy[ph]) ** 2).sum(1)
        far = np.argsort(-d, kind="stable")[:max(1, w.n_vil // 2)]
        far = rng.choice(far, size=min(len(far), int(rng.integers(2, 7))), replace=False)
        far_pool = _adults(ctx, village_people(ctx.by_vil, far))
        near_pool = _adults(ctx, village_people(ctx.by_vil, np.flatnonzero(w.vil_town ==
                                                                     w.inst_town[ph])))
        n_h = int(rng.integers(20, 61))
        sick = _choose(rng, far_pool[has_stay[far_pool]], int(rng.integers(1, 4)))
        rest = np.setdiff1d(far_pool, sick)
        holders = np.union1d(sick, _choose(rng, rest, round(0.7 * n_h) - len(sick)))
        near_pool = np.setdiff1d(near_pool, holders)
        holders = np.union1d(holders, _choose(rng, near_pool, n_h - len(holders)))
        if len(holders) < 8:
            continue
        ctx.taken[holders] = True
        weight = np.where(rng.random(len(holders)) < 0.7, 5.0, 1.0)
        n_nights = min(int(rng.integers(5, 16)), days // 10)
        nights = list(np.sort(rng.choice(days - 1, n_nights, replace=False)))
        forced = []
        for p in sick:
            s = np.flatnonzero(stays["pat"] == p)[0]
            d0, d1 = stays["start"][s] // DAY, stays["end"][s] // DAY
            nights.append(int(d0 + rng.integers(1, max(2, d1 - d0))))
            forced.append(int(p))
        nights = np.array(nights)
        term = int(w.term_off[ph] + rng.integers(w.term_cnt[ph]))
        op = int(w.op_off[ph] + rng.integers(w.op_cnt[ph]))
        base = int(rng.choice([198, 200, 298, 168, 188, 150, 250])) * 100
        pats, times = [], []
        for j, night in enumerate(nights):
            r = int(min(len(holders), rng.integers(10, 41)))
            m = rng.choice(holders, size=r, replace=False, p=weight / weight.sum())
            if j >= n_nights and forced[j - n_nights] not in m:
                m[0] = forced[j - n_nights]
            evening = j >= n_nights or rng.random() < 0.7
            t0 = night * DAY + (int(21.5 * HOUR) + int(rng.integers(0, 5400)) if evening else
                                DAY + HOUR + int(rng.integers(0, 3 * HOUR)))
            pats.append(rng.permutation(m))
            times.append(_runs(rng, r, t0, 60, 300))
        pat = np.concatenate(pats)
        delta = rng.choice([-300, -200, -100, 0, 0, 0, 100, 200, 300], len(pat))
        total = base + delta
        out.append((make(pat, ph, cat.PHA, np.concatenate(times), total, dx=w.pat_chronic[pat],
                         term=term, op=op, fund=total // 2, tag=tag0 + len(out)),
                    {"kind": "card_pooling", "variant": "pharmacy_after_hours"}))
    return out


def phantom_billing(rng: np.random.Generator, ctx: SimpleNamespace, n_groups: int,
                    tag0: int) -> list:
    """Village doctors who bill visits nobody made on many villagers' cards, in runs."""
    w, days = ctx.w, ctx.days
    out = []
    order = rng.permutation(np.flatnonzero(w.vil_size >= 40))
    for v in order[:n_groups]:
        clinic = int(w.vil_vc[v])
        doc = int(w.spec_off[clinic, cat.S_VILLAGE] + rng.integers(w.spec_cnt[clinic,
                                                                           cat.S_VILLAGE]))
        pool = _adults(ctx, village_people(ctx.by_vil, v))
        wt = 1 + 3.0 * (w.pat_age[pool] >= 65) + 2.0 * (ctx.n_claims[pool] <= 2)
        members = _choose(rng, pool, int(rng.integers(15, 41)), wt)
        if len(members) < 8:
            continue
        ctx.taken[members] = True
        n_days = min(int(rng.integers(4, 13)), days // 10)
        run_days = np.sort(rng.choice(days, n_days, replace=False))
        term = int(w.term_off[clinic])
        base = int(rng.choice([45, 50, 58, 60, 65, 80])) * 100
        dxs = rng.choice(cat.codes("I10", "J06.9", "M54.5", "R51"), size=2, replace=False)
        pats, times = [], []
        for day in run_days:
            r = max(5, round(rng.uniform(0.5, 0.9) * len(members)))
            m = rng.choice(members, size=min(r, len(members)), replace=False)
            t0 = day * DAY + (14 * HOUR if rng.random() < 0.6 else 19 * HOUR) + int(
                rng.integers(0, 5400))
            pats.append(m)
            times.append(_runs(rng, len(m), t0, 60, 240))
        pat = np.concatenate(pats)
        total = base + rng.choice([-100, 0, 0, 0, 100], len(pat))
        out.append((make(pat, clinic, cat.OUT, np.concatenate(times), total, doc=doc,
                         dx=rng.choice(dxs, len(pat)), term=term, op=w.term_op[term],
                         fund=(total * 0.6).astype(np.int64), tag=tag0 + len(out)),
                    {"kind": "card_pooling", "variant": "phantom_billing"}))
    return out
