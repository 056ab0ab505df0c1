"""leidenalg's optimiser on batches of a pair graph's components: the one call both
engines make, here or in a child process of its own.

leidenalg's optimiser holds the GIL for its whole run: on a city's ring pair graph two to
three seconds in which the detectors on the other threads cannot even finish a numpy step
(each needs the GIL back to return), so one core idles. The embedded engine therefore
hands a large job to a child process (:func:`optimise_apart`) that runs this file as a
script. Run by path, the file imports nothing of graphdetect (numpy, igraph and
leidenalg only: a quarter of a second), and the same :func:`optimise_batches` runs in
either place with the same inputs and seed, so the communities are the same bytes
wherever they were found.

This module imports only the standard library at the top: keep it so.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading

__all__ = ["optimise_batches", "optimise_apart"]


def optimise_batches(batches: list[tuple], *, resolution: float, seed: int,
                     iterations: int) -> list:
    """Leiden's membership of each batch's nodes (the embedded engine's
    :meth:`~graphdetect.engines.Steps.communities`).

    A batch is ``(edges, weights, node_sizes)``: its edges as an (m, 2) array of nodes
    numbered from 0 (every node has one), their weights, and the nodes' sizes (None:
    the constant Potts model without them). Each is optimised alone, seeded with
    ``seed``, in one leidenalg run.
    """
    import numpy as np

    ig, leidenalg = _igraph()
    out = []
    for edges, weights, sizes in batches:
        g = ig.Graph(n=int(edges.max()) + 1, edges=edges.tolist(), directed=False)
        g.es["weight"] = weights.tolist()
        more = {} if sizes is None else {"node_sizes": sizes.tolist()}
        part = leidenalg.find_partition(g, leidenalg.CPMVertexPartition, weights="weight",
                                        resolution_parameter=resolution, seed=seed,
                                        n_iterations=iterations, **more)
        out.append(np.asarray(part.membership))
    return out


def optimise_apart(batches: list[tuple], **params) -> list:
    """:func:`optimise_batches` in a child process that runs this file, so that the
    calling process's other threads keep the GIL meanwhile; in this process when no
    child can be started: ``sys.executable`` is not a Python interpreter (a server that
    embeds Python names its own binary there) or this file is not on disk.

    Raises
    ------
    RuntimeError
        When the child fails (with the last line it printed: the error).
    """
    here = os.path.abspath(__file__)
    python = os.path.basename(sys.executable or "")
    if not python.lower().startswith("python") or not os.path.isfile(here):
        return optimise_batches(batches, **params)
    job = pickle.dumps((batches, params), protocol=pickle.HIGHEST_PROTOCOL)
    try:
        done = subprocess.run([sys.executable, "-P", here], input=job, capture_output=True,
                              check=False)
    except OSError:
        return optimise_batches(batches, **params)
    if done.returncode:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines() or ["(nothing)"]
        raise RuntimeError(f"Leiden's child process failed (exit {done.returncode}): "
                           f"{said[-1]}")
    return pickle.loads(done.stdout)


_IMPORT = threading.Lock()


def _igraph():
    """igraph and leidenalg, imported without the matplotlib that igraph's drawing code
    loads when it can (a third of a second or more, holding the GIL that the other
    detectors' threads need). graphdetect never draws with igraph; a process that has
    already imported matplotlib keeps it, and matplotlib imports as usual afterwards."""
    with _IMPORT:
        block = "igraph" not in sys.modules and "matplotlib" not in sys.modules
        if block:
            sys.modules["matplotlib"] = None      # makes ``import matplotlib`` fail
        try:
            import igraph
            import leidenalg
        finally:
            if block:
                del sys.modules["matplotlib"]
    return igraph, leidenalg


if __name__ == "__main__":
    # the child: one pickled (batches, params) job on stdin, the memberships on stdout
    batches, params = pickle.load(sys.stdin.buffer)
    pickle.dump(optimise_batches(batches, **params), sys.stdout.buffer,
                protocol=pickle.HIGHEST_PROTOCOL)
