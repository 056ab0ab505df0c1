"""Load a data folder into Neo4j in batches: ``graphdetect neo4j load DATA``.

The folder goes through :func:`graphdetect.read_folder`, so the rows that reach the graph
(and the rows rejected, with their reasons) are exactly those of ``graphdetect detect``.
The side tables come first, then the claims, ``batch_size`` rows per transaction; every
statement MERGEs by id, so loading the same folder twice leaves the same graph.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from .._progress import progress_bar
from ..errors import ParameterError
from ..io import DEFAULT_TIME_ZONE, ClaimsData, read_folder
from .connection import Connection, GraphServerError, LoadInterrupted

__all__ = ["load_folder", "load_data", "graph_counts", "DEFAULT_BATCH_SIZE"]

DEFAULT_BATCH_SIZE = 10_000

#: Per table: the load statement and its row fields as (field, column, as_date).
_FIELDS: dict[str, tuple[str, tuple[tuple[str, str, bool], ...]]] = {
    "patients": ("load_patients", (
        ("id", "patient_id", False), ("birth_date", "birth_date", True),
        ("birth_year", "birth_year", False), ("sex", "sex", False),
        ("region_code", "region_code", False), ("phone_hash", "phone_hash", False),
        ("address_hash", "address_hash", False))),
    "institutions": ("load_institutions", (
        ("id", "institution_id", False), ("name", "name", False), ("kind", "kind", False),
        ("level", "level", False), ("ownership", "ownership", False),
        ("region_code", "region_code", False))),
    "doctors": ("load_doctors", (
        ("id", "doctor_id", False), ("name", "name", False),
        ("institution_id", "institution_id", False), ("specialty", "specialty", False))),
    "claims": ("load_claims", (
        ("claim_id", "claim_id", False), ("patient_id", "patient_id", False),
        ("institution_id", "institution_id", False), ("card_id", "card_id", False),
        ("doctor_id", "doctor_id", False), ("terminal_id", "terminal_id", False),
        ("operator_id", "operator_id", False), ("diagnosis_code", "diagnosis_code", False),
        ("visit_type", "visit_type", False), ("start_time", "start_time", False),
        ("end_time", "end_time", False), ("start_day", "start_time", True),
        ("end_day", "end_time", True), ("has_time", "has_time", False),
        ("total_amount", "total_amount", False), ("fund_amount", "fund_amount", False))),
}


def load_folder(conn: Connection, data: str | Path, *, batch_size: int = DEFAULT_BATCH_SIZE,
                progress: bool = False, time_zone: str = DEFAULT_TIME_ZONE) -> dict:
    """Read a data folder and load it into the connected database.

    Parameters
    ----------
    conn : Connection
        An open connection (:func:`graphdetect.neo4j.connect`).
    data : str or Path
        The data folder (``contract.md``).
    batch_size : int, default 10,000
        Rows per transaction; memory on both sides grows with it.
    progress : bool
        Show progress bars on stderr.
    time_zone : str, default "Asia/Shanghai"
        The local time zone times with a UTC offset are converted to, as
        ``graphdetect detect --time-zone`` does.

    Returns
    -------
    dict
        ``rows`` (read, accepted, rejected), ``rejected_by_reason``, ``loaded`` (rows per
        table), ``batches``, ``seconds``, ``claims_per_second`` and ``graph`` (counts).

    Raises
    ------
    LoadInterrupted
        When Ctrl-C or a server error stops the load part way; it says how many batches
        were written. Running the load again finishes it.
    """
    _check_batch_size(batch_size, "load_folder")
    claims_data = read_folder(data, progress=progress, time_zone=time_zone)
    report = load_data(conn, claims_data, batch_size=batch_size, progress=progress)
    report["data"] = str(data)
    return report


def load_data(conn: Connection, data: ClaimsData, *, batch_size: int = DEFAULT_BATCH_SIZE,
              progress: bool = False) -> dict:
    """Load tables already read by :func:`graphdetect.read_folder`; see :func:`load_folder`."""
    _check_batch_size(batch_size, "load_data")
    tables = [(name, frame) for name in ("patients", "institutions", "doctors", "claims")
              if (frame := getattr(data, name)) is not None and len(frame)]
    total = sum(math.ceil(len(frame) / batch_size) for _, frame in tables)
    conn.write_all("schema")
    t0 = time.perf_counter()
    written = 0
    rows_total = sum(len(frame) for _, frame in tables)
    try:
        with progress_bar(progress, total=rows_total, desc="load", unit="rows") as bar:
            for name, frame in tables:
                statement, fields = _FIELDS[name]
                bar.set_postfix_str(name)
                for rows in _batches(frame, fields, batch_size):
                    conn.write(statement, rows=rows)
                    written += 1
                    bar.update(len(rows))
    except KeyboardInterrupt:
        raise LoadInterrupted(conn.config.safe_uri, "load", written, total,
                              "stopped by Ctrl-C", keyboard=True) from None
    except GraphServerError as exc:
        raise LoadInterrupted(conn.config.safe_uri, "load", written, total,
                              exc.problem) from exc
    seconds = time.perf_counter() - t0
    n_claims = len(data.claims)
    accepted = sum(f["accepted"] for f in data.files.values())
    return {
        "rows": {"read": data.rows_read, "accepted": accepted, "rejected": data.rows_rejected},
        "rejected_by_reason": data.reject_counts(),
        "loaded": {name: len(frame) for name, frame in tables},
        "batches": written,
        "seconds": round(seconds, 3),
        "claims_per_second": round(n_claims / seconds, 1) if seconds > 0 else None,
        "graph": graph_counts(conn),
    }


def graph_counts(conn: Connection) -> dict:
    """Nodes and relationships in the database, in all and per label and type.

    Returns
    -------
    dict
        ``nodes``, ``relationships`` (ints), ``by_label`` and ``by_type`` (dicts of ints).
    """
    row = conn.read("graph_counts")[0]
    return {"nodes": row["nodes"], "relationships": row["relationships"],
            "by_label": dict(row["by_label"]), "by_type": dict(row["by_type"])}


def _check_batch_size(batch_size: int, owner: str) -> None:
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ParameterError("batch_size", owner, "an int >= 1", batch_size)


def _batches(frame: pd.DataFrame, fields, batch_size: int) -> Iterator[list[dict]]:
    """The rows of a table as parameter maps, ``batch_size`` at a time."""
    keys = [f for f, _, _ in fields]
    for lo in range(0, len(frame), batch_size):
        part = frame.iloc[lo:lo + batch_size]
        columns = [_values(part, column, as_date) for _, column, as_date in fields]
        yield [dict(zip(keys, values, strict=True)) for values in zip(*columns, strict=True)]


def _values(frame: pd.DataFrame, column: str, as_date: bool) -> list:
    """One column as Python values for the driver: str, int, float, bool, datetime, date;
    missing values (and absent columns) as None."""
    if column not in frame:
        return [None] * len(frame)
    s = frame[column]
    if isinstance(s.dtype, pd.CategoricalDtype):
        categories = np.asarray(s.cat.categories, dtype=object)
        codes = s.cat.codes.to_numpy()
        out = np.full(len(s), None, dtype=object)
        out[codes >= 0] = categories[codes[codes >= 0]]
        return out.tolist()
    if s.dtype.kind == "M":
        # datetime64 -> datetime.datetime (LocalDateTime) or datetime.date; NaT -> None
        return s.to_numpy().astype("datetime64[D]" if as_date else "datetime64[us]") \
            .astype(object).tolist()
    if s.dtype.kind == "f":
        values = s.to_numpy()
        out = values.astype(object)
        out[np.isnan(values)] = None
        return out.tolist()
    if s.dtype.kind in "biu" and isinstance(s.dtype, np.dtype):
        return s.to_numpy().tolist()
    values = s.astype(object)
    return values.where(s.notna(), None).tolist()
