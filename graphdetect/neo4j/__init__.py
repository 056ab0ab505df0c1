"""graphdetect and Neo4j: the investigation graph where a bureau runs a Neo4j server.

Every statement is a named file in ``cypher/`` (:func:`cypher_text`); values always go
as parameters.

The graph model
---------------
Nodes (each keyed by a unique ``id``, the data folder's id)::

    (:Patient {id, birth_date, birth_year, sex, region_code, phone_hash, address_hash})
    (:Institution {id, name, kind, level, ownership, region_code})
    (:Doctor {id, name, specialty})
    (:Card {id})  (:Terminal {id})  (:Operator {id})
    (:Claim {id, visit_type, start_time, end_time, start_day, end_day, has_time,
             total_amount, fund_amount, diagnosis_code})
    (:Case {key, case_id, run_id, pattern, score, rules, explanation, explanation_en,
            detector, metrics, claims, members})       key = run_id + "/" + case_id

Relationships::

    (:Patient)-[:MADE]->(:Claim)-[:AT]->(:Institution)
    (:Claim)-[:BY]->(:Doctor)           (:Claim)-[:WITH_CARD]->(:Card)
    (:Claim)-[:ON]->(:Terminal)         (:Claim)-[:RUN_BY]->(:Operator)
    (:Doctor)-[:WORKS_AT]->(:Institution)
    (entity)-[:IN_CASE {role}]->(:Case)-[:EVIDENCE]->(:Claim)

Times are local (no time zone): ``start_time``/``end_time`` are LocalDateTime and
``start_day``/``end_day`` their Dates, as the data folder gives them.

Python API (needs a server, so not a doctest)::

    from graphdetect.neo4j import Neighbourhood, connect, load_folder, push_run
    with connect() as conn:                  # GRAPHDETECT_NEO4J_* from the environment
        load_folder(conn, "datasets/sample")           # -> report dict
        push_run(conn, "runs/sample")                   # -> report dict
        G = Neighbourhood(conn).ego_network("institution", "H339902003", max_neighbors=50)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

#: Public name -> the module that defines it. Imported on first use, so that
#: ``graphdetect --help`` does not pay for the driver, pandas and networkx.
_EXPORTS = {
    "Neo4jConfig": "connection", "Connection": "connection", "connect": "connection",
    "GraphServerError": "connection", "LoadInterrupted": "connection",
    "cypher_text": "_cypher", "cypher_statements": "_cypher", "cypher_names": "_cypher",
    "load_folder": "load", "load_data": "load", "graph_counts": "load",
    "push_run": "push", "read_cases": "push", "run_cases": "push",
    "concurrent_stays": "rules", "split_stays": "rules", "co_admissions": "rules",
    "Neighbourhood": "neighbourhood", "neighbour_kinds": "neighbourhood",
}
__all__ = list(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from ._cypher import cypher_names, cypher_statements, cypher_text  # noqa: F401
    from .connection import (  # noqa: F401
        Connection,
        GraphServerError,
        LoadInterrupted,
        Neo4jConfig,
        connect,
    )
    from .load import graph_counts, load_data, load_folder  # noqa: F401
    from .neighbourhood import Neighbourhood, neighbour_kinds  # noqa: F401
    from .push import push_run, read_cases, run_cases  # noqa: F401
    from .rules import co_admissions, concurrent_stays, split_stays  # noqa: F401


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
