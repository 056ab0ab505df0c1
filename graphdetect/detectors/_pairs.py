"""Community detection (Leiden, seeded) on a weighted pair graph."""

from __future__ import annotations

import igraph as ig
import leidenalg
import numpy as np

from ._stays import components

#: Nodes per Leiden run: connected components are optimised in batches of about this many.
_BATCH = 4000


def leiden(n: int, a: np.ndarray, b: np.ndarray, w: np.ndarray, *, resolution: float,
           seed: int, density: bool = False, iterations: int = -1) -> np.ndarray:
    """Community label per node of the weighted pair graph (Leiden).

    With ``density=False`` the objective is modularity (RB configuration model); with
    ``density=True`` it is the constant Potts model, which keeps a group together as
    long as its average internal weight exceeds ``resolution``. ``iterations`` passes
    of the optimiser are made (-1: until a pass changes nothing).

    Communities never span two connected components, so the components are optimised
    in batches of about ``_BATCH`` nodes, each with the whole graph's objective (for
    modularity, the resolution scaled by the batch's share of the weight, so that every
    pair of nodes carries the same penalty as in one run over the whole graph); nodes
    with no pair are communities of their own. This keeps leidenalg, whose cost grows
    with the number of communities it has emptied, fast on a city of millions.

    >>> leiden(5, np.array([0, 1, 3]), np.array([1, 2, 4]), np.ones(3), resolution=1.0,
    ...        seed=0).tolist()
    [0, 0, 0, 1, 1]
    """
    if not len(a):
        return np.arange(n)
    comp = components(n, a, b)
    n_comp = int(comp.max()) + 1
    size = np.bincount(comp, minlength=n_comp)
    total = float(w.sum())
    # batches of whole components, in component order
    batch = np.cumsum(size) // _BATCH
    batch = np.where(size > 1, batch, -1)[comp]
    label = np.full(n, -1, np.int64)
    lonely = batch < 0
    label[lonely] = np.arange(int(lonely.sum()))
    nxt = int(lonely.sum())
    order = np.argsort(batch[a], kind="stable")
    cuts = np.flatnonzero(np.diff(batch[a][order])) + 1
    kind = leidenalg.CPMVertexPartition if density else leidenalg.RBConfigurationVertexPartition
    for edges in np.split(order, cuts):
        nodes = np.flatnonzero(batch == batch[a[edges[0]]])
        local = np.searchsorted(nodes, np.column_stack([a[edges], b[edges]]))
        g = ig.Graph(n=len(nodes), edges=local.tolist(), directed=False)
        g.es["weight"] = w[edges].tolist()
        share = 1.0 if density else float(w[edges].sum()) / total
        part = leidenalg.find_partition(g, kind, weights="weight",
                                        resolution_parameter=resolution * share,
                                        seed=seed, n_iterations=iterations)
        mem = np.asarray(part.membership)
        label[nodes] = nxt + mem
        nxt += int(mem.max()) + 1
    return label
