"""A pool split by its bills: one piece per bill level, the smaller pieces grown back
onto their own occasions, and pieces joined to the group of their own ring.

Two rings that one host admits in the same weeks under a shared doctor share every
occasion node, so the community search can leave them in one pool; each ring bills its
own amount (:func:`._ring_groups.bill_levels`). The pieces are then what the pool held
of each ring, and a piece may belong with another group: the rest of its ring, found
in another pool or at another site.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from ._arrays import sorted_unique
from ._ring_campaign import StayIndex, alike, summaries
from ._ring_evidence import occasion_table, take
from ._ring_groups import bill_levels
from ._ring_sets import firsts, member

__all__ = ["by_bill", "regrown", "rejoin"]


def rejoin(groups: list[tuple[dict, int]], amount: np.ndarray, min_members: int,
            course) -> list[dict]:
    """The groups, each part of a pool split by its bills joined to another group that
    could be the same ring's (:func:`._ring_campaign.alike`), shares a period with it
    and bills at its level once joined.

    Each group comes with its kind: 0 a pool kept whole, 1 a piece of a split pool but
    its largest (the pool held members of two rings, and these are the other ring's), 2
    the largest piece. A piece is joined to a group holding half its occasions or more
    (a ring working several sites, whose recruits at one of them another pool took in;
    a ring's members that the community search put with another ring); the smaller
    pieces also to a group of their host. A part that is a ward's course programme on
    its own (``course(group)`` is true), or a group that is one, is never joined: two
    cohorts of one ward's courses, each coming back on its own schedule, would make one
    group that no occasion brings half of."""
    out = [g for g, _ in groups]
    if not any(kind for _, kind in groups):
        return out
    info = summaries(out, amount=amount)
    # the groups of each host, and of each occasion, in order
    at_host: dict[int, list[int]] = {}
    for j, y in enumerate(info):
        at_host.setdefault(y["host"], []).append(j)
    at_occasion: dict[int, list[int]] = {}
    for j, g in enumerate(out):
        for o in sorted_unique(g["occasion"]).tolist():
            at_occasion.setdefault(o, []).append(j)
    gone = np.zeros(len(groups), bool)
    courses: dict[int, bool] = {}

    def is_course(j):
        if j not in courses:
            courses[j] = bool(course(out[j]))
        return courses[j]

    for i, (_, kind) in enumerate(groups):
        if not kind:
            continue
        piece, x = out[i], info[i]   # with any piece joined to it already
        mine = sorted_unique(piece["occasion"]).tolist()
        shared = Counter(j for o in mine for j in at_occasion[o])
        near = (at_host[x["host"]] if kind == 1 else []) + \
            [j for j, n in shared.items() if 2 * n >= len(mine)]
        for j in dict.fromkeys(near):
            y = info[j]
            if j == i or gone[j] or not alike(x, y):
                continue
            overlap = min(x["last"], y["last"]) - max(x["first"], y["first"])
            if overlap < 0.5 * min(x["last"] - x["first"], y["last"] - y["first"]):
                continue
            if is_course(i) or is_course(j):
                continue
            both = {c: np.concatenate([out[j][c], piece[c]]) for c in piece}
            if bill_levels(both["patient"], amount[both["row"]],
                           min_members=min_members).any():
                continue
            _, once = firsts(both["row"])
            once = once[np.argsort(both["occasion"][once], kind="stable")]
            out[j] = {c: v[once] for c, v in both.items()}
            courses.pop(j, None)
            gone[i] = True
            break
    return [g for g, dead in zip(out, gone, strict=True) if not dead]


def regrown(piece: dict, st: dict, by_patient: StayIndex, hold: float = 0.1) -> dict:
    """A piece split off a pool by its bills, on its occasions and every other that
    brings two or more of its patients, and a tenth of them (``st``: all stays on
    occasions, found by patient through ``by_patient``).

    A pool holds the occasions that bring a tenth of its members; a small ring inside a
    large pool (ten recruits beside a hundred) falls below that on its own occasions, and
    its piece would keep only those it shared with the other ring.
    """
    patients = sorted_unique(piece["patient"])
    at, _ = by_patient.runs(patients)
    mine = take(st, at)
    pairs = sorted_unique(mine["occasion"].astype(np.int64) << 32 | mine["patient"])
    occ, n = np.unique(pairs >> 32, return_counts=True)
    good = np.union1d(occ[n >= max(2, hold * len(patients))], piece["occasion"])
    grown = take(mine, member(mine["occasion"], good))
    if len(sorted_unique(grown["occasion"])) <= len(sorted_unique(piece["occasion"])):
        return piece
    order = np.lexsort((grown["row"], grown["occasion"]))
    return take(grown, order)


def by_bill(sub: dict, amount: np.ndarray, min_members: int) -> list[dict]:
    """The stays of a group, one part per bill level of its patients
    (:func:`._ring_groups.bill_levels`), each on the occasions that bring two or more of
    its own patients; the group whole when it has one level."""
    level = bill_levels(sub["patient"], amount[sub["row"]], min_members=min_members)
    if not level.any():
        return [sub]
    out = []
    for k in range(int(level.max()) + 1):
        piece = take(sub, level == k)
        table = occasion_table(piece)
        good = table["occasion"][table["patients"] >= 2]
        if len(good):   # a level none of whose occasions brings two of it is no part
            out.append(take(piece, member(piece["occasion"], good)))
    return out
