"""Night runs at a shut place, linked by the place rather than by the cards.

The lockstep engine links two windows when they share at least three cards (and
``min_overlap`` of the smaller one's), so that a busy place's customers, who come back
now and then, do not tie its busy hours together. A pharmacy that holds sixty cards and
swipes ten a night gives two nights fewer than two cards in common, and few of its
nights link. While the place is shut nobody comes by: a dense window wholly in its shut
hours is already out of the ordinary, and what ties such windows is the place and the
cards they keep swiping again, not three cards shared by every two of them.

So :func:`night_sets` links a place's *shut windows* (every hour, first swipe to last,
one whose claims number under 5% of the place's busiest hour, the windows' own swipes
left out, as :func:`._lockstep_hours.off_and_night` counts it) by any card two of them
share. A linked set on ``min_runs`` days or more is kept when its cards seen on two or
more of its days number ``min_cards`` and make ``min_overlap`` of its swipes: a
hospital's night-time emergencies, also shut-hour windows, bring mostly new patients.
Its evidence is those cards' swipes, as a group's is; :func:`merge` joins a set to the
card-linked blocks it holds half of.
"""

from __future__ import annotations

import numpy as np

from ._arrays import distinct_counts, sorted_unique
from ._lockstep_blocks import components, ranks
from ._lockstep_hours import off_and_night, service_day

__all__ = ["shut_windows", "night_sets", "merge"]


def shut_windows(graph, hours: np.ndarray, b_rows, b_id, b_place, n_b: int) -> np.ndarray:
    """Per window, whether every hour from its first swipe to its last is one its place
    is all but shut in.

    ``hours`` are each place's kept claims by hour of day (places × 24); the windows'
    own swipes are taken out of them first, so a place's runs do not make their hours
    look open. A place with under 50 other claims has no shut hours.
    """
    mark = np.zeros(len(graph), bool)
    mark[b_rows] = True
    rows = np.flatnonzero(mark)
    place = graph.codes("institution")[rows].astype(np.int64)
    own = np.bincount(place * 24 + graph.seconds[rows] % 86400 // 3600,
                      minlength=hours.size).reshape(hours.shape)
    profile = hours - own
    shut = off_and_night(profile)[0] & (profile.sum(axis=1) >= 50)[:, None]
    # shut hours counted up over two days, so that a window past midnight is one span
    upto = np.zeros((len(shut), 49), np.int64)
    np.cumsum(np.concatenate((shut, shut), axis=1), axis=1, out=upto[:, 1:])
    t = graph.seconds[b_rows]
    start = np.searchsorted(b_id, np.arange(n_b, dtype=b_id.dtype))
    t0, t1 = np.minimum.reduceat(t, start), np.maximum.reduceat(t, start)
    h0 = t0 % 86400 // 3600
    span = t1 // 3600 - t0 // 3600 + 1          # hours the window touches
    fits = span <= 24
    end = np.where(fits, h0 + span, h0)
    return fits & (upto[b_place, end] - upto[b_place, h0] == span)


def night_sets(graph, shut, pb, pc_id, n_pc: int, b_rows, b_id, b_day, min_runs: int,
               min_overlap: float, min_cards: int) -> tuple[np.ndarray, np.ndarray]:
    """The kept sets of shut windows linked by any (place, card) they share: the rows of
    their cards seen on two or more of their days, and a label per set, by label then
    row (labels from 0, in order of each set's first window).

    ``pb``, ``pc_id`` are the windows' distinct (place, card) columns, by window;
    ``b_day`` each window's day.
    """
    empty = np.zeros(0, np.int64)
    n_b = len(shut)
    if not shut.any():
        return empty, empty
    # windows and (place, card) columns as one graph's nodes: a shut window is joined
    # to its columns, so windows sharing one fall in one component
    on = shut[pb]
    comp = components(n_b + n_pc, pb[on], n_b + pc_id[on])[:n_b]
    label = np.full(n_b, -1, np.int64)
    label[shut], n_label = ranks(comp[shut])
    ok = shut.copy()
    ok[shut] = (distinct_counts(label[shut], b_day[shut], n_label) >= min_runs)[label[shut]]
    sel = ok[b_id]
    if not sel.any():
        return empty, empty
    rl = sorted_unique(label[b_id[sel]].astype(np.int64) << 32 | b_rows[sel])
    lab, r = rl >> 32, rl & 0xFFFFFFFF
    # the sets' cards seen on two or more of their days
    card, n_card = ranks(lab * graph.n("card") + graph.codes("card")[r])
    again = (distinct_counts(card, service_day(graph)[r], n_card) >= 2)[card]
    cards = distinct_counts(lab[again], card[again], n_label)
    share = np.bincount(lab, weights=again, minlength=n_label) \
        / np.maximum(np.bincount(lab, minlength=n_label), 1)
    keep = again & ((cards >= min_cards) & (share >= min_overlap))[lab]
    lab, r = lab[keep], r[keep]
    if not len(r):
        return empty, empty
    return r, ranks(lab)[0]


def merge(rows: np.ndarray, block: np.ndarray, more: np.ndarray, label: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray]:
    """Blocks (``rows`` by ``block``, disjoint) joined with the sets of night runs (``more``
    by ``label``) that hold half of their rows or more: every row once per joined set, by
    set then row, the sets numbered in order of their first block or set.

    A block a set holds less of (a few pooled cards' own daytime purchases and a night
    swipe or two) is left as it was, and keeps its rows; a set that joins no block but
    shares rows with one is left out.

    >>> rows, block = np.array([1, 2, 3, 10, 11, 12, 13]), np.array([0, 0, 0, 1, 1, 1, 1])
    >>> [x.tolist() for x in merge(rows, block, np.array([2, 3, 4, 13, 30, 12, 40]),
    ...                            np.array([0, 0, 0, 0, 1, 2, 2]))]
    [[1, 2, 3, 4, 10, 11, 12, 13, 30], [0, 0, 0, 0, 1, 1, 1, 1, 2]]
    """
    if not len(more):
        return rows, block
    rows, block = rows.astype(np.int64), block.astype(np.int64)
    n_block = int(block.max()) + 1 if len(block) else 0
    # the block of each night row that lies in one
    order = np.argsort(rows, kind="stable")
    at = np.searchsorted(rows[order], more).clip(max=max(len(rows) - 1, 0))
    hit = np.flatnonzero(rows[order][at] == more) if len(rows) else np.zeros(0, np.int64)
    owner = block[order[at[hit]]]
    pair, count = np.unique(label[hit] << 32 | owner, return_counts=True)
    joined = count >= 0.5 * np.bincount(block, minlength=n_block)[pair & 0xFFFFFFFF]
    # a night row in a block its set does not join stays with the block alone, and a
    # set that joins none but shares rows with one is left out whole (what is left of
    # it need not be a group)
    drop = ~np.isin(label[hit] << 32 | owner, pair[joined])
    keep = np.ones(len(more), bool)
    keep[hit[drop]] = False
    n_set = int(label.max()) + 1
    alone = (np.bincount(pair[joined] >> 32, minlength=n_set) == 0) \
        & (np.bincount(label[hit[drop]], minlength=n_set) > 0)
    keep &= ~alone[label]
    # blocks are nodes 0.., sets after them; a joined pair links its two
    n = n_block + n_set
    a = pair[joined] & 0xFFFFFFFF
    b = (pair[joined] >> 32) + n_block
    comp = components(n, *_ascending(a, b))
    lab = np.concatenate((block, label[keep] + n_block))
    out = sorted_unique(comp[lab].astype(np.int64) << 32
                        | np.concatenate((rows, more[keep])))
    return out & 0xFFFFFFFF, out >> 32


def _ascending(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs in order of their first item, as :func:`components` wants them."""
    o = np.argsort(a, kind="stable")
    return a[o], b[o]
