"""Community detection on Spark: Leiden on each batch of whole connected components, one
batch per task.

Communities never span two connected components, so the collusion ring's pair graph is
optimised in batches of whole components (:func:`graphdetect.detectors._pairs.leiden`
makes them). Here each batch's edges and node sizes go to Spark as two DataFrames,
grouped by batch and cogrouped (``applyInArrow``), and each task runs the embedded
engine's own leidenalg call (:func:`~graphdetect.detectors._pairs.optimise_batches`) on
its batch, with the edges in their order and the same seed: the same memberships as in
the driver, while the batches of a province's rings run side by side on the executors
rather than one after another holding the driver's interpreter.

A component larger than a batch (a giant component) is a batch of its own, optimised
whole by one task: Leiden on it is not split, so its time bounds the step's.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .session import quiet_warnings

__all__ = ["communities"]

_SCHEMA = "batch int, node int, community long"


def communities(session, batches: list[tuple], *, resolution: float, seed: int,
                iterations: int) -> list[np.ndarray]:
    """Leiden's membership of each batch's nodes, one task per batch; as
    :func:`graphdetect.detectors._pairs.optimise_batches` gives them."""
    if not batches:
        return []
    sized = batches[0][2] is not None
    n_edges = [len(e) for e, _, _ in batches]
    n_nodes = [int(e.max()) + 1 for e, _, _ in batches]
    edges = np.concatenate([e for e, _, _ in batches])
    edge_table = pa.table({
        "batch": np.repeat(np.arange(len(batches), dtype=np.int32), n_edges),
        "k": np.concatenate([np.arange(m, dtype=np.int64) for m in n_edges]),
        "a": edges[:, 0].astype(np.int32), "b": edges[:, 1].astype(np.int32),
        "w": np.concatenate([w for _, w, _ in batches]).astype(np.float64)})
    node_table = pa.table({
        "batch": np.repeat(np.arange(len(batches), dtype=np.int32), n_nodes),
        "node": np.concatenate([np.arange(m, dtype=np.int32) for m in n_nodes]),
        "size": (np.concatenate([s for _, _, s in batches]).astype(np.float64) if sized
                 else np.zeros(sum(n_nodes)))})
    with quiet_warnings():
        found = session.createDataFrame(edge_table).groupBy("batch").cogroup(
            session.createDataFrame(node_table).groupBy("batch")).applyInArrow(
            _task(sized, resolution, seed, iterations), _SCHEMA).toArrow()
    found = found.sort_by([("batch", "ascending"), ("node", "ascending")])
    community = found.column("community").to_numpy()
    return np.split(community, np.cumsum(n_nodes)[:-1])


def _task(sized: bool, resolution: float, seed: int, iterations: int):
    """The function each batch's task runs over its edges and its nodes."""

    def run(edges: pa.Table, nodes: pa.Table) -> pa.Table:
        from ...detectors._pairs import optimise_batches

        edges = edges.sort_by("k")
        nodes = nodes.sort_by("node")
        pairs = np.column_stack([edges.column("a").to_numpy(), edges.column("b").to_numpy()])
        sizes = nodes.column("size").to_numpy() if sized else None
        [membership] = optimise_batches([(pairs, edges.column("w").to_numpy(), sizes)],
                                        resolution=resolution, seed=seed,
                                        iterations=iterations)
        return pa.table({"batch": nodes.column("batch"), "node": nodes.column("node"),
                         "community": pa.array(membership.astype(np.int64))})

    return run
