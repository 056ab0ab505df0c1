"""Large files in parts: a local Parquet file of more than :data:`PART_ROWS` rows is read
by several tasks, each some of its whole row groups (:func:`of`), and the facts its parts'
tasks report are put back together as the file's (:func:`whole`).
"""

from __future__ import annotations

import pyarrow as pa

from .paths import uri_of

__all__ = ["PART_ROWS", "of", "whole"]

#: Rows per task, about, when a local Parquet file is cut into parts (whole row groups).
PART_ROWS = 1_000_000


def of(where: str) -> list[tuple[int, int]]:
    """The parts a file is read in: ``(lo, hi)`` row groups of a local Parquet file of
    more than :data:`PART_ROWS` rows, cut where a part reaches them; else the whole file,
    ``(-1, -1)`` (a URI's too: its footer is read by the executor that copies it)."""
    import pyarrow.parquet as pq

    if uri_of(where) is not None or not where.lower().endswith(".parquet"):
        return [(-1, -1)]
    try:
        meta = pq.ParquetFile(where).metadata
    except (pa.ArrowException, OSError):  # its task says what is wrong with it
        return [(-1, -1)]
    if meta.num_rows <= PART_ROWS or meta.num_row_groups < 2:
        return [(-1, -1)]
    out, lo, rows = [], 0, 0
    for g in range(meta.num_row_groups):
        rows += meta.row_group(g).num_rows
        if rows >= PART_ROWS:
            out.append((lo, g + 1))
            lo, rows = g + 1, 0
    if lo < meta.num_row_groups:
        out.append((lo, meta.num_row_groups))
    return out


def whole(parts: list[dict]) -> dict:
    """A file's facts from its parts' (a whole file is one part): the first part's words,
    the rows of all, the hash the first part made, the batches' schemas in order, each
    part's range of keys (``keys``, a list); a part that could not be read stands for
    the file."""
    parts = sorted(parts, key=lambda f: f["part"])
    for f in parts:
        if "error" in f:
            return f
    out = dict(parts[0])
    out["rows_read"] = sum(f["rows_read"] for f in parts)
    out["schemas"] = list(dict.fromkeys(s for f in parts for s in f["schemas"]))
    out["keys"] = [f.get("keys") for f in parts]
    return out
