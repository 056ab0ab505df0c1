"""Connected components and community detection on Spark (issue 14): large-star /
small-star rounds give scipy's component labels, number for number (random graphs with
lone nodes, repeated pairs and loops, a long chain), leaving nothing persisted; Leiden
on each batch of whole components, one task per batch, gives the embedded engine's
memberships — on the batches a generated city's collusion-ring search makes, with and
without node sizes, and on a giant component larger than a batch.

Shares test_spark's local[2] session; like it, skips without PySpark or Java on a bare
machine and fails when CI=true. That a Spark run asks Spark for the communities is in
test_spark_lockstep.py, beside the lockstep groups.
"""

from __future__ import annotations

import numpy as np
import pytest
from spark_support import need_spark

from graphdetect import read_folder
from graphdetect.detectors import _leiden, _pairs
from graphdetect.detectors._stays import components as scipy_components
from graphdetect.detectors.collusion_ring import collusion_ring
from graphdetect.engines import attach
from graphdetect.engines.embedded import EmbeddedEngine
from graphdetect.engines.spark.communities import communities, components
from graphdetect.graph import ClaimsGraph

need_spark()


@pytest.fixture(scope="module")
def ring_batches(csv_dir) -> tuple[list, dict]:
    """The batches the collusion ring's Leiden runs on the generated city, and its
    parameters, as the embedded engine is handed them."""
    seen = []

    class Recording(EmbeddedEngine):
        @staticmethod
        def communities(batches, **params):
            seen.append((batches, params))
            return _leiden.optimise_batches(batches, **params)

    graph = ClaimsGraph.from_data(read_folder(csv_dir))
    with attach(graph, Recording()):
        assert collusion_ring(graph)       # the planted rings
    assert len(seen) == 1
    return seen[0]


def same(spark, batches, **params) -> list[np.ndarray]:
    want = _leiden.optimise_batches(batches, **params)
    got = communities(spark, batches, **params)
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)
    return want


def test_ring_batches_get_the_same_communities_on_spark(spark, ring_batches):
    batches, params = ring_batches
    assert batches and all(sizes is not None for _, _, sizes in batches)
    found = same(spark, batches, **params)
    assert any(len(np.unique(m)) > 1 for m in found)
    # the constant Potts model without node sizes, and other settings
    unsized = [(e, w, None) for e, w, _ in batches]
    same(spark, unsized, resolution=0.05, seed=7, iterations=-1)


def test_a_giant_component_is_one_task_and_the_same_on_spark(spark):
    """Two dense blocks joined by one edge, larger together than a batch, and two small
    components: the giant is optimised whole."""
    rng = np.random.default_rng(3)
    n = _pairs._BATCH + 500
    half = n // 2
    a = rng.integers(0, n, 6 * n)
    b = np.where(a < half, rng.integers(0, half, len(a)), rng.integers(half, n, len(a)))
    a, b = np.append(a, [0, n, n + 1, n + 3]), np.append(b, [half, n + 1, n + 2, n + 4])
    keep = a != b

    class Both(EmbeddedEngine):     # each batch's memberships on Spark and embedded
        @staticmethod
        def communities(batches, **params):
            return same(spark, batches, **params)

    label = _pairs.leiden(n + 5, a[keep], b[keep], np.ones(int(keep.sum())),
                          resolution=1.0, seed=0, engine=Both())
    assert label[0] != label[half] and len(np.unique(label[:half])) < 50
    assert label[n] == label[n + 2] != label[n + 3] == label[n + 4]


@pytest.mark.parametrize("n, m, seed", [(40, 25, 0), (3000, 2500, 1), (500, 0, 2)])
def test_components_on_spark_are_scipys(spark, n, m, seed):
    rng = np.random.default_rng(seed)
    if m:
        a, b = rng.integers(0, n, m), rng.integers(0, n, m)
        a, b = np.append(a, [a[0], 3, 3]), np.append(b, [b[0], 3, 4])   # repeated, loop
    else:   # a chain through the nodes in a random order: the most rounds
        order = rng.permutation(n)
        a, b = order[:-1], order[1:]
    got = components(spark, n, a, b)
    want = scipy_components(n, a, b)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    assert spark.sparkContext._jsc.sc().getPersistentRDDs().size() == 0
