"""Pools: groups of patients who attend the same admission occasions again and again.

The evidence of a recruited pool is a dense block of the patients × occasions matrix:
members each attend several of its occasions, and every occasion brings in a good part
of them, even when no two members are often admitted together (a pool of 100 of whom
each occasion brings 30). Patients are compared by the occasions they share, never by
the Jaccard similarity of their whole occasion sets, so partial attendance does not
shatter a pool. Two rings at one hospital may share an occasion (their admissions fell
in the same days); each keeps its own members, and the occasion counts for both.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._pairs import leiden
from ._ring_sets import median
from ._stays import components

__all__ = ["pools", "bill_levels", "log_bills", "at_level"]


def log_bills(amount: np.ndarray) -> np.ndarray:
    """Bills on the scale their levels are compared on: the log of each (under one yuan
    counted as one)."""
    return np.log(np.maximum(amount.astype(float), 1.0))


def at_level(x, mid, spread):
    """Whether log bills ``x`` lie at the level of median ``mid``: within four spreads of
    it, each spread at least 1%.

    >>> at_level(np.log([1000.0, 1100, 2000]), np.log(1000.0), 0.05).tolist()
    [True, True, False]
    """
    return np.abs(x - mid) <= 4 * np.fmax(spread, 0.01)


def _blocks(label: np.ndarray, X: sp.csr_matrix, hold: float = 0.1):
    """Per community: members attending each occasion (k × occasions) and the occasions it
    holds (two or more of its members, and at least ``hold`` of them, attend)."""
    k = int(label.max()) + 1
    own = sp.csr_matrix((np.ones(len(label)), (label, np.arange(len(label)))),
                        shape=(k, len(label)))
    M = (own @ X).tocsr()
    size = np.bincount(label, minlength=k).astype(float)
    held = M.copy()
    held.data = (held.data >= np.maximum(2, hold * size[held.tocoo().row])).astype(float)
    held.eliminate_zeros()
    return M, held, size


def _settle(label: np.ndarray, X: sp.csr_matrix, rounds: int = 4):
    """Each patient moved to the community whose occasions theirs are: the one whose held
    occasions (:func:`_blocks`) have the highest Jaccard similarity with the occasions
    the patient attends; the current one on a tie, else the lowest. Repeated until no
    one moves (at most ``rounds`` times). Returns the labels and their :func:`_blocks`.

    Two rings at one hospital whose admissions fell in the same days on a few occasions
    share those nodes, and community search may leave a few members of each in a small
    community of their own, which holds both rings' occasions and would join the two
    pools; each of its members belongs with the ring whose occasions they attend.

    >>> X = sp.csr_matrix(np.array([[1, 1, 1, 0, 0], [1, 1, 1, 0, 0], [1, 1, 1, 0, 0],
    ...                             [0, 0, 1, 1, 1], [0, 0, 1, 1, 1], [1, 1, 0, 0, 0],
    ...                             [0, 0, 0, 1, 1]]))
    >>> _settle(np.array([0, 0, 0, 1, 1, 2, 2]), X)[0].tolist()
    [0, 0, 0, 1, 1, 0, 1]
    >>> _settle(np.array([0, 1]), sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 1]])))[0].tolist()
    [0, 1]
    """
    attends = np.diff(X.indptr)
    blocks = _blocks(label, X)
    for _ in range(rounds):
        held = blocks[1]
        inter = (X @ held.T).tocoo()
        if not inter.nnz:   # no community holds an occasion: nothing to settle by
            break
        n_held = np.diff(held.indptr)
        sim = inter.data / (attends[inter.row] + n_held[inter.col] - inter.data)
        # per patient, its similarity with its own community, and its best one
        mine = np.zeros(len(label))
        at_own = inter.col == label[inter.row]
        mine[inter.row[at_own]] = sim[at_own]
        order = np.lexsort((inter.col, -sim, inter.row))
        first = order[np.r_[True, inter.row[order][1:] != inter.row[order][:-1]]]
        move = sim[first] > mine[inter.row[first]]
        if not move.any():
            break
        label = label.copy()
        label[inter.row[first][move]] = inter.col[first][move]
        label = np.unique(label, return_inverse=True)[1]
        blocks = _blocks(label, X)
    return label, blocks


def pools(patient: np.ndarray, occasion: np.ndarray, n_occ: int, *, resolution: float,
          seed: int, merge_share: float = 0.4, parent: np.ndarray | None = None,
          engine=None) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """Groups of repeat patients and the occasions each group holds.

    ``patient`` and ``occasion`` list attendances (one per distinct pair). Patients who
    attend at least two occasions (repeaters) and the occasions they attend form a
    bipartite graph; its Leiden communities (modularity of each connected
    component as its own graph) give the candidate pools. A
    pool holds every occasion that two or more of its members (and a tenth of them)
    attend. Nodes may be parts of one occasion (``parent[node]`` is its occasion, say one
    node per doctor). Two pools are merged when the occasions their members attend at
    all have a Jaccard similarity of ``merge_share`` or more, repeated until nothing merges: parts
    of one pool that the community search split (a sparse trickle often is) turn up at
    mostly the same occasions and are made whole, while two rings at one hospital, whose
    admissions fell in the same days on a few occasions only, stay apart, and a handful
    of patients attending two rings' occasions does not join them.

    ``engine`` finds the bipartite graph's connected components and runs Leiden on
    them (:func:`._pairs.leiden`; None: the embedded engine).

    Returns ``(members, occasions)`` per pool, sorted by first occasion, and per
    occasion the pool that brings the most members to it (-1 for none).

    >>> pat = np.array([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5])
    >>> occ = np.array([0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3])
    >>> groups, owner = pools(pat, occ, 4, resolution=1.0, seed=0)
    >>> [(m.tolist(), o.tolist()) for m, o in groups], owner.tolist()
    ([([0, 1, 2], [0, 1]), ([3, 4, 5], [2, 3])], [0, 0, 1, 1])
    """
    owner = np.full(n_occ, -1, np.int64)
    parent = np.arange(n_occ) if parent is None else parent
    if not len(patient):
        return [], owner
    times = np.bincount(patient)
    rep = times[patient] >= 2
    pts, pi = np.unique(patient[rep], return_inverse=True)
    if not len(pts):
        return [], owner
    oc = occasion[rep]
    r = len(pts)
    label = leiden(r + n_occ, pi, r + oc, np.ones(len(pi)), resolution=resolution, seed=seed,
                   iterations=2, engine=engine)
    label = np.unique(label[:r], return_inverse=True)[1]
    X = sp.csr_matrix((np.ones(len(pi)), (pi, oc)), shape=(r, n_occ))
    X.data[:] = 1
    label, (M, held, size) = _settle(label, X)
    up = sp.csr_matrix((np.ones(n_occ), (np.arange(n_occ), parent)),
                       shape=(n_occ, int(parent.max()) + 1))
    for _ in range(8):
        # Jaccard similarity of the occasions each pool's members attend at all
        att = (M @ up).tocsr()
        att.data[:] = 1
        n_att = np.asarray(att.sum(axis=1)).ravel()
        both = (att @ att.T).tocoo()
        union = n_att[both.row] + n_att[both.col] - both.data
        join = (both.data / np.maximum(union, 1) >= merge_share) & (both.row < both.col)
        if not join.any():
            break
        label = components(len(size), both.row[join], both.col[join])[label]
        label = np.unique(label, return_inverse=True)[1]
        M, held, size = _blocks(label, X)
    m = M.tocoo()
    first = np.lexsort((m.row, -m.data, m.col))
    col = m.col[first]
    lead = np.ones(len(col), bool)
    lead[1:] = col[1:] != col[:-1]
    owner[col[lead]] = m.row[first][lead]
    out = []
    for c in range(len(size)):
        occ_c = held.indices[held.indptr[c]:held.indptr[c + 1]]
        if len(occ_c):
            out.append((c, pts[label == c], np.sort(occ_c)))
    out.sort(key=lambda t: (int(t[2][0]), int(t[1][0])))
    remap = np.full(len(size), -1, np.int64)
    for i, (c, _, _) in enumerate(out):
        remap[c] = i
    owner = np.where(owner >= 0, remap[owner.clip(min=0)], -1)
    return [(m, o) for _, m, o in out], owner


def bill_levels(patient: np.ndarray, amount: np.ndarray, *, min_members: int,
                separation: float = 3.0) -> np.ndarray:
    """Per stay, which of the group's bill levels its patient belongs to (0, 1, ...).

    Two rings that one host admits under the same doctors in the same weeks share every
    occasion, so the occasions cannot tell them apart; their bills can: each ring bills
    its own amount. Patients are ordered by their mean log bill and cut at the widest
    gap leaving ``min_members`` patients on either side, when the two sides are two
    levels:

    - the medians of their stays' log bills lie more than ``separation`` spreads apart
      (the wider side's spread: the scaled median absolute deviation of its stays'
      log bills, at least 1%),
    - the gap itself is wider than one spread, and
    - each patient keeps to one level: fewer than a quarter of the patients with two or
      more stays have stays on both sides of the midpoint between the medians (one ring
      whose stays each bill one of two codes has the two levels inside each patient).

    Each side is cut again the same way. A group with one level of bills, however wide,
    is one level.

    >>> pat = np.repeat(np.arange(10), 2)
    >>> bill = np.where(pat < 5, 2000.0, 9000.0) * (1 + 0.02 * (np.arange(20) % 3))
    >>> bill_levels(pat, bill, min_members=4).tolist()
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
    """
    x = log_bills(amount)
    # patients numbered in sorted order (np.unique's inverse) from one stable sort
    by_patient = np.argsort(patient, kind="stable")
    ranked = patient[by_patient]
    new = np.ones(len(ranked), bool)
    new[1:] = ranked[1:] != ranked[:-1]
    pats = ranked[new]
    inv = np.empty(len(patient), np.int64)
    inv[by_patient] = np.cumsum(new) - 1
    mean = np.bincount(inv, weights=x) / np.bincount(inv)
    rank = np.empty(len(pats), np.int64)
    order = np.lexsort((pats, mean))
    rank[order] = np.arange(len(pats))
    stay_rank = rank[inv]
    cuts, todo = [], [(0, len(pats))]
    while todo:
        lo, hi = todo.pop()
        if hi - lo < 2 * min_members:
            continue
        inside = (stay_rank >= lo) & (stay_rank < hi)
        rank_in, x_in = stay_rank[inside], x[inside]
        gaps = np.diff(mean[order[lo:hi]])[min_members - 1:hi - lo - min_members]
        # the gaps widest first; one no wider than the least spread cannot be a cut
        for g in np.argsort(-gaps, kind="stable")[:int((gaps > 0.01).sum())]:
            k = lo + min_members - 1 + int(g)
            on_left = rank_in <= k
            left, right = x_in[on_left], x_in[~on_left]
            spread = max(_mad(left), _mad(right), 0.01)
            low, high = median(left), median(right)
            if high - low > separation * spread and gaps[g] > spread and \
                    _straddling(rank_in - lo, x_in > (low + high) / 2) < 0.25:
                cuts.append(k)
                todo += [(lo, k + 1), (k + 1, hi)]
                break
    return np.searchsorted(np.sort(np.asarray(cuts, np.int64)), stay_rank, side="left")


def _straddling(patient: np.ndarray, above: np.ndarray) -> float:
    """Share of the patients with two or more stays who have stays both ``above`` a
    line and below it (0 when none has two stays)."""
    stays = np.bincount(patient)
    up = np.bincount(patient, weights=above, minlength=len(stays))
    several = stays >= 2
    return float(((up > 0) & (up < stays))[several].mean()) if several.any() else 0.0


def _mad(x: np.ndarray) -> float:
    """Scaled median absolute deviation (the standard deviation for normal data)."""
    return 1.4826 * median(np.abs(x - median(x))) if len(x) else 0.0
