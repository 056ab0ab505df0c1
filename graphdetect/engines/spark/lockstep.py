"""The lockstep engine's groups on Spark: places dealt into buckets, each bucket's claims
through the embedded engine's own step in one task.

Every lockstep group lies at one place: a stream is a place's settlements or one actor's
there, a window is a stretch of one stream, and windows are linked only at one place
(:func:`graphdetect.detectors._lockstep.find_groups`). So the claims are shuffled by
place into buckets (a hash of the institution id), and each bucket's task builds a
:class:`~graphdetect.graph.ClaimsGraph` of its claims and runs ``find_groups`` on it: the
same code on fewer places, hence the same groups, whatever the number of buckets. Whether
a place's windows are cut by time of day is its own claims' to say
(:func:`graphdetect.detectors._lockstep_hours.timed_places`), so a bucket knows it alone.

What comes back to the driver is each group's evidence rows, place, density, stream
kinds and whether it is timed; the groups' facts
(:func:`graphdetect.detectors._lockstep.facts`) are still worked out in the driver, on its
graph.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ...schema import VISIT_CODES
from .session import quiet_warnings

__all__ = ["COLUMNS", "SCHEMA", "lockstep_groups", "bucket_count"]

#: The claims' columns this step reads (what the read stage keeps in Spark).
COLUMNS = ("patient_id", "card_id", "institution_id", "terminal_id", "operator_id",
           "doctor_id", "diagnosis_code", "visit_type", "start_time", "has_time")
#: What each bucket's task returns: one line per evidence row of each of its groups.
SCHEMA = ("bucket int, grp int, place string, density double, kinds string, "
          "timed boolean, row long")
#: Claims per bucket, at most, that the number of buckets aims for (a task's graph of
#: 2M claims takes about 0.5 GB in its Python worker).
BUCKET_CLAIMS = 2_000_000


def bucket_count(session, rows: int) -> int:
    """How many buckets the places are dealt into: twice the cores Spark has, or more
    when that would put over :data:`BUCKET_CLAIMS` claims in a bucket."""
    cores = max(int(session.sparkContext.defaultParallelism), 1)
    return max(2 * cores, -(-rows // BUCKET_CLAIMS))


def lockstep_groups(claims, graph, *, buckets: int, **params) -> list:
    """The lockstep groups of the claims kept in Spark (numbered with ``graph``'s rows), as
    :func:`~graphdetect.detectors._lockstep.find_groups` gives them on ``graph``.

    ``params``: ``density``, ``min_run_cards``, ``min_runs``, ``min_overlap``,
    ``min_cards``.
    """
    from pyspark.sql import functions as F

    from ...detectors._lockstep import Group

    # a claim's card: its card id, or its holder where the graph's cards are its patients
    # (no card column, or one that repeats the holder's id)
    card = "patient_id" if graph.cards_are_patients else "card_id"
    columns = [c for c in COLUMNS if c not in ("patient_id", "card_id") or c == card]
    # Spark holds visit types as the reader's word codes (positions in VISIT_CODES)
    inpatient = VISIT_CODES.index("inpatient")
    looked_at = (F.col("visit_type") != inpatient) & F.col("institution_id").isNotNull() \
        & F.col(card).isNotNull()
    mine = claims.where(looked_at).select("row", *columns)
    bucket = F.pmod(F.xxhash64("institution_id"), F.lit(buckets)).cast("int")
    with quiet_warnings():
        found = mine.withColumn("bucket", bucket).groupBy("bucket") \
            .applyInArrow(_task(params), SCHEMA).toArrow()
    if not found.num_rows:
        return []
    found = found.sort_by([("bucket", "ascending"), ("grp", "ascending"),
                           ("row", "ascending")])
    key = np.asarray(found.column("bucket").to_numpy(), np.int64) << 32 \
        | found.column("grp").to_numpy()
    first = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    rows = np.split(found.column("row").to_numpy().astype(np.int64), first[1:])
    places = graph.index("institution").get_indexer(
        found.column("place").take(first).to_pylist())
    density = found.column("density").take(first).to_pylist()
    kinds = found.column("kinds").take(first).to_pylist()
    timed = found.column("timed").take(first).to_pylist()
    out = [Group(int(p), r, t, d, tuple(k.split(","))) for p, r, t, d, k in zip(
        places, rows, timed, density, kinds, strict=True)]
    out.sort(key=lambda g: (g.place, int(g.rows[0])))
    return out


def _task(params: dict):
    """The function each bucket's task runs over its claims (an Arrow table)."""

    def run(key: tuple, claims: pa.Table) -> pa.Table:
        import pandas as pd

        from ...detectors._lockstep import find_groups
        from ...graph import ClaimsGraph

        # in the driver's row order, so that ties in time fall as they do there
        claims = claims.sort_by("row")
        row = claims.column("row").to_numpy()
        frame = claims.drop_columns(["row", "bucket"]).to_pandas()
        frame["visit_type"] = pd.Categorical.from_codes(
            frame["visit_type"].to_numpy(np.int8), categories=list(VISIT_CODES))
        graph = ClaimsGraph(frame)
        groups = find_groups(graph, **params)
        size = [len(g.rows) for g in groups]
        place = graph.index("institution")[[g.place for g in groups]].tolist()
        kinds = [",".join(g.kinds) for g in groups]
        at = np.repeat(np.arange(len(groups)), size)
        return pa.table({
            "bucket": pa.array(np.full(len(at), key[0].as_py(), np.int32)),
            "grp": pa.array(at.astype(np.int32)),
            "place": pa.array(place, pa.string()).take(at),
            "density": pa.array([g.density for g in groups], pa.float64()).take(at),
            "kinds": pa.array(kinds, pa.string()).take(at),
            "timed": pa.array([g.timed for g in groups], pa.bool_()).take(at),
            "row": pa.array(row[np.concatenate([g.rows for g in groups])] if groups
                            else np.zeros(0, np.int64))})

    return run
