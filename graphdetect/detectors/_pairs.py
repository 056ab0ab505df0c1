"""Community detection (Leiden, seeded) on a weighted pair graph."""

from __future__ import annotations

import numpy as np

__all__ = ["leiden"]

#: Nodes per Leiden run: connected components are optimised in batches of about this many.
_BATCH = 4000


def leiden(n: int, a: np.ndarray, b: np.ndarray, w: np.ndarray, *, resolution: float,
           seed: int, density: bool = False, iterations: int = -1,
           engine=None) -> np.ndarray:
    """Community label per node of the weighted pair graph (Leiden).

    With ``density=False`` the objective is modularity of each connected component
    taken as its own graph (its null model built from the component's own weight, so a
    group's split never depends on how much else the data holds: one modularity over a
    whole city penalises a merge less the bigger the city, the resolution limit); with
    ``density=True`` it is the constant Potts model, which keeps a group together as
    long as its average internal weight exceeds ``resolution``. ``iterations`` passes
    of the optimiser are made (-1: until a pass changes nothing).

    Communities never span two connected components, so the components are optimised
    in batches of about ``_BATCH`` nodes (per-component modularity is the constant Potts
    model with node sizes ``k / sqrt(2 m)``, ``k`` a node's weight and ``m`` its
    component's, which a batch of components sums without mixing them); nodes with no
    pair are communities of their own. This keeps leidenalg, whose cost grows with the
    number of communities it has emptied, fast on a city of millions. A component
    larger than a batch is a batch of its own, optimised whole.

    ``engine`` (:class:`~graphdetect.engines.Steps`; None: the embedded engine) finds
    the connected components (``components``) and optimises the batches
    (``communities``); the batches are made here from the components, the same
    whichever engine runs the steps.

    >>> leiden(5, np.array([0, 1, 3]), np.array([1, 2, 4]), np.ones(3), resolution=1.0,
    ...        seed=0).tolist()
    [0, 0, 0, 1, 1]
    """
    if not len(a):
        return np.arange(n)
    if engine is None:
        from ..engines.embedded import EmbeddedEngine
        engine = EmbeddedEngine()
    comp = engine.components(n, a, b)
    n_comp = int(comp.max()) + 1
    size = np.bincount(comp, minlength=n_comp)
    # batches of whole components, in component order
    batch = np.cumsum(size) // _BATCH
    batch = np.where(size > 1, batch, -1)[comp]
    label = np.full(n, -1, np.int64)
    lonely = batch < 0
    label[lonely] = np.arange(int(lonely.sum()))
    nxt = int(lonely.sum())
    order = np.argsort(batch[a], kind="stable")
    cuts = np.flatnonzero(np.diff(batch[a][order])) + 1
    # modularity of each component as its own graph: the constant Potts model with node
    # sizes k_i / sqrt(2 m_C) (k_i the node's weight, m_C its component's) penalises a
    # group by resolution * K^2 / (4 m_C), modularity's null model within the component
    strength = np.bincount(a, weights=w, minlength=n) + np.bincount(b, weights=w, minlength=n)
    comp_weight = np.bincount(comp[a], weights=w, minlength=n_comp)
    node_size = strength / np.sqrt(2 * np.maximum(comp_weight[comp], 1e-300))
    batches, where = [], []
    for edges in np.split(order, cuts):
        nodes = np.flatnonzero(batch == batch[a[edges[0]]])
        local = np.searchsorted(nodes, np.column_stack([a[edges], b[edges]]))
        batches.append((local, w[edges], None if density else node_size[nodes]))
        where.append(nodes)
    found = engine.communities(batches, resolution=resolution, seed=seed,
                               iterations=iterations)
    for nodes, mem in zip(where, found, strict=True):
        label[nodes] = nxt + mem
        nxt += int(mem.max()) + 1
    return label
