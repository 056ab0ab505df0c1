"""Entity neighbourhoods read from Neo4j, shaped like :meth:`ClaimsGraph.ego_network`.

The review UI draws an entity and its neighbours; with ``GRAPHDETECT_GRAPH_SOURCE=neo4j``
it asks :class:`Neighbourhood` instead of an in-memory :class:`~graphdetect.graph.ClaimsGraph`
and gets the same networkx graph: nodes keyed ``"kind:id"`` with attributes ``kind``,
``id``, ``claims`` and ``hidden``, edges with ``weight`` (shared claims), and
``G.graph["hidden"]`` (neighbours left out by the cap).
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Mapping
from functools import cached_property

import networkx as nx

from ..errors import ParameterError
from ..graph import EDGE_KINDS, KINDS, node_key
from .connection import Connection, Neo4jConfig, connect

__all__ = ["Neighbourhood", "neighbour_kinds"]

_SHARED: dict[Neo4jConfig, Neighbourhood] = {}
_SHARED_LOCK = threading.Lock()


def neighbour_kinds(kind: str, *, cards_are_patients: bool = False) -> list[str]:
    """The kinds drawn next to an entity of ``kind``, as ClaimsGraph draws them.

    >>> neighbour_kinds("patient")
    ['card', 'doctor', 'institution']
    >>> neighbour_kinds("patient", cards_are_patients=True)
    ['doctor', 'institution', 'terminal']
    """
    edges = EDGE_KINDS
    if cards_are_patients:
        edges = tuple((a.replace("card", "patient"), b.replace("card", "patient"))
                      for a, b in EDGE_KINDS if (a, b) != ("patient", "card"))
    return sorted({b if a == kind else a for a, b in edges if kind in (a, b)})


class Neighbourhood:
    """Neighbourhood queries against a Neo4j database loaded by ``graphdetect neo4j load``.

    Parameters
    ----------
    source : Neo4jConfig or Connection, optional
        Where the graph is; by default the ``GRAPHDETECT_NEO4J_*`` environment. A
        :class:`Connection` given here is used as is and not closed by :meth:`close`.

    Notes
    -----
    It needs a server, so the example is not a doctest::

        with Neighbourhood() as hood:          # GRAPHDETECT_NEO4J_* from the environment
            G = hood.ego_network("patient", "3399023613304820", max_neighbors=20)
            G.nodes["patient:3399023613304820"]["claims"]   # -> 24
            hood.claims("patient", "3399023613304820", limit=10)["total"]
    """

    def __init__(self, source: Neo4jConfig | Connection | None = None):
        self._own = not isinstance(source, Connection)
        self._conn = None if self._own else source
        self._config = source.config if isinstance(source, Connection) else \
            source or Neo4jConfig.from_env()
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Neighbourhood:
        """The process's shared Neighbourhood for the ``GRAPHDETECT_NEO4J_*`` environment.

        One driver (a connection pool, safe to share between threads) per configuration,
        made on first use and closed when the process exits: a web app may call this on
        every request.
        """
        config = Neo4jConfig.from_env(environ)
        with _SHARED_LOCK:
            if config not in _SHARED:
                _SHARED[config] = cls(config)
            return _SHARED[config]

    @property
    def connection(self) -> Connection:
        """The open connection, made on first use (a failed attempt is tried again)."""
        with self._lock:
            if self._conn is None:
                self._conn = connect(self._config)
            return self._conn

    def close(self) -> None:
        """Close the connection if this object opened it."""
        with self._lock:
            if self._own and self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Neighbourhood:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @cached_property
    def cards_are_patients(self) -> bool:
        """True when no claim was paid with a card other than its patient's id."""
        return not self.connection.read("cards_are_patients")

    def ego_network(self, kind: str, id: str, *, radius: int = 1,
                    max_neighbors: int = 50) -> nx.Graph:
        """The entity and its neighbours as a networkx graph, for display.

        Same parameters, output and errors as :meth:`ClaimsGraph.ego_network`: at most
        ``max_neighbors`` neighbours per expanded node (those sharing most claims; ties
        by kind, then id); the number left out is the node attribute ``hidden``, and
        ``G.graph["hidden"]`` totals it.

        Raises
        ------
        ParameterError
            For an unknown kind, ``radius < 0`` or ``max_neighbors < 1``.
        KeyError
            When the database has no such entity.
        """
        self._check_kind(kind, "ego_network")
        if not isinstance(radius, int) or radius < 0:
            raise ParameterError("radius", "ego_network", "an int >= 0", radius)
        if not isinstance(max_neighbors, int) or max_neighbors < 1:
            raise ParameterError("max_neighbors", "ego_network", "an int >= 1", max_neighbors)
        found = self.connection.read("entity_lookup", nodes=[{"kind": kind, "id": str(id)}])
        if not found:
            raise KeyError(f"unknown {kind} {id!r}")
        G = nx.Graph(hidden=0)
        _add_node(G, kind, str(id), found[0]["claims"])
        frontier = [(kind, str(id))]
        for _ in range(radius):
            if not frontier:
                break
            expansions = self._expand(frontier, max_neighbors)
            nxt = []
            for node in frontier:
                total, kept = expansions.get(node, (0, []))
                here = node_key(*node)
                G.nodes[here]["hidden"] = total - len(kept)
                G.graph["hidden"] += total - len(kept)
                for other_kind, other_id, weight, claims in kept:
                    there = _add_node(G, other_kind, other_id, claims)
                    if there != here:
                        G.add_edge(here, there, weight=weight)
                        nxt.append((other_kind, other_id))
            frontier = nxt
        return G

    def _expand(self, frontier: list[tuple[str, str]], cap: int) -> dict:
        """Per distinct frontier node: (neighbours in all, kept neighbours sorted)."""
        nodes = [{"kind": k, "id": i,
                  "neighbour_kinds": neighbour_kinds(k, cards_are_patients=self.cards_are_patients)}
                 for k, i in dict.fromkeys(frontier)]
        out: dict[tuple[str, str], tuple[int, list]] = {}
        for row in self.connection.read("ego_expand", nodes=nodes, max_neighbors=cap):
            key = (row["kind"], row["id"])
            total, kept = out.setdefault(key, (row["total"], []))
            kept.append((row["neighbour_kind"], row["neighbour_id"], row["weight"],
                         row["claims"]))
        for _, kept in out.values():
            kept.sort(key=lambda t: (-t[2], t[0], t[1]))
        return out

    def claims(self, kind: str, id: str, *, skip: int = 0, limit: int = 100) -> dict:
        """One page of an entity's claims, oldest first.

        Returns
        -------
        dict
            ``total`` (the entity's claims in all) and ``claims``: dicts with claim_id,
            visit_type, start_time, end_time (ISO text or None), total_amount,
            fund_amount, diagnosis_code and the linked patient, institution, doctor,
            card, terminal and operator ids.

        Raises
        ------
        KeyError
            When the database has no such entity.
        """
        self._check_kind(kind, "claims")
        if not isinstance(skip, int) or skip < 0:
            raise ParameterError("skip", "claims", "an int >= 0", skip)
        if not isinstance(limit, int) or limit < 1:
            raise ParameterError("limit", "claims", "an int >= 1", limit)
        rows = self.connection.read("entity_claims", kind=kind, id=str(id), skip=skip,
                                    limit=limit)
        if not rows:
            found = self.connection.read("entity_lookup", nodes=[{"kind": kind, "id": str(id)}])
            if not found:
                raise KeyError(f"unknown {kind} {id!r}")
            return {"total": found[0]["claims"], "claims": []}
        total = rows[0]["total"]
        for r in rows:
            del r["total"]
            for t in ("start_time", "end_time"):
                r[t] = None if r[t] is None else r[t].to_native().isoformat()
        return {"total": total, "claims": rows}

    @staticmethod
    def _check_kind(kind: str, owner: str) -> None:
        if kind not in KINDS:
            raise ParameterError("kind", owner, f"one of {', '.join(KINDS)}", kind)


def _add_node(G: nx.Graph, kind: str, id: str, claims: int) -> str:
    key = node_key(kind, id)
    if key not in G:
        G.add_node(key, kind=kind, id=id, claims=int(claims), hidden=0)
    return key


@atexit.register
def _close_shared() -> None:
    with _SHARED_LOCK:
        for hood in _SHARED.values():
            hood.close()
        _SHARED.clear()
