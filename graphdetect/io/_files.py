"""Where a table's files are, and the window of days a run reads.

A table is one file (``claims.csv`` or ``claims.parquet``) or a folder ``claims/`` of
``.csv`` and ``.parquet`` files at any depth, read in sorted path order; a partitioned
Parquet dataset (``claims/year=2024/month=01/part-0.parquet``) is such a folder. Names
that begin with ``.`` or ``_`` (``_SUCCESS``, ``.crc`` files, ``_temporary/``) are skipped,
as Spark and Arrow skip them.

>>> partition_values("claims/year=2024/定点机构编码=H%2F1/part-0.parquet")
{'year': '2024', '定点机构编码': 'H/1'}
>>> parse_window("2024-01-01", None)
(datetime.date(2024, 1, 1), None)
"""

from __future__ import annotations

import os
import re
from datetime import date, datetime
from pathlib import Path
from urllib.parse import unquote

from ..errors import DataError, ParameterError
from ..schema import Table

__all__ = ["table_files", "partition_values", "parse_window"]

SUFFIXES = (".csv", ".parquet")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"


def table_files(folder: Path, table: Table) -> list[tuple[str, Path]]:
    """The files of one table: ``(name relative to the data folder, path)``, in reading order.

    Raises
    ------
    DataError
        When the table is both a file and a folder (or both .csv and .parquet), when a
        required table is missing, when its folder holds no table file or another file, or
        when a table's name is taken by something that is not a readable file (a folder
        named ``patients.csv``, a broken link, a link loop).
    """
    hits = [folder / f"{table.name}{ext}" for ext in SUFFIXES]
    for path in hits:
        _readable_file(path, path.name)
    if not (folder / table.name).is_dir():
        _readable_file(folder / table.name, table.name)  # a broken or looping link
    names = [p.name for p in hits if p.is_file()]
    if (folder / table.name).is_dir():
        names.append(f"{table.name}/")
    if len(names) > 1:
        raise DataError(names[1], "data.both_exist", first=names[0], second=names[1])
    if not names:
        if table.required:
            raise DataError(f"{table.name}.csv", "data.no_table", table=table.name,
                            folder=str(folder))
        return []
    if not names[0].endswith("/"):
        return [(names[0], folder / names[0])]
    return _folder_files(folder, folder / table.name)


def _folder_files(root: Path, sub: Path) -> list[tuple[str, Path]]:
    out = []
    for path in sub.rglob("*"):
        rel = path.relative_to(root).as_posix()
        if any(part[0] in "._" for part in path.relative_to(sub).parts) or path.is_dir():
            continue
        _readable_file(path, rel)
        if path.suffix.lower() not in SUFFIXES:
            raise DataError(rel, "data.not_table_file")
        out.append((rel, path))
    if not out:
        raise DataError(f"{sub.name}/", "data.empty_folder", folder=str(sub))
    return sorted(out)


def _lexists(path: Path) -> bool:
    """Whether anything, a broken or looping link included, has this name."""
    try:
        path.lstat()
    except OSError:
        return False
    return True


def _readable_file(path: Path, name: str) -> None:
    """Refuse a name taken by something other than a readable file (a folder, a broken
    link, a link loop); a name that nothing takes is left to the caller."""
    if _lexists(path) and not (path.is_file() and os.access(path, os.R_OK)):
        raise DataError(name, "data.not_a_file")


def partition_values(name: str) -> dict[str, str]:
    """The ``key=value`` folders of a file's relative name (values URL-decoded, as Hive
    writes them; Hive's null partition becomes an empty value)."""
    out = {}
    for part in Path(name).parts[1:-1]:
        key, eq, value = part.partition("=")
        if eq and key:
            value = unquote(value)
            out[key] = "" if value == _HIVE_NULL else value
    return out


def parse_window(since, until) -> tuple[date | None, date | None]:
    """The first and last day of a run's window (inclusive), each None when open.

    Raises
    ------
    ParameterError
        When a day is not an ISO date (``YYYY-MM-DD``) or ``until`` precedes ``since``.
    """
    first, last = _day(since, "since"), _day(until, "until")
    if first and last and last < first:
        raise ParameterError("until", "read_folder", f"a date on or after since ({first})",
                             str(until))
    return first, last


def _day(value, name: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DAY.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ParameterError(name, "read_folder", "an ISO date (YYYY-MM-DD)", value)
