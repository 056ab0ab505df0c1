"""Take a case's evidence rows, whole, from the very files the detection run read.

The run recorded each input file's SHA-256; a file that has changed since is refused, so
a package never mixes one run's case with another day's data. Rows come back twice: as
the user wrote them (every column, unknown extra ones included, as text) for
``claims.csv``, and typed by the same ingestion the run used, for the report.

A table may be a folder of files (``claims/2024-01.csv``, ``claims/2024-02.parquet``): each
claim is taken from whichever file holds it. Their headers may differ (Chinese in one
month, English in the next, a column only in some): the rows then share one header, a
column per contract column (named as the first file names it) and per other column name.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..io import iter_batches, open_source, read_folder, sha256_file
from ..regions import region_names
from ..run import time_zone_of
from ..schema import TABLES, canonical_names
from ._common import ExportError

_SIDE_KEYS = {"patients": "patient_id", "institutions": "institution_id",
              "doctors": "doctor_id"}


@dataclass
class Evidence:
    """The evidence claims of one case and the side-table rows of their entities.

    Attributes
    ----------
    header : list of str
        The claims files' column names as written (one header for all of them).
    rows : list of list of str
        One row per evidence claim, every column as text, in file order (files in the
        run's reading order); a column its file lacks is empty.
    columns : dict
        Canonical column name -> positions in ``header`` that carry it (aliases included).
    claims : pandas.DataFrame
        The same rows, typed as :func:`graphdetect.read_folder` types them.
    patients, institutions, doctors : pandas.DataFrame or None
        Side-table rows of the entities the claims name, indexed by id.
    regions : dict
        Region codes with their place names, from the ``regions`` table if given.
    sources : dict
        Per input file: its table and SHA-256 (checked against the run's summary).
    """

    header: list[str]
    rows: list[list[str]]
    columns: dict[str, list[int]]
    claims: pd.DataFrame
    patients: pd.DataFrame | None = None
    institutions: pd.DataFrame | None = None
    doctors: pd.DataFrame | None = None
    regions: dict[str, str] = field(default_factory=dict)
    sources: dict = field(default_factory=dict)


def load_evidence(summary: dict, claim_ids: list[str], *, data: str | Path | None = None
                  ) -> Evidence:
    """Read the evidence claims of a case from the run's data folder.

    Parameters
    ----------
    summary : dict
        The run's ``summary.json``.
    claim_ids : list of str
        The case's evidence claim ids.
    data : str or Path, optional
        Where the data folder lies now, when it moved since the run.

    Raises
    ------
    ExportError
        When an input file is missing or changed, or an evidence claim is not found.
    """
    folder = Path(data) if data is not None else Path(summary.get("data_folder") or "")
    inputs = summary.get("inputs") or {}
    if not folder.is_dir():
        raise ExportError(f"{folder}: the run's data folder is not there; "
                          "pass --data FOLDER where it lies now")
    files = _check_inputs(folder, inputs, summary.get("run_id", "?"))
    if "claims" not in files:
        raise ExportError(f"run {summary.get('run_id')}: summary.json names no claims file")
    with tempfile.TemporaryDirectory(prefix="graphdetect-evidence-") as tmp:
        parts = _gather(files["claims"], "claims", "claim_id", set(claim_ids), Path(tmp))
        ids = {key.replace("_id", "s"): set().union(*(_ids(raw, cols, key)
                                                     for cols, raw in parts))
               for key in ("patient_id", "institution_id", "doctor_id")}
        for table, key in _SIDE_KEYS.items():
            if table in files:
                _gather(files[table], table, key, ids[table], Path(tmp))
        if "regions" in files:  # a small table of place names: all of it
            _gather(files["regions"], "regions", "region_code", None, Path(tmp))
        typed = read_folder(tmp, time_zone=time_zone_of(summary))
    src_header, positions = _union([cols for cols, _ in parts])
    rows = []
    for k, (_, raw) in enumerate(parts):
        rejected = {int(r) - 1 for r, f in zip(typed.rejects["line"], typed.rejects["file"],
                                               strict=True) if f == _part_name("claims", k)}
        keep = [i for i in range(raw.num_rows) if i not in rejected]
        for row in _text_rows(raw.take(pa.array(keep, pa.int64()))):
            out = [""] * len(src_header)
            for pos, value in zip(positions[k], row, strict=True):
                out[pos] = value
            rows.append(out)
    claims = typed.claims.reset_index(drop=True)
    missing = sorted(set(claim_ids) - set(claims["claim_id"].astype(str)))
    if missing:
        raise ExportError(f"{len(missing)} evidence claim(s) of the case are not accepted rows "
                          f"of the run's claims files (first: {missing[0]!r})")
    columns: dict[str, list[int]] = {}
    for i, name in enumerate(src_header):
        for canon in canonical_names(TABLES["claims"], [name]).values():
            columns.setdefault(canon, []).append(i)
    return Evidence(
        header=src_header, rows=rows, columns=columns, claims=claims,
        patients=_indexed(typed.patients, "patient_id"),
        institutions=_indexed(typed.institutions, "institution_id"),
        doctors=_indexed(typed.doctors, "doctor_id"),
        regions=region_names(typed.regions),
        sources={name: {"table": info.get("table"), "sha256": info.get("sha256")}
                 for name, info in sorted(inputs.items())},
    )


def _check_inputs(folder: Path, inputs: dict, run_id: str
                  ) -> dict[str, list[tuple[str, Path]]]:
    """Per table, its files as the run read them (``(name, path)`` in reading order)."""
    files: dict[str, list[tuple[str, Path]]] = {}
    for name, info in sorted(inputs.items()):
        table = info.get("table")
        if table not in TABLES:
            continue
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise ExportError(f"{name!r}: input of run {run_id} is not a path inside the data "
                              "folder; summary.json is not as graphdetect wrote it")
        path = folder / name
        if not path.is_file():
            raise ExportError(f"{path}: input file of run {run_id} is missing; pass --data "
                              "FOLDER where the run's data lies now")
        if sha256_file(path) != info.get("sha256"):
            raise ExportError(f"{path}: changed since run {run_id} read it (SHA-256 differs); "
                              "evidence must come from the file the run read")
        files.setdefault(table, []).append((name, path))
    return files


def _part_name(table: str, k: int) -> str:
    return f"{table}/{k:05d}.parquet"


def _gather(files: list[tuple[str, Path]], table: str, key: str, wanted: set[str] | None,
            tmp: Path) -> list[tuple[list[str], pa.Table]]:
    """The wanted rows (all rows when ``wanted`` is None) of each file of a table, raw;
    each also written to ``tmp/table/`` (a folder of Parquet files in the same order) for
    :func:`read_folder` to type."""
    (tmp / table).mkdir()
    parts = [_filter(path, name, table, key, wanted) for name, path in files]
    for k, (_, raw) in enumerate(parts):
        pq.write_table(raw, tmp / _part_name(table, k))
    return parts


def _filter(path: Path, name: str, table: str, key: str, wanted: set[str] | None
            ) -> tuple[list[str], pa.Table]:
    """The rows of a file whose ``key`` (trimmed) is wanted (all when None), raw, all
    columns."""
    src = open_source(path, TABLES[table], name)
    value_set = pa.array(sorted(wanted or ()), pa.string())
    kept: list[pa.RecordBatch] = []
    schema = None
    for batch in iter_batches(src):
        schema = batch.raw.schema
        if wanted is None:
            kept.append(batch.raw)
            continue
        text = pc.utf8_trim_whitespace(batch.columns[key].cast(pa.string()))
        mask = pc.fill_null(pc.is_in(text, value_set=value_set), False)
        if len(wanted) and pc.any(mask).as_py():
            kept.append(batch.raw.filter(mask))
    if schema is None:  # a file of no rows: its columns as text
        schema = pa.schema([(n, pa.string()) for n in src.raw_names])
    raw = pa.Table.from_batches(kept, schema=schema) if kept else schema.empty_table()
    return src.columns, raw


def _union(headers: list[list[str]]) -> tuple[list[str], list[list[int]]]:
    """One header for the rows of several files, and per file where its columns go.

    A contract column (under any of its names) is one column, named as the first file
    names it; any other column is one per name (and per repeat of a name in a file).
    """
    where: dict[tuple, int] = {}
    names: list[str] = []
    positions = []
    for header in headers:
        canon = canonical_names(TABLES["claims"], header)
        seen: Counter = Counter()
        pos = []
        for i, name in enumerate(header):
            key = ("contract", canon[i]) if i in canon else ("other", name, seen[name])
            seen[name] += 1
            if key not in where:
                where[key] = len(names)
                names.append(name)
            pos.append(where[key])
        positions.append(pos)
    return names, positions


def _ids(raw: pa.Table, header: list[str], key: str) -> set[str]:
    pos = canonical_names(TABLES["claims"], header)
    col = next((i for i, name in pos.items() if name == key), None)
    if col is None:
        return set()
    text = pc.utf8_trim_whitespace(raw.column(col).cast(pa.string()))
    return {v for v in text.to_pylist() if v}


def _text_rows(t: pa.Table) -> list[list[str]]:
    cols = []
    for col in t.columns:
        try:
            values = col.cast(pa.string()).to_pylist()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            values = [None if v is None else str(v) for v in col.to_pylist()]
        cols.append(["" if v is None else v for v in values])
    return [list(r) for r in zip(*cols, strict=True)] if cols else []


def _indexed(frame: pd.DataFrame | None, key: str) -> pd.DataFrame | None:
    if frame is None:
        return None
    frame = frame.copy()
    frame[key] = frame[key].astype(str)
    return frame.drop_duplicates(key).set_index(key, drop=False)
