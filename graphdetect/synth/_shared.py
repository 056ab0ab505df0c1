"""Helpers the planters share: choosing people and places, spacing days and swipe runs.

A planter is ``plant(rng, ctx, specs, tag0) -> [(claims, meta), ...]``: ``specs`` holds one
dict of drawn parameters per group (see ``_variants``), the claims of the k-th group it
returns carry tag ``tag0 + k``. Members come from people nobody else has taken
(``ctx.taken``) and are then marked taken, so members of different groups never overlap.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from . import _catalog as cat
from ._params import rounded
from ._variants import LOOKALIKES, VARIANTS
from ._world import members as village_people

__all__ = ["choose", "spaced_days", "gap_times", "adults", "villages_near", "nearest_pool",
           "staff", "meta", "look_meta", "next_host", "village_people"]


def choose(rng: np.random.Generator, pool: np.ndarray, k: int,
           weight: np.ndarray | None = None) -> np.ndarray:
    """``k`` distinct sorted elements of ``pool`` (fewer if it is smaller), by weight."""
    k = min(int(k), len(pool))
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    p = None if weight is None else weight / weight.sum()
    return np.sort(rng.choice(pool, size=k, replace=False, p=p))


def spaced_days(rng: np.random.Generator, k: int, lo: int, hi: int, gap: int) -> np.ndarray:
    """Up to ``k`` sorted days in [lo, hi] at least ``gap`` apart (fewer if they don't fit)."""
    if hi < lo:
        return np.empty(0, dtype=np.int64)
    k = max(1, min(int(k), (hi - lo) // max(gap, 1) + 1))
    slack = hi - lo - gap * (k - 1)
    return lo + np.sort(rng.integers(0, slack + 1, k)) + gap * np.arange(k)


def gap_times(rng: np.random.Generator, n: int, t0: int, lo_s: float, hi_s: float) -> np.ndarray:
    """Times of ``n`` events from ``t0``, consecutive ones ``lo_s``-``hi_s`` seconds apart."""
    lo = max(1, int(round(lo_s)))
    hi = max(lo, int(round(hi_s)))
    return t0 + np.concatenate([[0], np.cumsum(rng.integers(lo, hi + 1, max(n - 1, 0)))])


def adults(ctx: SimpleNamespace, pool: np.ndarray, min_age: int = 18) -> np.ndarray:
    """The untaken people of ``pool`` aged ``min_age`` or more."""
    return pool[~ctx.taken[pool] & (ctx.w.pat_age[pool] >= min_age)]


def villages_near(w: SimpleNamespace, xy: np.ndarray, far: bool = False) -> np.ndarray:
    """Villages ordered by distance from ``xy`` (farthest first when ``far``)."""
    d = ((w.vil_xy - xy) ** 2).sum(1)
    return np.argsort(-d if far else d, kind="stable")


def nearest_pool(ctx: SimpleNamespace, inst: int, n_vil: int, elderly: float,
                 min_age: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Untaken people of the ``n_vil`` villages nearest ``inst`` aged ``min_age`` or more,
    and their weights (people 60+ weighted ``elderly``)."""
    w = ctx.w
    pool = village_people(ctx.by_vil, villages_near(w, w.inst_xy[inst])[:n_vil])
    pool = adults(ctx, pool, min_age)
    return pool, np.where(w.pat_age[pool] >= 60, elderly, 1.0)


def staff(w: SimpleNamespace, inst: int) -> np.ndarray:
    """Every doctor of ``inst``."""
    return np.arange(np.searchsorted(w.doc_inst, inst),
                     np.searchsorted(w.doc_inst, inst, side="right"))


def meta(variant: str, params: dict) -> dict:
    """A planted group's truth description: kind, variant and its drawn parameters."""
    v = VARIANTS[variant]
    return {"kind": v.kind, "variant": variant, "params": rounded(v.params, params)}


def look_meta(kind: str, variant: str, params: dict | None = None, **extra) -> dict:
    """A look-alike's truth description."""
    return {"kind": kind, "variant": variant,
            "params": rounded(LOOKALIKES[kind].params, params or {}), **extra}


def next_host(rng: np.random.Generator, ctx: SimpleNamespace, hc_share: float = 0.3) -> int:
    """The next host of a ring: a private hospital (taken in turn from a shuffled list) or,
    with chance ``hc_share``, a health centre (likewise)."""
    w = ctx.w
    if not hasattr(ctx, "ring_hosts"):
        ctx.ring_hosts = {"priv": [rng.permutation(np.flatnonzero(w.inst_tier == cat.PRIV)), 0],
                          "hc": [rng.permutation(w.town_hc), 0]}
    slot = ctx.ring_hosts["hc" if rng.random() < hc_share else "priv"]
    host = int(slot[0][slot[1] % len(slot[0])])
    slot[1] += 1
    return host
