"""The lockstep engine's linking helpers and its blocks: the sparse steps that link
windows sharing cards (:func:`upper`, :func:`components`, :func:`ranks`), and the cut of
linked windows into blocks of cards that share their days (:func:`blocks`), trimmed to
each day's run (:func:`trim`). Used by :func:`._lockstep._link`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from ._arrays import distinct_counts, group_medians, pair_order, run_lengths, sorted_unique
from ._lockstep_bursts import sorted_key_order
from ._lockstep_hours import run_floor, service_day

__all__ = ["upper", "components", "ranks", "trim", "blocks"]


def upper(m: sp.csr_matrix, at_least) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The entries above the diagonal of a CSR matrix holding at least ``at_least``: rows
    (ascending), columns and values, as ``sp.triu(m, k=1).tocoo()`` holds them (without
    building either matrix)."""
    row = np.repeat(np.arange(m.shape[0], dtype=m.indices.dtype), np.diff(m.indptr))
    keep = row < m.indices
    keep &= m.data >= at_least
    at = np.flatnonzero(keep)
    return row[at], m.indices[at], m.data[at]


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """:func:`._stays.components` of pairs whose ``a`` is ascending (as :func:`_upper`
    gives them): the same labels, numbered in order of each component's first item,
    from a CSR matrix made directly rather than converted from COO."""
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(a, minlength=n), out=indptr[1:])
    m = sp.csr_matrix((np.ones(len(b)), b, indptr), shape=(n, n))
    return connected_components(m, directed=False)[1]


def ranks(key: np.ndarray) -> tuple[np.ndarray, int]:
    """Per element, the rank of its value among the distinct values (``np.unique``'s
    inverse, by one sort), and the number of distinct values."""
    if not len(key):
        return np.zeros(0, np.int64), 0
    order, sorted_key = sorted_key_order(key)
    start = np.ones(len(key), bool)
    start[1:] = sorted_key[1:] != sorted_key[:-1]
    out = np.empty(len(key), np.int64)
    out[order] = np.cumsum(start) - 1
    return out, int(start.sum())


def trim(graph, rows: np.ndarray, block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep each day's run, dropping the block's stray swipes that day (a pooled card's own
    purchase in the morning of a night run; a clinic's ordinary patients in the afternoon
    of a morning gathering), which whole-day windows let in.

    A day's swipes are cut where the gap between two is over four times the block's
    median gap between same-day swipes (and at least a minute, or its place's stamp:
    :func:`._lockstep_hours.run_floor`); the pieces holding at least a quarter of that
    day's swipes are kept. ``rows`` and ``block`` are every block's
    rows, by block then row, and so is what is kept.
    """
    t = graph.seconds[rows]
    order = pair_order(block, t)
    t, day, b = t[order], service_day(graph)[rows][order], block[order]
    step = np.diff(t)
    same = (b[1:] == b[:-1]) & (day[1:] == day[:-1])
    bi = np.cumsum(np.concatenate(([True], b[1:] != b[:-1]))) - 1
    # a block without two swipes on one day is kept whole (its median gap is NaN)
    place = graph.codes("institution")[rows[order[np.flatnonzero(np.diff(bi, prepend=-1))]]]
    cut = np.maximum(4 * group_medians(step[same], bi[1:][same], int(bi[-1]) + 1),
                     run_floor(graph, place))
    new = np.ones(len(t), bool)
    new[1:] = ~same | (step > cut[bi[1:]])
    piece = np.cumsum(new) - 1
    day_start = np.ones(len(t), bool)
    day_start[1:] = ~same
    per_day = np.bincount(np.cumsum(day_start) - 1)[np.cumsum(day_start) - 1]
    keep = (np.bincount(piece)[piece] >= 0.25 * per_day) | np.isnan(cut[bi])
    kept = np.sort(b[keep] << 32 | rows[order[keep]])
    return kept & 0xFFFFFFFF, kept >> 32


def blocks(graph, rows: np.ndarray, of: np.ndarray, min_cards: int,
            min_runs: int) -> tuple[np.ndarray, np.ndarray]:
    """Split linked sets of windows into blocks of cards that share their days.

    ``rows`` are the swipes of several sets at once, ``of`` the set of each (sets are
    never mixed). Two groups at one place (a pooling run and a clinic's regulars, say)
    can be joined by a busy day holding both. Within a set, cards are linked when they
    share at least half the days of the one of the two seen on more days (and two);
    each connected block keeps its days holding at least a quarter of its cards (and 3),
    and counts when it has ``min_cards`` cards on ``min_runs`` such days. Blocks come
    in the order of their sets, then of their lowest card: returned as every block's rows
    and the block of each (a label), by block then row.
    """
    if not len(rows):
        return rows, of
    of = of.astype(np.int64)
    card = graph.codes("card")[rows].astype(np.int64)
    day = service_day(graph)[rows]
    day -= day.min()
    node, n_node = ranks(of * graph.n("card") + card)        # one per (set, card)
    col, n_col = ranks(of * (int(day.max()) + 1) + day)      # one per (set, day)
    pair = sorted_unique(node << 32 | col)
    pn, pcol = pair >> 32, pair & 0xFFFFFFFF
    n_days = np.bincount(pn, minlength=n_node)
    # the pairs are distinct and in (node, day) order: the CSR matrix's own layout
    indptr = np.zeros(n_node + 1, np.int64)
    np.cumsum(n_days, out=indptr[1:])
    C = sp.csr_matrix((np.ones(len(pn), np.int32), pcol, indptr), shape=(n_node, n_col))
    a, b, common = upper(C @ C.T, 2)     # a strong link needs at least 2 days in common
    strong = common >= np.maximum(2, 0.5 * np.maximum(n_days[a], n_days[b]))
    comp = components(n_node, a[strong], b[strong]).astype(np.int64)
    size = np.bincount(comp)
    # a block's days: those holding a quarter of its cards (and 3)
    cc = np.sort(comp[pn] * n_col + pcol)
    held = run_lengths(cc)
    cc = cc[np.cumsum(held) - held]     # the distinct values of the sorted cc
    good_cc = cc[held >= np.maximum(3, 0.25 * size[cc // n_col])]
    n_good = np.bincount(good_cc // n_col, minlength=len(size))
    r_comp = comp[node]
    key = r_comp * n_col + col
    at = np.searchsorted(good_cc, key).clip(max=max(len(good_cc) - 1, 0))
    keep = (size[r_comp] >= min_cards) & (n_good[r_comp] >= min_runs)
    keep &= good_cc[at] == key if len(good_cc) else False
    kept_cards = distinct_counts(r_comp[keep], node[keep], len(size))
    keep &= kept_cards[r_comp] >= min_cards
    cr = np.sort(r_comp[keep] << 32 | rows[keep].astype(np.int64))
    return cr & 0xFFFFFFFF, cr >> 32
