"""Planted shared identities (多户头 / 冒名就医): many insured people of different households
whose patients-table phone (or address) is one value, all settled at one clinic."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from . import _catalog as cat
from ._claims import DAY, clinic_time, make, money
from ._gatherings import host_near
from ._people import reserve_hash
from ._shared import adults, choose, meta, staff, village_people, villages_near

__all__ = ["shared_phone", "shared_address"]


def _identity(rng: np.random.Generator, ctx: SimpleNamespace, specs: list, tag0: int,
              variant: str, field: str) -> list:
    w, days = ctx.w, ctx.days
    out = []
    for p in specs:
        v0 = int(rng.choice(np.flatnonzero(w.vil_size >= 40)))
        host = host_near(rng, w, v0, (cat.VC, cat.CLINIC))
        vils = villages_near(w, w.inst_xy[host])[:p["villages"]]
        people = choose(rng, adults(ctx, village_people(ctx.by_vil, vils), 5), p["people"])
        docs = choose(rng, staff(w, host), p["doctors"])
        if len(people) < 10 or len(docs) == 0:
            continue
        ctx.taken[people] = True
        getattr(w, "pat_" + field)[people] = reserve_hash(w, field)
        step = 7 * int(p["interval_weeks"])
        on = np.arange(int(rng.integers(0, step)), days, step)
        came = rng.random((len(on), len(people))) < p["attendance"]
        never = np.flatnonzero(~came.any(0))
        came[rng.integers(0, len(on), len(never)), never] = True
        k, j = np.nonzero(came)
        pat = people[j]
        start = on[k] * DAY + clinic_time(rng, len(pat))
        dxs = rng.choice(cat.IDENTITY_CODES, size=int(p["codes"]), replace=False)
        dx = dxs[rng.integers(0, len(dxs), len(people))][j]
        total = money(rng, np.full(len(pat), float(p["bill"])), p["bill_sigma"])
        claims = make(pat, host, cat.OUT, start, total, doc=rng.choice(docs, len(pat)), dx=dx,
                      fund=np.floor(total * cat.OUT_RATIO[w.inst_tier[host]]).astype(np.int64),
                      tag=tag0 + len(out))
        out.append((claims, meta(variant, p)))
    return out


def shared_phone(rng: np.random.Generator, ctx: SimpleNamespace, specs: list,
                 tag0: int) -> list:
    """People of several households under one phone number, settled at one clinic."""
    return _identity(rng, ctx, specs, tag0, "shared_phone", "phone")


def shared_address(rng: np.random.Generator, ctx: SimpleNamespace, specs: list,
                   tag0: int) -> list:
    """People of several households under one address (not a home), settled at one clinic."""
    return _identity(rng, ctx, specs, tag0, "shared_address", "addr")
