"""Evidence stays: the stays of each pool that speak for it, found for all pools at once.

A pool (:func:`._ring_groups.pools`) is its repeat patients and the occasions they
attend; its evidence is the stays on those occasions of its members and of those
admitted once alongside them under its doctors with its diagnoses. Done pool by pool
this is a few dozen numpy calls on a few dozen stays, thousands of times over; here
each step is one pass over all pools' stays, a pool told apart by its number.
"""

from __future__ import annotations

import numpy as np

from ._arrays import group_medians, sorted_unique, unique_counts
from ._ring_campaign import StayIndex
from ._ring_groups import at_level, log_bills
from ._ring_sets import firsts, median, member

__all__ = ["occasion_table", "pool_parts", "sites_alike", "take"]


def pool_parts(groups: list[tuple[np.ndarray, np.ndarray]], owner: np.ndarray,
               st: dict, node_occ: np.ndarray, index: StayIndex, amount: np.ndarray, *,
               min_occasions: int, min_members: int,
               usual: np.ndarray | None = None) -> tuple[list[dict], list[int]]:
    """Each pool's evidence stays, and the pools strong enough to be rings.

    ``groups`` are the pools, ``(members, nodes held)``, and ``owner`` the pool
    bringing most members to each node; ``st`` the stays (arrays per column, with
    ``node``), ``node_occ`` each node's occasion and ``index`` finds the stays by
    occasion. A pool's evidence: on the occasions it holds, its members' stays and
    those of patients in no pool admitted on its own nodes under its usual doctors with
    its usual diagnoses (each on a tenth or more of its members' stays with a known
    code; where its members' diagnoses are all unknown, billed at its level instead,
    :func:`_billed_alike`); then only the occasions bringing two or more of these
    patients, at the sites billing alike (:func:`sites_alike`). Pools left with two
    occasions or more give the parts, in pool order, each part's stays grouped by
    occasion; the strong pools (their numbers) also have ``min_occasions`` occasions and
    ``min_members`` patients. ``usual`` is passed on to :func:`sites_alike`.
    """
    repeaters = np.zeros(int(st["patient"].max(initial=-1)) + 1, bool)
    for members, _ in groups:
        repeaters[members] = True
    # (pool, occasion) held, sorted: a pool needs two occasions
    n_held = np.array([len(h) for _, h in groups], np.int64)
    gid = np.repeat(np.arange(len(groups), dtype=np.int64), n_held)
    held = np.concatenate([h for _, h in groups]) if groups else np.empty(0, np.int64)
    pair = sorted_unique(gid << 32 | node_occ[held])
    pool = pair >> 32
    pair = pair[np.bincount(pool, minlength=len(groups))[pool] >= 2]
    # their stays, pool by pool, each pool's by occasion and then in stay order
    at, n = index.runs(pair & 0xFFFFFFFF)
    sub = take(st, at)
    gk = np.repeat(pair >> 32, n)
    n_members = np.array([len(m) for m, _ in groups], np.int64)
    mine = np.repeat(np.arange(len(groups), dtype=np.int64), n_members) << 32 \
        | (np.concatenate([m for m, _ in groups]) if groups else np.empty(0, np.int64))
    core = member(gk << 32 | sub["patient"], mine)
    single = ~repeaters[sub["patient"]] & (owner[sub["node"]] == gk)
    keep = core | (single & _usual(sub["doctor"], core, gk, len(groups))
                   & _usual(sub["diagnosis"], core, gk, len(groups)))
    # without a diagnosis to match, a single must bill at the pool's level
    blind = np.bincount(gk[core & (sub["diagnosis"] >= 0)], minlength=len(groups)) == 0
    if (keep & ~core & blind[gk]).any():
        keep &= core | ~blind[gk] | _billed_alike(amount[sub["row"]], core, gk, len(groups))
    sub = take(sub, keep)
    gk = gk[keep]
    # occasions bringing two or more of a pool's patients; a pool needs two of them
    key = gk << 32 | sub["occasion"]
    occ = sorted_unique(key)
    seen = sorted_unique(np.searchsorted(occ, key).astype(np.int64) << 32 | sub["patient"]) >> 32
    good = occ[np.bincount(seen, minlength=len(occ)) >= 2]
    good = good[np.bincount(good >> 32, minlength=len(groups))[good >> 32] >= 2]
    keep = member(key, good)
    sub = take(sub, keep)
    gk = gk[keep]
    n_occ = np.bincount(good >> 32, minlength=len(groups))
    n_pat = np.bincount(sorted_unique(gk << 32 | sub["patient"]) >> 32, minlength=len(groups))
    bound = np.searchsorted(gk, np.arange(len(groups) + 1))
    parts, strong = [], []
    for k in np.flatnonzero(n_occ):
        whole = {c: v[bound[k]:bound[k + 1]] for c, v in sub.items()}
        part = sites_alike(whole, amount, usual)
        occasions, patients = int(n_occ[k]), int(n_pat[k])
        if part is not whole:
            occasions = len(sorted_unique(part["occasion"]))
            patients = len(sorted_unique(part["patient"]))
        if occasions >= 2:
            parts.append(part)
            if occasions >= min_occasions and patients >= min_members:
                strong.append(int(k))
    return parts, strong


def _billed_alike(amount: np.ndarray, core: np.ndarray, pool: np.ndarray,
                  n: int) -> np.ndarray:
    """Per stay of pool ``pool``, whether its log bill lies within four spreads of the
    median of the pool's core stays (the scaled median absolute deviation, at least 1%).

    >>> bill = np.array([1000.0, 1050, 980, 1020, 3000, 1010])
    >>> core = np.array([True, True, True, True, False, False])
    >>> _billed_alike(bill, core, np.zeros(6, np.int64), 1).tolist()
    [True, True, True, True, False, True]
    """
    x = log_bills(amount)
    mid = group_medians(x[core], pool[core], n)
    spread = 1.4826 * group_medians(np.abs(x[core] - mid[pool[core]]), pool[core], n)
    return at_level(x, mid[pool], spread[pool])


def _usual(codes: np.ndarray, core: np.ndarray, pool: np.ndarray, n: int) -> np.ndarray:
    """Per stay of pool ``pool``, whether its code is one of those on at least a tenth
    of the pool's core stays with a known code (unknown codes, and all codes of a pool
    whose core codes are all unknown, pass)."""
    known = core & (codes >= 0)
    total = np.bincount(pool[known], minlength=n)
    key = pool << 32 | codes.clip(min=0)
    vals, cnt = unique_counts(key[known])
    often = vals[cnt >= 0.1 * total[vals >> 32]]
    return (codes < 0) | (total[pool] == 0) | member(key, often)


def sites_alike(sub: dict, amount: np.ndarray, usual: np.ndarray | None = None) -> dict:
    """Without doctor ids, a group's stays at the sites that bill at its main site's level
    (``sub`` itself when all are kept).

    With no doctor to tie the sites together, occasions at other places that only
    coincide with the group's (a hub's busy weeks) would join it; the same recruits'
    scheme bills alike at each site. A site is kept when half its stays or more bill
    within 4 spreads of the main site's median log bill (the spread: the main site's
    scaled median absolute deviation, at least 1%); the others are left out, with their
    occasions. Where the group's bills at its main site are no tighter than that site's
    own admissions' (``usual``: per institution, the scaled median absolute deviation of
    its admissions' log bills), the group has no level of its own and no other site is
    kept."""
    inst = sub["institution"]
    if (sub["doctor"] >= 0).any() or not len(inst) or (inst == inst[0]).all():
        return sub
    x = log_bills(amount[sub["row"]])
    sites, count = unique_counts(inst)
    main = sites[np.lexsort((sites, -count))[0]]
    keep = inst == main
    mid = median(x[keep])
    spread = 1.4826 * median(np.abs(x[keep] - mid))
    at_level = np.abs(x - mid) <= 4 * max(spread, 0.01)
    others = sites[sites != main] if usual is None or spread < usual[main] else sites[:0]
    for site in others:
        mine = inst == site
        if at_level[mine].mean() >= 0.5:
            keep |= mine
    if keep.all():
        return sub
    sub = take(sub, keep)
    occ = occasion_table(sub)
    return take(sub, member(sub["occasion"], occ["occasion"][occ["patients"] >= 2]))


def take(sub: dict, keep: np.ndarray) -> dict:
    """The stays of ``sub`` (arrays per column) that ``keep`` selects (a mask or
    positions), the selection made once for all columns."""
    return {c: v[keep] for c, v in sub.items()}


def occasion_table(sub: dict) -> dict:
    """One row per occasion of the stays: institution, first and last admission day,
    patients and claims."""
    occ, first = firsts(sub["occasion"])
    inv = np.searchsorted(occ, sub["occasion"])
    # the stays sorted by occasion, then day: each occasion's first and last day
    order = np.lexsort((sub["start"], inv))
    day = sub["start"][order].astype(np.int64)
    claims = np.bincount(inv, minlength=len(occ))
    end = np.cumsum(claims)
    pairs = sorted_unique(inv.astype(np.int64) << 32 | sub["patient"]) >> 32
    return {"occasion": occ, "institution": sub["institution"][first],
            "first": day[end - claims], "last": day[end - 1],
            "patients": np.bincount(pairs, minlength=len(occ)), "claims": claims}
