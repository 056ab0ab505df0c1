"""Campaigns: one ring working several small sub-pools in turn at the same place.

A weekly trickle often rotates its recruits: each can be admitted only every few weeks,
so the same doctor brings in one small group this week and another the next. The
groups share no patients and no occasion, so the pool search sees several small pools;
what ties them is the operation itself: one host, one doctor, interleaved occasions
forming a stream far denser than any one group's.
"""

from __future__ import annotations

import numpy as np

from ._stays import components

__all__ = ["campaigns"]


def _summary(part: dict) -> dict:
    inst, cnt = np.unique(part["institution"], return_counts=True)
    docs, dcnt = np.unique(part["doctor"][part["doctor"] >= 0], return_counts=True)
    occ, first = np.unique(part["occasion"], return_index=True)
    size = np.unique(np.searchsorted(occ, part["occasion"]).astype(np.int64) << 32
                     | part["patient"]) >> 32
    return {"host": int(inst[np.argmax(cnt)]),
            "doctors": set(docs[dcnt >= 0.15 * len(part["doctor"])].tolist()),
            "occasions": set(occ.tolist()),
            "patients": set(np.unique(part["patient"]).tolist()),
            "first": int(part["start"].min()), "last": int(part["start"].max()),
            "days": np.unique(part["start"][first]),
            "size": float(np.median(np.bincount(size)))}


def campaigns(parts: list[dict], *, stream_gap: int) -> list[list[int]]:
    """Groups of part numbers that are one campaign; every part is in exactly one group.

    Parts (evidence stays of pools) may be one campaign when they have the same host
    and a doctor in common, share no patient and no occasion, their periods overlap by
    half the shorter one or more, and they bring similar numbers of patients per
    occasion (within a factor of 2). Such parts, linked, are one campaign when all
    their occasions together form a stream: a median and a mean gap of at most
    ``stream_gap`` days, and at most half of every part's own median gap.

    >>> a = {"institution": np.zeros(3, int), "doctor": np.zeros(3, int),
    ...      "occasion": np.array([0, 2, 4]), "patient": np.array([1, 2, 3]),
    ...      "start": np.array([0, 14, 28])}
    >>> b = dict(a, occasion=np.array([1, 3, 5]), patient=np.array([4, 5, 6]),
    ...          start=np.array([7, 21, 35]))
    >>> campaigns([a, b], stream_gap=14)
    [[0, 1]]
    """
    info = [_summary(p) for p in parts]
    a, b = [], []
    for i in range(len(info)):
        for j in range(i + 1, len(info)):
            x, y = info[i], info[j]
            if x["host"] != y["host"] or not x["doctors"] & y["doctors"] \
                    or x["patients"] & y["patients"] or x["occasions"] & y["occasions"] \
                    or max(x["size"], y["size"]) > 2 * min(x["size"], y["size"]):
                continue
            overlap = min(x["last"], y["last"]) - max(x["first"], y["first"])
            if overlap >= 0.5 * min(x["last"] - x["first"], y["last"] - y["first"]):
                a.append(i)
                b.append(j)
    label = components(len(parts), np.asarray(a, int), np.asarray(b, int))
    out = []
    for g in np.unique(label):
        group = np.flatnonzero(label == g).tolist()
        days = np.unique(np.concatenate([info[i]["days"] for i in group]))
        own = min(_gap(info[i]["days"], np.median) for i in group)
        both = max(_gap(days, np.median), _gap(days, np.mean))
        if len(group) > 1 and both <= stream_gap and both <= 0.5 * own:
            out.append(group)
        else:
            out.extend([i] for i in group)
    return sorted(out)


def _gap(days: np.ndarray, how) -> float:
    """The median or mean of the days between consecutive occasions."""
    return float(how(np.diff(days))) if len(days) > 1 else float("inf")
