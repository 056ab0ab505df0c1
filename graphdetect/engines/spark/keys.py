"""Keys on Spark, for the read stage (:mod:`.read`): which rows repeat a key an earlier
row holds (:func:`repeated_rows`; none looked for in a table whose parts' keys rise and do
not meet, :func:`held_once`), and the kept claims numbered with their rows in the
driver's claims table, the graph's rows (:func:`numbered`).
"""

from __future__ import annotations

import pyarrow as pa

from ...schema import TABLES

__all__ = ["held_once", "repeated_rows", "numbered"]


def held_once(files: dict[int, dict], found: list) -> set[str]:
    """The tables no key of which is held twice, by what the tasks saw: every part of
    every file of the table has rising keys, and no two parts' ranges meet (the usual
    export, sorted by its id). A table read from no file holds none twice either."""
    ranges: dict[str, list] = {name: [] for name in TABLES}
    for k, (name, _, _) in enumerate(found):
        ranges[name] += [r for r in files[k].get("keys", []) if r is not None]
    once = set()
    for name, seen in ranges.items():
        if all(r["rising"] for r in seen):
            seen = sorted(seen, key=lambda r: r["first"])
            if all(a["last"] < b["first"] for a, b in zip(seen, seen[1:], strict=False)):
                once.add(name)
    return once


def repeated_rows(F, good, once: set[str] = frozenset()) -> pa.Table:
    """The rows whose key an earlier row of their table holds (in path order, then file
    order), as Arrow: the first row of each key is kept, as the embedded reader keeps it.

    The keys held more than once are counted on the key alone (one aggregation, no row
    moves whole; none, mostly); only their rows are then ranked, fetched by broadcast joins.
    The tables in ``once`` hold every key once (:func:`held_once`) and are not counted.
    """
    from pyspark.sql import Window

    if once:
        good = good.where(~F.col("_table").isin(*sorted(once)))
        if once >= set(TABLES):
            return good.limit(0).toArrow()
    key = F.coalesce(*[F.when(F.col("_table") == n, F.col(t.key)) for n, t in TABLES.items()])
    ids = good.select("_table", key.alias("_key"), "_file", "_record")
    held = ids.groupBy("_table", "_key").count().where(F.col("count") > 1).drop("count")
    if held.isEmpty():
        return good.limit(0).toArrow()
    first_wins = Window.partitionBy("_table", "_key").orderBy("_file", "_record")
    later = ids.join(F.broadcast(held), on=["_table", "_key"]) \
        .withColumn("_n", F.row_number().over(first_wins)).where(F.col("_n") > 1) \
        .select("_file", "_record")
    return good.join(F.broadcast(later), on=["_file", "_record"], how="left_semi").toArrow()


def numbered(spark, kept, keep: tuple[str, ...]):
    """The kept claims with their row in the claims table the read stage collects
    (:func:`.read.read`: files in order, records in order within each), persisted and made
    while the executors' rows still are.

    No row moves to be numbered. Each part of a file (the whole file, or a task's row
    groups, whose records come after the previous part's) is read by one task, in
    record order, and every step from the read to here keeps a task's rows where they
    are and in their order (filters, joins with broadcast tables): Spark's
    ``monotonically_increasing_id`` numbers the rows of a task in that order. A count
    per part gives each part's first row; a claim's row is its part's first plus its
    number less the part's lowest. That each part's numbers run without a gap is checked
    as they are counted.
    """
    from pyspark.sql import functions as F

    claims = kept.where(F.col("_table") == "claims") \
        .select(F.monotonically_increasing_id().alias("_n"), "_file", "_part", *keep)
    offsets, at = [], 0
    for r in sorted(claims.groupBy("_file", "_part").agg(
            F.count("*").alias("count"), F.min("_n").alias("lo"), F.max("_n").alias("hi"))
            .collect()):
        if r["hi"] - r["lo"] + 1 != r["count"]:
            raise RuntimeError(f"part {r['_file']}:{r['_part']} of the claims is not numbered "
                               "in one run: a step moved its rows between tasks")
        offsets.append((r["_file"], r["_part"], at - r["lo"]))
        at += r["count"]
    offsets = spark.createDataFrame(offsets, "_file int, _part int, _shift long")
    out = claims.join(F.broadcast(offsets), on=["_file", "_part"]) \
        .select((F.col("_n") + F.col("_shift")).alias("row"), *keep).persist()
    out.count()
    return out
