"""Legitimate dense structures that a naive detector would flag.

``prepare`` runs before the normal year (it chooses dialysis patients, who then carry the
N18.5 code, and moves nursing-home residents into their home); ``lookalikes`` then makes the
claims. Each look-alike is tagged ``-k`` and described by ``metas[k - 1]``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from . import _catalog as cat
from ._claims import DAY, HOUR, concat, make, money
from ._people import hex_hashes
from ._world import World, group_index, members


def _pick(rng: np.random.Generator, pool: np.ndarray, k: int) -> np.ndarray:
    return np.sort(rng.choice(pool, size=min(k, len(pool)), replace=False))


def prepare(rng: np.random.Generator, w: World, n: int, taken: np.ndarray) -> dict:
    """Choose dialysis cohorts and nursing-home residents (marked in ``taken``)."""
    plan = {"dialysis": [], "homes": []}
    big = np.concatenate([w.tert, w.county_sec[:, 0]])
    units = rng.permutation(big)[:min(len(big), max(1, round(1.5 * n / 20_000)))]
    by_county = group_index(w.pat_county, w.n_county)
    for u in np.sort(units):
        pool = members(by_county, w.inst_county[u])
        if w.inst_tier[u] == cat.TERT and w.pat_urban[pool].any():
            pool = pool[w.pat_urban[pool]]
        pool = pool[(w.pat_age[pool] >= 30) & (w.pat_age[pool] <= 80) & ~taken[pool]]
        pats = _pick(rng, pool, min(int(rng.integers(15, 41)), max(3, n // 50)))
        taken[pats] = True
        w.pat_chronic[pats] = cat.DX["N18.5"]
        plan["dialysis"].append((int(u), pats))
    pop = np.bincount(w.vil_town, weights=w.vil_size, minlength=w.n_town)
    rural = np.flatnonzero(~w.town_urban) if (~w.town_urban).any() else np.arange(w.n_town)
    n_homes = max(2, round(3 * n / 20_000))
    towns = rng.choice(rural, size=n_homes, replace=n_homes > len(rural),
                       p=pop[rural] / pop[rural].sum())
    for t in towns:
        vil = int(rng.choice(np.flatnonzero(w.vil_town == t)))
        pool = members(by_county, w.town_county[t])
        pool = pool[~taken[pool] & (w.pat_age[pool] >= 65)]
        if np.sum(w.pat_age[pool] >= 75) >= 20:
            pool = pool[w.pat_age[pool] >= 75]
        res = _pick(rng, pool, min(int(rng.integers(20, 61)), max(5, n // 30)))
        taken[res] = True
        w.pat_vil[res], w.pat_town[res], w.pat_urban[res] = vil, t, w.town_urban[t]
        w.pat_addr[res] = len(w.addr)
        w.addr = np.concatenate([w.addr, hex_hashes(rng, 1)])
        w.pat_pharm[res] = w.town_pharm[0][w.town_pharm[1][t]]
        plan["homes"].append((int(t), res))
    return plan


def _dialysis(rng, w, unit, pats, days, wd0, tag):
    """Three sessions a week (Mon/Wed/Fri or Tue/Thu/Sat), morning or afternoon shift."""
    d = np.arange(days)
    sched = rng.integers(0, 2, len(pats))
    shift = np.where(rng.random(len(pats)) < 0.5, 7 * HOUR + 1800, 12 * HOUR + 1800)
    joined = np.where(rng.random(len(pats)) < 0.85, 0, rng.integers(0, max(1, days // 2),
                                                                     len(pats)))
    dow = (d + wd0) % 7
    on = (dow[None, :] < 6) & (dow[None, :] % 2 == sched[:, None]) & (d[None, :] >= joined[:, None])
    on &= rng.random(on.shape) > 0.03
    pi, day = np.nonzero(on)
    neph = w.spec_off[unit, cat.S_NEPH] + np.arange(min(3, w.spec_cnt[unit, cat.S_NEPH]))
    start = day * DAY + shift[pi] + rng.integers(0, 2400, len(pi))
    total = (np.round(rng.normal(430, 12, len(pi))) * 100).astype(np.int64)
    total += np.where(rng.random(len(pi)) < 0.1, 8000, 0)
    return make(pats[pi], unit, cat.OUT, start, total, doc=rng.choice(neph, len(pi)),
                dx=cat.DX["N18.5"], fund=(total * 0.85).astype(np.int64), tag=tag)


def _home_rounds(rng, w, town, res, days, start, tag):
    """A health-centre doctor sees every resident one morning a month, minutes apart."""
    hc = w.town_hc[town]
    doc = w.spec_off[hc, w.inst_general[hc]]
    term = w.term_off[hc] + int(rng.integers(w.term_cnt[hc]))
    weekday, week = int(rng.integers(0, 5)), int(rng.integers(0, 3))
    parts, first = [], start.replace(day=1)
    while (first - start).days < days:
        d = first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * week)
        off = (d - start).days
        if 0 <= off < days:
            here = rng.permutation(res[rng.random(len(res)) < 0.95])
            t = off * DAY + int(8.5 * HOUR) + np.cumsum(rng.integers(120, 360, len(here)))
            dx = np.where(w.pat_chronic[here] >= 0, w.pat_chronic[here], cat.DX["R54"])
            total = money(rng, 60 * cat.DIAG_PRICE[dx], 0.45)
            parts.append(make(here, hc, cat.OUT, t, total, doc=doc, dx=dx, term=term,
                              op=w.term_op[term], fund=total // 2, tag=tag))
        first = (first + dt.timedelta(days=32)).replace(day=1)
    return concat(parts)


def _checkup(rng, w, by_town, days, wd0, tag, school):
    """Hundreds of school children or elderly checked at one health centre on one day."""
    pop = np.diff(by_town[1]).astype(float)
    t = int(rng.choice(w.n_town, p=pop / pop.sum()))
    pool = members(by_town, t)
    age = w.pat_age[pool]
    pats = _pick(rng, pool[(age >= 6) & (age <= 14) if school else age >= 65],
                 int(rng.integers(150, 451)))
    hc = w.town_hc[t]
    day = int(rng.integers(0, days))
    day += (1 - (day + wd0) % 7) % 7 if day + 7 < days else 0
    start = day * DAY + int(7.5 * HOUR) + np.sort(rng.integers(0, 4 * HOUR, len(pats)))
    docs = w.spec_off[hc, 0] + np.arange(w.spec_cnt[hc].sum())
    price = 4500 if school else 12000
    total = price + np.where(rng.random(len(pats)) < 0.1, 2000, 0)
    dx = cat.DX["Z00.1" if school else "Z00.0"]
    return make(pats, hc, cat.OUT, start, total, doc=rng.choice(docs, len(pats)), dx=dx,
                fund=total // 2, tag=tag)


def _households(rng, w, n, days, taken, tag0):
    """Families who come to the doctor together: members seen minutes apart, same doctor."""
    size = np.bincount(w.pat_hh)
    bad = np.zeros(len(size), dtype=bool)
    bad[w.pat_hh[taken]] = True
    cand = np.flatnonzero((size >= 2) & ~bad)
    hhs = _pick(rng, cand, max(10, n // 200))
    pat = np.flatnonzero(np.isin(w.pat_hh, hhs))
    g = np.searchsorted(hhs, w.pat_hh[pat])
    first = pat[np.concatenate([[True], g[1:] != g[:-1]])]
    at_hc = rng.random(len(hhs)) < 0.3
    inst = np.where(at_hc, w.town_hc[w.pat_town[first]], w.vil_vc[w.pat_vil[first]])[g]
    spec = w.inst_general[inst]
    doc = (w.spec_off[inst, spec] + (w.pat_key[first][g] % w.spec_cnt[inst, spec]))
    day = rng.integers(0, days, len(hhs))[g]
    base = (8 * HOUR + rng.integers(0, 3 * HOUR, len(hhs)))[g]
    rank = np.arange(len(pat)) - np.searchsorted(g, g)
    start = day * DAY + base + rank * rng.integers(180, 480, len(pat))
    dx = np.where(rng.random(len(hhs)) < 0.7, cat.DX["J06.9"], cat.DX["A09"])[g]
    total = money(rng, cat.OUT_BASE[w.inst_tier[inst]] * cat.DIAG_PRICE[dx], 0.4)
    return make(pat, inst, cat.OUT, start, total, doc=doc, dx=dx, fund=total // 2,
                tag=-(tag0 + g)), len(hhs)


def lookalikes(rng: np.random.Generator, w: World, plan: dict, n: int, days: int,
               start: dt.date, taken: np.ndarray) -> tuple[dict, list[dict]]:
    """Claims of every look-alike and their descriptions (index k-1 for tag -k)."""
    wd0 = start.weekday()
    parts, metas = [], []

    def add(claims, kind, variant):
        metas.append({"kind": kind, "variant": variant})
        parts.append(claims)

    for unit, pats in plan["dialysis"]:
        add(_dialysis(rng, w, unit, pats, days, wd0, -(len(metas) + 1)), "dialysis",
            "thrice_weekly")
    for town, res in plan["homes"]:
        add(_home_rounds(rng, w, town, res, days, start, -(len(metas) + 1)), "nursing_home",
            "monthly_round")
    by_town = group_index(w.pat_town, w.n_town)
    for k in range(max(2, round(3 * n / 20_000))):
        school = k % 2 == 0
        add(_checkup(rng, w, by_town, days, wd0, -(len(metas) + 1), school), "checkup_day",
            "school" if school else "elderly")
    for t in w.tert:
        metas.append({"kind": "hub_hospital", "variant": "busy_days", "inst": int(t)})
    claims, k = _households(rng, w, n, days, taken, len(metas) + 1)
    metas += [{"kind": "household", "variant": "joint_visit"} for _ in range(k)]
    parts.append(claims)
    return concat(parts), metas
