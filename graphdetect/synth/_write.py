"""Turn the generated arrays into the contract's tables and write them (CSV or Parquet).

Writing is deterministic: fixed row order, fixed column types, no timestamps in metadata.
CSV is UTF-8 without quoting (no value contains a comma), times ``YYYY-MM-DD HH:MM:SS``,
amounts with two decimals, missing values empty.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from . import _catalog as cat
from ._world import World

CLAIM_COLUMNS = ("claim_id", "patient_id", "institution_id", "doctor_id", "visit_type",
                 "start_time", "end_time", "total_amount", "fund_amount", "diagnosis_code",
                 "terminal_id", "operator_id", "card_id")
OPTIONAL_COLUMNS = ("doctor_id", "fund_amount", "diagnosis_code", "terminal_id", "operator_id",
                    "card_id")
TABLES = ("claims", "patients", "institutions", "doctors")
_EPOCH = dt.date(1970, 1, 1).toordinal()
_CHUNK = 1_000_000


def _pad(values: np.ndarray, width: int, prefix: str | pa.Array = "") -> pa.Array:
    """Zero-padded decimal strings of ``values`` with a prefix (a string or string array)."""
    digits = pc.utf8_lpad(pc.cast(pa.array(values, type=pa.int64()), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def entity_ids(w: World) -> dict[str, pa.Array]:
    """String ids of every entity, indexable by the internal integer ids."""
    county = pa.array(np.array(w.county_code)[w.pat_county])
    return {
        "patient": _pad(w.pat_serial, 10, county),
        "card": _pad(w.card_serial, 8, "A"),
        "institution": pa.array(w.inst_id, type=pa.string()),
        "doctor": pa.array(w.doc_id, type=pa.string()),
        "terminal": _pad(np.arange(w.n_term) + 1, 8, "T"),
        "operator": _pad(np.arange(w.n_op) + 1, 6, "OP"),
        "diagnosis": pa.array(cat.DIAG_CODES, type=pa.string()),
        "visit_type": pa.array(cat.VISIT_TYPES, type=pa.string()),
    }


def _lookup(table: pa.Array, idx: np.ndarray) -> pa.Array:
    return table.take(pa.array(idx.astype(np.int64), mask=idx < 0))


def _amount(cents: np.ndarray, fmt: str) -> pa.Array:
    if fmt == "parquet":
        return pa.array(cents / 100.0, type=pa.float64())
    whole = pc.cast(pa.array(cents // 100), pa.string())
    return _pad(cents % 100, 2, pc.binary_join_element_wise(whole, ".", ""))


def claims_batch(c: dict, lo: int, hi: int, claim_no: np.ndarray, ids: dict, base: int,
                 fmt: str, omit: frozenset = frozenset()) -> pa.RecordBatch:
    """Rows ``lo:hi`` of the (sorted) claims as a record batch of contract columns, less
    the columns named in ``omit``."""
    s = slice(lo, hi)
    end = c["end"][s]
    make = {
        "claim_id": lambda: _pad(claim_no[s], 12, "JS"),
        "patient_id": lambda: _lookup(ids["patient"], c["pat"][s]),
        "institution_id": lambda: _lookup(ids["institution"], c["inst"][s]),
        "doctor_id": lambda: _lookup(ids["doctor"], c["doc"][s]),
        "visit_type": lambda: _lookup(ids["visit_type"], c["vt"][s]),
        "start_time": lambda: pa.array(c["start"][s] + base, type=pa.timestamp("s")),
        "end_time": lambda: pa.array(np.where(end < 0, 0, end + base), type=pa.timestamp("s"),
                                     mask=end < 0),
        "total_amount": lambda: _amount(c["total"][s], fmt),
        "fund_amount": lambda: _amount(c["fund"][s], fmt),
        "diagnosis_code": lambda: _lookup(ids["diagnosis"], c["dx"][s]),
        "terminal_id": lambda: _lookup(ids["terminal"], c["term"][s]),
        "operator_id": lambda: _lookup(ids["operator"], c["op"][s]),
        "card_id": lambda: _lookup(ids["card"], c["pat"][s]),
    }
    names = [n for n in CLAIM_COLUMNS if n not in omit]
    return pa.RecordBatch.from_arrays([make[n]() for n in names], names=names)


def _writer(path: Path, schema: pa.Schema, fmt: str):
    if fmt == "parquet":
        return pq.ParquetWriter(path, schema, compression="zstd")
    sink = open(path, "wb")  # closed by _close
    sink.write((",".join(schema.names) + "\n").encode("utf-8"))
    opts = pacsv.WriteOptions(include_header=False, quoting_style="none")
    return pacsv.CSVWriter(sink, schema, write_options=opts), sink


def _close(writer) -> None:
    if isinstance(writer, tuple):
        writer[0].close()
        writer[1].close()
    else:
        writer.close()


def _write(writer, batch: pa.RecordBatch) -> None:
    (writer[0] if isinstance(writer, tuple) else writer).write(batch)


def write_claims(out: Path, c: dict, claim_no: np.ndarray, ids: dict, start: dt.date,
                 fmt: str, omit: frozenset = frozenset()) -> None:
    """Write the claims table in chunks of a million rows (bounded memory)."""
    base = (start.toordinal() - _EPOCH) * 86_400
    n = len(c["pat"])
    first = claims_batch(c, 0, min(n, _CHUNK), claim_no, ids, base, fmt, omit)
    writer = _writer(out / f"claims.{fmt}", first.schema, fmt)
    try:
        _write(writer, first)
        for lo in range(_CHUNK, n, _CHUNK):
            _write(writer, claims_batch(c, lo, min(n, lo + _CHUNK), claim_no, ids, base, fmt,
                                        omit))
    finally:
        _close(writer)


def write_table(path: Path, table: pa.Table, fmt: str) -> None:
    """Write one small table in ``fmt``."""
    writer = _writer(path, table.schema, fmt)
    try:
        for batch in table.to_batches(max_chunksize=_CHUNK):
            _write(writer, batch)
    finally:
        _close(writer)


def side_tables(w: World, ids: dict) -> dict[str, pa.Table]:
    """The patients, institutions and doctors tables, each sorted by its id."""
    birth = (w.pat_birth - _EPOCH).astype("datetime64[D]")
    patients = pa.table({
        "patient_id": ids["patient"],
        "birth_date": pa.array(birth, type=pa.date32()),
        "sex": pa.array(np.where(w.pat_sex == 0, "M", "F")),
        "region_code": pa.array(np.array(w.vil_code)[w.pat_vil]),
        "phone_hash": pa.array(w.phone[w.pat_phone]),
        "address_hash": pa.array(w.addr[w.pat_addr]),
    })
    institutions = pa.table({
        "institution_id": ids["institution"],
        "name": pa.array(w.inst_name, type=pa.string()),
        "kind": pa.array(np.array(cat.TIER_KIND)[w.inst_tier]),
        "level": pa.array(w.inst_level, type=pa.int64()),
        "ownership": pa.array(np.where(w.inst_public, "public", "private")),
        "region_code": pa.array(w.inst_region, type=pa.string()),
    })
    doctors = pa.table({
        "doctor_id": ids["doctor"],
        "name": pa.array(w.doc_name, type=pa.string()),
        "institution_id": ids["institution"].take(pa.array(w.doc_inst)),
        "specialty": pa.array(np.array(cat.SPECIALTIES)[w.doc_spec]),
    })
    out = {}
    for name, t, key in (("patients", patients, "patient_id"),
                         ("institutions", institutions, "institution_id"),
                         ("doctors", doctors, "doctor_id")):
        out[name] = t.take(pc.sort_indices(t, sort_keys=[(key, "ascending")]))
    return out


def clear_old(out: Path) -> None:
    """Remove tables a previous run left in ``out`` (either format)."""
    for name in TABLES:
        for ext in ("csv", "parquet"):
            (out / f"{name}.{ext}").unlink(missing_ok=True)
