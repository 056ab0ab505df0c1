"""Connected components and community detection on Spark: components by label
propagation in DataFrame iterations, then Leiden on each batch of whole components, one
batch per task.

:func:`components` is the large-star / small-star algorithm (Kiveris et al., "Connected
Components in MapReduce and Beyond", the one GraphFrames runs): edges go from a larger
node to a smaller; each round hangs every node's larger neighbours on the lowest node it
sees (large star), then every node and its smaller neighbours on the lowest of them
(small star), until the edges are stars, each around its component's lowest node, in
O(log² n) rounds. Each task first makes stars of its own edges (scipy's components of
them), so the rounds start from stars rather than from a graph's long chains. Each round's
edges are checkpointed (``localCheckpoint``: the plan does not grow with the rounds).
Numbered in order of their lowest node, the components are scipy's
``connected_components`` labels, number for number.

Communities never span two connected components, so the collusion ring's pair graph is
optimised in batches of whole components (:func:`graphdetect.detectors._pairs.leiden`
makes them). Here each batch's edges and node sizes go to Spark as two DataFrames,
grouped by batch and cogrouped (``applyInArrow``), and each task runs the embedded
engine's own leidenalg call (:func:`~graphdetect.detectors._leiden.optimise_batches`) on
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

__all__ = ["components", "communities"]

_SCHEMA = "batch int, node int, community long"


def components(session, n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The connected component of each of ``n`` nodes linked by the pairs ``(a[k], b[k])``,
    numbered in order of each component's lowest node (int32, as scipy's)."""
    from pyspark.sql import functions as F

    label = np.arange(n)
    keep = a != b
    a, b = a[keep].astype(np.int64), b[keep].astype(np.int64)
    if len(a):
        rounds: dict = {}       # the checkpoints' RDDs, let go at the end
        try:
            # edges from the larger node to the smaller, each once
            with quiet_warnings():
                edges = session.createDataFrame(pa.table({
                    "src": np.maximum(a, b), "dst": np.minimum(a, b)}))
            edges = _checkpoint(session, _contracted(edges), rounds)
            while not _stars(F, edges):
                edges = _checkpoint(session, _small_star(F, _large_star(F, edges)), rounds)
            got = edges.toArrow()
        finally:
            for rdd in rounds.values():
                rdd.unpersist(False)
        label[got.column("src").to_numpy()] = got.column("dst").to_numpy()
    return np.unique(label, return_inverse=True)[1].astype(np.int32)


def _contracted(edges):
    """The edges as stars within each task first: every task's own edges in connected
    components (scipy), each node hung on its component's lowest node. The components
    of the whole are the same, and the rounds that follow join stars rather than long
    chains: a few rounds where a graph's chains would take many."""

    def stars(batches):
        import scipy.sparse as sp
        from scipy.sparse.csgraph import connected_components

        batches = [b for b in batches if b.num_rows]
        if not batches:
            return
        got = pa.Table.from_batches(batches)
        src, dst = got.column("src").to_numpy(), got.column("dst").to_numpy()
        nodes, at = np.unique(np.concatenate([src, dst]), return_inverse=True)
        k = len(src)
        graph = sp.coo_matrix((np.ones(k, np.int8), (at[:k], at[k:])),
                              shape=(len(nodes), len(nodes)))
        _, comp = connected_components(graph, directed=False)
        # ``nodes`` rise, so a component's first node in them is its lowest
        low = nodes[np.unique(comp, return_index=True)[1]][comp]
        hung = nodes != low
        yield pa.RecordBatch.from_arrays([pa.array(nodes[hung]), pa.array(low[hung])],
                                         names=["src", "dst"])

    return edges.mapInArrow(stars, "src long, dst long").distinct()


def _large_star(F, edges):
    """Each node's larger neighbours hung on the lowest of it and its neighbours."""
    both = edges.union(edges.select(F.col("dst").alias("src"), F.col("src").alias("dst")))
    low = both.groupBy("src").agg(F.min("dst").alias("low"))
    return both.join(low, "src").where(F.col("dst") > F.col("src")).select(
        F.col("dst").alias("src"), F.least("low", "src").alias("dst")).distinct()


def _small_star(F, edges):
    """Each node and its smaller neighbours hung on the lowest of them."""
    low = edges.groupBy("src").agg(F.min("dst").alias("low"))
    hung = edges.join(low, "src").select(F.col("dst").alias("src"), F.col("low").alias("dst"))
    own = low.select("src", F.col("low").alias("dst"))
    return hung.union(own).where(F.col("src") != F.col("dst")).distinct()


def _stars(F, edges) -> bool:
    """Whether the edges are stars: each node hung on one node that hangs on none (then
    that node is its component's lowest)."""
    once = edges.groupBy("src").count().where(F.col("count") > 1).isEmpty()
    return once and edges.join(edges.select(F.col("src").alias("dst")), "dst",
                               "left_semi").isEmpty()


def _checkpoint(session, frame, rounds: dict):
    """A round's edges, computed and kept, the plan cut there (``localCheckpoint``); the
    RDD the checkpoint keeps is added to ``rounds`` (a local checkpoint is a persisted
    RDD that ``DataFrame.unpersist`` does not let go)."""
    persisted = session.sparkContext._jsc.getPersistentRDDs
    before = set(persisted().keys())
    frame = frame.localCheckpoint()
    rounds.update((k, v) for k, v in persisted().items() if k not in before)
    return frame


def communities(session, batches: list[tuple], *, resolution: float, seed: int,
                iterations: int) -> list[np.ndarray]:
    """Leiden's membership of each batch's nodes, one task per batch; as
    :func:`graphdetect.detectors._leiden.optimise_batches` gives them."""
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
        from ...detectors._leiden import optimise_batches

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
