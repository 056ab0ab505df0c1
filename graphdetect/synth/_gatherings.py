"""Planted outpatient gatherings (聚集性就医 without admission): elderly villagers brought in
together, again and again, for near-identical high bills."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from . import _catalog as cat
from ._claims import DAY, HOUR, make
from ._normal import in_stay
from ._shared import adults, choose, gap_times, meta, staff, village_people, villages_near

__all__ = ["bussed_elderly", "host_near"]


def host_near(rng: np.random.Generator, w: SimpleNamespace, vil: int, tiers: tuple) -> int:
    """An institution of one of ``tiers`` (picked at random) serving village ``vil``: its
    township's health centre or village clinic, or the nearest private hospital / clinic."""
    tier = int(rng.choice(tiers))
    town = int(w.vil_town[vil])
    if tier == cat.HC:
        return int(w.town_hc[town])
    if tier == cat.VC:
        return int(w.vil_vc[vil])
    idx, off, cnt = w.town_priv if tier == cat.PRIV else w.town_clinic
    return int(idx[off[town] + rng.integers(cnt[town])])


def _start_village(rng, ctx, min_age: int, need: int) -> int:
    """A village with at least ``need`` untaken people aged ``min_age``+ (else the one with
    the most), chosen at random."""
    w = ctx.w
    free = ~ctx.taken & (w.pat_age >= min_age)
    cnt = np.bincount(w.pat_vil[free], minlength=w.n_vil)
    ok = np.flatnonzero(cnt >= need)
    return int(rng.choice(ok)) if len(ok) else int(np.argmax(cnt))


def bussed_elderly(rng: np.random.Generator, ctx: SimpleNamespace, specs: list,
                   tag0: int) -> list:
    """Elderly villagers seen minutes apart one morning every few weeks, same bills."""
    w, days = ctx.w, ctx.days
    out = []
    for p in specs:
        v0 = _start_village(rng, ctx, 60, p["people"] // p["villages"])
        vils = villages_near(w, w.vil_xy[v0])[:p["villages"]]
        people = choose(rng, adults(ctx, village_people(ctx.by_vil, vils), 60), p["people"])
        host = host_near(rng, w, v0, (cat.CLINIC, cat.PRIV, cat.HC))
        docs = choose(rng, staff(w, host), p["doctors"])
        if len(people) < 8 or len(docs) == 0:
            continue
        ctx.taken[people] = True
        step = int(p["interval_days"])
        p["occasions"] = n_occ = min(int(p["occasions"]), (days - 1) // step + 1)
        first = int(rng.integers(0, days - (n_occ - 1) * step))
        dxs = rng.choice(cat.GATHERING_CODES, size=int(p["codes"]), replace=False)
        gap = 60 * p["gap_minutes"]
        pats, times = [], []
        for k in range(n_occ):
            m = rng.permutation(people)
            m = m[:max(2, round(len(m) * min(1.0, p["attendance"] + rng.uniform(-0.05, 0.05))))]
            t0 = (first + k * step) * DAY + int(7.5 * HOUR) + int(rng.integers(0, HOUR))
            pats.append(m)
            times.append(gap_times(rng, len(m), t0, max(30, 0.5 * gap), 1.5 * gap))
        pat, start = np.concatenate(pats), np.concatenate(times)
        total = np.round(p["bill"] * 100 * (1 + rng.normal(0, 1, len(pat)) * p["bill_cv"]))
        total = total.astype(np.int64)
        claims = make(pat, host, cat.OUT, start, total, doc=rng.choice(docs, len(pat)),
                      dx=rng.choice(dxs, len(pat)), tag=tag0 + len(out),
                      fund=np.floor(total * cat.OUT_RATIO[w.inst_tier[host]]).astype(np.int64))
        keep = ~in_stay(claims["pat"], claims["start"], ctx.stays)
        out.append(({c: v[keep] for c, v in claims.items()}, meta("bussed_elderly", p)))
    return out
