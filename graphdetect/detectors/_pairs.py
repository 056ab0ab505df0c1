"""Community detection (Leiden, seeded) on a weighted pair graph."""

from __future__ import annotations

import igraph as ig
import leidenalg
import numpy as np


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
