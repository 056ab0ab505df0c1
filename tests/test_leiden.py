"""Leiden in a child process of its own (the embedded engine's large jobs, as leidenalg
holds the GIL): the same memberships as in this process, with and without node sizes; a
child that fails says so; without a Python interpreter to start, the job runs here; the
child imports nothing of graphdetect; a job of
``APART_EDGES`` edges or more goes to the child, and the collusion ring finds the same
rings either way."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest

from graphdetect import read_folder
from graphdetect.detectors import _leiden
from graphdetect.detectors.collusion_ring import collusion_ring
from graphdetect.engines import embedded
from graphdetect.graph import ClaimsGraph


def batches(seed: int, sized: bool) -> list[tuple]:
    """Random weighted graphs: a chain through every node (each node has an edge) and
    denser clumps, as a ring search's batches of components look."""
    rng = np.random.default_rng(seed)
    out = []
    for n in rng.integers(20, 300, size=4):
        chain = np.column_stack([np.arange(n - 1), np.arange(1, n)])
        clumps = rng.integers(0, n, size=(3 * n, 2)) // 10 * 10 + rng.integers(0, 10, (3 * n, 1))
        edges = np.concatenate([chain, clumps.clip(max=n - 1)])
        edges = edges[edges[:, 0] != edges[:, 1]]
        weights = rng.uniform(0.1, 3.0, len(edges))
        sizes = rng.uniform(0.01, 2.0, n) if sized else None
        out.append((edges, weights, sizes))
    return out


@pytest.mark.parametrize("sized", [True, False])
@pytest.mark.parametrize("seed", [0, 1])
def test_a_child_finds_the_same_communities(seed, sized):
    job = batches(seed, sized)
    params = {"resolution": 0.05 if not sized else 1.0, "seed": seed, "iterations": 2}
    here = _leiden.optimise_batches(job, **params)
    apart = _leiden.optimise_apart(job, **params)
    assert len(apart) == len(here) == len(job)
    for a, b in zip(apart, here, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert any(len(set(m.tolist())) > 1 for m in here)     # communities, not one blob


@pytest.mark.parametrize("executable", ["", shutil.which("false")])
def test_without_a_python_to_start_the_job_runs_here(executable, monkeypatch):
    """An empty ``sys.executable``, or a program that is not Python (``false`` would
    fail as a child: a server embedding Python names its own binary there)."""
    job = batches(2, True)
    params = {"resolution": 1.0, "seed": 2, "iterations": 2}
    want = _leiden.optimise_batches(job, **params)
    monkeypatch.setattr(sys, "executable", executable)
    for a, b in zip(_leiden.optimise_apart(job, **params), want, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_failing_child_says_so():
    with pytest.raises(RuntimeError, match=r"^Leiden's child process failed \(exit 1\): "
                                           r"TypeError: must be real number, not str$"):
        _leiden.optimise_apart(batches(0, True), resolution="high", seed=0, iterations=2)


def test_the_child_imports_nothing_of_graphdetect():
    script = ("import runpy, sys\n"
              f"runpy.run_path({_leiden.__file__!r}, run_name='child')\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0] == 'graphdetect'))\n")
    out = subprocess.run([sys.executable, "-P", "-c", script], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[]"


def test_large_jobs_go_to_the_child_and_find_the_same_rings(csv_dir, monkeypatch):
    sent = []
    real = _leiden.optimise_apart

    def spy(job, **params):
        sent.append(sum(len(b[0]) for b in job))
        return real(job, **params)

    monkeypatch.setattr(_leiden, "optimise_apart", spy)
    found = {}
    for name, at_least in (("apart", 1), ("here", 10 ** 12)):
        monkeypatch.setattr(embedded, "APART_EDGES", at_least)
        found[name] = [f.to_dict() for f in
                       collusion_ring(ClaimsGraph.from_data(read_folder(csv_dir)))]
    assert len(sent) == 1 and sent[0] > 0          # the first run's one job, only
    assert found["apart"] and found["apart"] == found["here"]
