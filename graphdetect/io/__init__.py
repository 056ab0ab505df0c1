"""Read a data folder (see ``contract.md``) into typed tables, rejecting bad rows with reasons.

>>> from graphdetect.io import read_folder
>>> data = read_folder("datasets/sample")
>>> data.claims.columns[:3].tolist()
['claim_id', 'patient_id', 'institution_id']
>>> data.rows_read == len(data.claims) + len(data.rejects) + sum(
...     len(t) for t in (data.patients, data.institutions, data.doctors))
True
"""

from __future__ import annotations

import json
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._progress import progress_bar
from ..errors import DataError
from ..schema import TABLES, VISIT_CODES, Table
from ._read import Source, iter_batches, open_source, record_to_line, sha256_file
from ._validate import validate

__all__ = ["ClaimsData", "read_folder", "REJECT_COLUMNS", "open_source", "iter_batches",
           "sha256_file"]

REJECT_COLUMNS = ["file", "line", "column", "reason", "value", "row"]
_CATEGORICAL = {
    "claims": ("patient_id", "institution_id", "doctor_id", "diagnosis_code",
               "terminal_id", "operator_id", "card_id"),
    "patients": ("region_code",),
    "institutions": ("region_code",),
    "doctors": ("institution_id", "specialty"),
}
_WORDS = {
    "visit_type": VISIT_CODES, "sex": ("M", "F"), "ownership": ("public", "private"),
    "kind": ("hospital", "health_center", "village_clinic", "clinic", "pharmacy"),
}


@dataclass
class ClaimsData:
    """The typed tables of one data folder.

    Attributes
    ----------
    claims : pandas.DataFrame
        One row per accepted claim; id columns are categoricals (sorted categories),
        times are ``datetime64[s]``, ``has_time`` says whether start_time had a time of day.
    patients, institutions, doctors : pandas.DataFrame or None
        The optional tables, when the folder has them.
    rejects : pandas.DataFrame
        Columns ``file, line, column, reason, value, row``.
    files : dict
        Per input file: path, format, encoding, sha256, rows read, accepted, rejected.
    """

    claims: pd.DataFrame
    patients: pd.DataFrame | None = None
    institutions: pd.DataFrame | None = None
    doctors: pd.DataFrame | None = None
    rejects: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REJECT_COLUMNS))
    files: dict = field(default_factory=dict)

    @property
    def rows_read(self) -> int:
        return sum(f["rows_read"] for f in self.files.values())

    def reject_counts(self) -> dict[str, int]:
        """Rejected rows per ``table: reason``, sorted by name."""
        counts = Counter(f"{Path(f).stem}: {r}" for f, r in
                         zip(self.rejects["file"], self.rejects["reason"], strict=True))
        return dict(sorted(counts.items()))


def _find(folder: Path, table: Table) -> Path | None:
    hits = [folder / f"{table.name}{ext}" for ext in (".csv", ".parquet")]
    hits = [p for p in hits if p.is_file()]
    if len(hits) > 1:
        raise DataError(hits[1].name, f"both {hits[0].name} and {hits[1].name} exist; keep one")
    if not hits and table.required:
        raise DataError(f"{table.name}.csv", f"no {table.name}.csv or {table.name}.parquet "
                        f"in {folder}")
    return hits[0] if hits else None


def read_folder(path: str | Path, *, progress: bool = False) -> ClaimsData:
    """Read and validate every table of a data folder.

    Parameters
    ----------
    path : str or Path
        The data folder: ``claims.csv|parquet`` and optionally patients, institutions, doctors.
    progress : bool
        Show a progress bar per file.

    Raises
    ------
    DataError
        When a file cannot be read at all; bad rows never raise, they become rejects.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise DataError(str(path), "not a folder")
    found = {name: _find(folder, t) for name, t in TABLES.items()}
    sources = {name: open_source(p, TABLES[name]) for name, p in found.items() if p}
    data = ClaimsData(claims=pd.DataFrame())
    rejects: list[dict] = []
    for name, src in sources.items():
        frame, rows_read, table_rejects = _read_table(src, progress)
        setattr(data, name, frame)
        rejects.extend(table_rejects)
        data.files[src.name] = {
            "table": name, "path": str(src.path), "format": src.kind,
            "encoding": src.encoding or None, "sha256": sha256_file(src.path),
            "rows_read": rows_read, "accepted": len(frame), "rejected": len(table_rejects),
        }
    data.rejects = pd.DataFrame(rejects, columns=REJECT_COLUMNS)
    return data


def _read_table(src: Source, progress: bool) -> tuple[pd.DataFrame, int, list[dict]]:
    table = src.table
    goods: list[pa.Table] = []
    raw_rejects: list[tuple[int, str, str, str, str]] = []
    rows = 0
    with progress_bar(progress, desc=f"read {src.name}", unit="rows") as bar:
        for batch in iter_batches(src):
            good, bad = validate(batch, table)
            records = np.arange(batch.first_record, batch.first_record + len(batch))
            good = good.append_column("_record", pa.array(records[_kept(len(batch), bad,
                                                                         batch.first_record)]))
            goods.append(good)
            header = batch.raw.schema.names
            for record, column, reason, value in bad:
                row = batch.raw.slice(record - batch.first_record, 1).to_pylist()[0]
                raw_rejects.append((record, column, reason, value, _row_json(row, header)))
            rows += len(batch)
            bar.update(len(batch))
    merged = pa.concat_tables(goods) if goods else None
    del goods  # the batches live on in `merged`; _to_frame frees them column by column
    if merged is not None and merged.num_rows:
        merged, dups = _drop_duplicates(merged, table.key)
        raw_rejects.extend(dups)
    arrow = {} if merged is None else {n: merged.column(n) for n in merged.column_names
                                         if n != "_record"}
    merged = None
    frame = _to_frame(arrow, table)
    lines = record_to_line(src, [r[0] for r in raw_rejects])
    rejects = [
        {"file": src.name, "line": line, "column": c, "reason": r, "value": v, "row": row}
        for line, (_, c, r, v, row) in zip(lines, raw_rejects, strict=True)
    ]
    rejects += [
        {"file": src.name, "line": n, "column": "", "reason": "wrong number of fields",
         "value": why, "row": text}
        for n, text, why in src.malformed
    ]
    rejects.sort(key=lambda r: r["line"])
    return frame, rows + len(src.malformed), rejects


def _kept(n: int, bad: list, first: int) -> np.ndarray:
    keep = np.ones(n, bool)
    if bad:
        keep[[r[0] - first for r in bad]] = False
    return keep


def _row_json(row: dict, header: list[str]) -> str:
    return json.dumps({h: (None if row[h] is None else str(row[h])) for h in header},
                      ensure_ascii=False)


def _drop_duplicates(t: pa.Table, key: str) -> tuple[pa.Table, list]:
    col = t.column(key).combine_chunks()
    if len(col) < 2 or pc.all(pc.greater(col[1:], col[:-1])).as_py():
        return t, []  # strictly increasing keys cannot repeat: no need to hash them
    codes = col.dictionary_encode().indices.to_numpy()
    dup = pd.Series(codes).duplicated(keep="first").to_numpy()
    if not dup.any():
        return t, []
    rec = t.column("_record").to_numpy()
    out = []
    for i in np.flatnonzero(dup):
        row = {k: v for k, v in t.slice(int(i), 1).to_pylist()[0].items() if k[0] != "_"}
        for name, values in _WORDS.items():
            if isinstance(row.get(name), int):
                row[name] = values[row[name]]
        why = f"repeated {key}; the first row is kept"
        out.append((int(rec[i]), key, why, row[key],
                    json.dumps(row, ensure_ascii=False, default=str)))
    return t.filter(pa.array(~dup)), out


def _to_frame(arrow: dict[str, pa.ChunkedArray], table: Table) -> pd.DataFrame:
    """Typed arrow columns to a DataFrame; each arrow column is dropped once converted."""
    if not arrow:
        return pd.DataFrame({c.name: pd.Series(dtype="object") for c in table.columns})
    names = list(arrow)

    def convert(name: str):
        col = arrow.pop(name).combine_chunks()
        if name in _WORDS:
            return pd.Categorical.from_codes(
                col.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int8),
                categories=list(_WORDS[name]))
        if name in _CATEGORICAL.get(table.name, ()):
            return _sorted_categorical(col)
        return col.to_pandas()

    # Arrow's kernels release the GIL: encode the columns on every core.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        columns = list(pool.map(convert, names))
    return pd.DataFrame(dict(zip(names, columns, strict=True)), copy=False)


def _sorted_categorical(col: pa.Array) -> pd.Categorical:
    enc = col.dictionary_encode()
    order = pc.sort_indices(enc.dictionary).to_numpy()
    rank = np.empty(len(order), dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    idx = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    codes = np.where(idx < 0, -1, rank[np.maximum(idx, 0)]) if len(rank) else idx
    cats = pd.Index(enc.dictionary.take(pa.array(order)).to_pandas(), dtype=str)
    return pd.Categorical.from_codes(codes.astype(np.int32), categories=cats)
