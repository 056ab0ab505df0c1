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

Python API
----------
>>> from graphdetect.neo4j import Neo4jConfig, connect, load_folder  # doctest: +SKIP
>>> with connect(Neo4jConfig.from_env()) as conn:                     # doctest: +SKIP
...     load_folder(conn, "datasets/sample")["graph"]["nodes"]
"""

from __future__ import annotations

from ._cypher import cypher_names, cypher_statements, cypher_text
from .connection import Connection, GraphServerError, LoadInterrupted, Neo4jConfig, connect
from .load import graph_counts, load_data, load_folder
from .neighbourhood import Neighbourhood, neighbour_kinds
from .push import push_run, read_cases, run_cases
from .rules import co_admissions, concurrent_stays, split_stays

__all__ = [
    "Neo4jConfig", "Connection", "connect", "GraphServerError", "LoadInterrupted",
    "cypher_text", "cypher_statements", "cypher_names",
    "load_folder", "load_data", "graph_counts",
    "push_run", "read_cases", "run_cases",
    "concurrent_stays", "split_stays", "co_admissions",
    "Neighbourhood", "neighbour_kinds",
]
