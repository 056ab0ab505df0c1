"""Surprise-weighted co-admission pairs and community detection on them."""

from __future__ import annotations

import igraph as ig
import leidenalg
import numpy as np
import scipy.sparse as sp


def window_pairs(inst: np.ndarray, day: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """All index pairs (a, b), a < b in sorted order, at one institution within ``window`` days.

    ``inst`` and ``day`` must be sorted by (inst, day). Work is linear in the pairs made.
    """
    key = inst.astype(np.int64) << 32 | day.astype(np.int64)
    hi = np.searchsorted(key, key + window, side="right")
    count = hi - np.arange(len(key)) - 1
    a = np.repeat(np.arange(len(key)), count)
    offset = np.arange(len(a)) - np.repeat(np.cumsum(count) - count, count)
    return a, a + 1 + offset


def window_load(inst: np.ndarray, day: np.ndarray, window: int) -> np.ndarray:
    """Per admission, how many admissions its institution had within ``window`` days of it."""
    key = inst.astype(np.int64) << 32 | day.astype(np.int64)
    order = np.argsort(key, kind="stable")
    k = key[order]
    load = np.searchsorted(k, k + window, side="right") - np.searchsorted(k, k - window)
    out = np.empty(len(key), np.int64)
    out[order] = load
    return out


def leiden(n: int, a: np.ndarray, b: np.ndarray, w: np.ndarray, *, resolution: float,
           seed: int, density: bool = False, iterations: int = -1) -> np.ndarray:
    """Community label per node of the weighted pair graph (Leiden).

    With ``density=False`` the objective is modularity (RB configuration model); with
    ``density=True`` it is the constant Potts model, which keeps a group together as
    long as its average internal weight exceeds ``resolution``. ``iterations`` passes
    of the optimiser are made (-1: until a pass changes nothing).
    """
    if not len(a):
        return np.arange(n)
    g = ig.Graph(n=n, edges=np.column_stack([a, b]).tolist(), directed=False)
    g.es["weight"] = w.tolist()
    kind = leidenalg.CPMVertexPartition if density else leidenalg.RBConfigurationVertexPartition
    part = leidenalg.find_partition(g, kind,
                                    weights="weight", resolution_parameter=resolution,
                                    seed=seed, n_iterations=iterations)
    return np.asarray(part.membership)


def pair_sums(a: np.ndarray, b: np.ndarray, w: np.ndarray, n: int):
    """Sum weights and counts of repeated (a, b) pairs; returns a, b, count, weight."""
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    cnt = sp.coo_matrix((np.ones(len(lo)), (lo, hi)), shape=(n, n)).tocsr()
    wt = sp.coo_matrix((w, (lo, hi)), shape=(n, n)).tocsr()
    cnt.sum_duplicates()
    wt.sum_duplicates()
    c = cnt.tocoo()
    return c.row, c.col, c.data.astype(np.int64), np.asarray(wt[c.row, c.col]).ravel()
