"""The ledger's yearly report: each entity's points, tier and sanction, with the cases
behind them, as CSV and PDF (``graphdetect ledger report``).

``ledger-YEAR.csv`` has one row per ledger entry of the year (revocations included), each
with its entity's net points, tier and sanction (both languages), so that a spreadsheet
can filter and sum it; every cell passes :func:`graphdetect.cells.safe_cell`.
``ledger-YEAR.pdf`` shows the same in the command's language: an overview, one row per
entity, then per entity the entries behind its points, a revocation with its reason. The
PDF is laid out by the evidence package's :func:`graphdetect.export.pdf.build_pdf`, in the
same embedded CJK font, dated with the newest entry it shows, so the same ledger gives the
same bytes. Both files are written together, or neither.

The entry rows (:data:`ENTRY_COLUMNS`, :func:`entry_rows`) and their table in a PDF
(:func:`entries_table`, laid out in :mod:`._layout` with the report's words) serve the
evidence package too (its ``ledger.csv``).

>>> words("empty", "zh", year=2024)
'2024 年无诚信记分记录。'
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from .. import __version__
from ..cells import csv_bytes
from ..errors import LedgerError
from ._layout import (
    TABLE_COLUMNS,
    entries_table,
    entry_note,
    kind_word,
    sanction_dates,
    story,
    words,
)
from .book import Ledger
from .rules import Rules

__all__ = ["ENTRY_COLUMNS", "REPORT_COLUMNS", "entry_rows", "year_report", "write_year_report",
           "sanction_dates", "report_names", "check_year", "open_ledger", "entries_table",
           "entry_note", "kind_word", "words", "TABLE_COLUMNS"]

#: The columns of an entry (the package's ``ledger.csv``), in order.
ENTRY_COLUMNS = ("entry", "entity_kind", "entity_id", "year", "points", "case_id", "case_key",
                 "run_id", "rule", "severity", "decided_by", "decided_at", "recorded_by",
                 "recorded_at", "revokes", "revoked_by", "reason")
#: Each entity's standing, repeated on each of its entries in ``ledger-YEAR.csv``.
_ENTITY = ("year", "entity_kind", "entity_id", "total_points", "entries", "tier",
           "sanction_zh", "sanction_en", "since", "until")
#: The columns of ``ledger-YEAR.csv``, in order.
REPORT_COLUMNS = _ENTITY + tuple(c for c in ENTRY_COLUMNS if c not in _ENTITY)
#: The years a report may be asked for.
YEARS = (1900, 2100)

def check_year(text: str | int) -> int:
    """``--year`` as a year from 1900 to 2100.

    Raises
    ------
    LedgerError
        When it is not a whole number in that span (one line, in the user's language).

    Examples
    --------
    >>> check_year("2024")
    2024
    >>> check_year("20x4")
    Traceback (most recent call last):
    ...
    graphdetect.errors.LedgerError: --year 20x4: must be a year from 1900 to 2100
    """
    try:
        year = int(str(text).strip())
    except ValueError:
        year = None
    if year is None or not YEARS[0] <= year <= YEARS[1]:
        lo, hi = YEARS
        raise LedgerError("data.in_file", file=f"--year {text}",
                          problem=lambda lang: words("bad_year", lang, lo=lo, hi=hi))
    return year


def open_ledger(db: str | Path) -> Ledger:
    """The ledger of the review database ``db``, which must exist (a report never makes
    one).

    Raises
    ------
    LedgerError
        When ``db`` is not a file, or not an SQLite database.
    """
    from ..review.store import ReviewStore

    db = Path(db)
    if not db.is_file():
        raise LedgerError("data.in_file", file=str(db), problem=lambda lang: words("no_db", lang))
    try:
        return Ledger(ReviewStore(db))
    except sqlite3.DatabaseError as exc:
        detail = str(exc)
        raise LedgerError("data.in_file", file=str(db),
                          problem=lambda lang: words("not_db", lang, detail=detail)) from None


def entry_rows(entries: list[dict]) -> list[dict]:
    """Ledger entries (as :meth:`Ledger.entries` gives them) as rows of
    :data:`ENTRY_COLUMNS`: ``entry`` is the id, ``revoked_by`` the id of the revocation of
    an entry that was revoked (among ``entries``).

    >>> rows = entry_rows([{"id": 1, "points": 6, "revokes": None, "reason": "核实"},
    ...                    {"id": 2, "points": -6, "revokes": 1, "reason": "复议撤销"}])
    >>> [(r["entry"], r["points"], r["revokes"], r["revoked_by"]) for r in rows]
    [(1, 6, None, 2), (2, -6, 1, None)]
    """
    revoked_by = {e["revokes"]: e["id"] for e in entries if e.get("revokes") is not None}
    return [{**{c: e.get(c) for c in ENTRY_COLUMNS}, "entry": e["id"],
             "revoked_by": revoked_by.get(e["id"])} for e in entries]


def year_report(ledger: Ledger, year: int, rules: Rules, kind: str | None = None) -> list[dict]:
    """Each entity with entries in ``year`` (of ``kind`` only, if given), most points
    first: its standing (:meth:`Ledger.standing`) and ``"cases"``, its entry rows
    (:func:`entry_rows`), oldest first.

    Raises
    ------
    LedgerError
        When ``kind`` is not a kind of the table.
    """
    if kind is not None and kind not in rules.kinds:
        raise LedgerError("ledger.bad_kind", kind=kind, kinds=", ".join(rules.kinds))
    rows = entry_rows(ledger.entries(year=year))
    out = []
    for s in ledger.standing(year, rules, kind):
        mine = [r for r in rows if (r["entity_kind"], r["entity_id"])
                == (s["entity_kind"], s["entity_id"])]
        out.append({**s, "cases": mine})
    return out


def report_names(year: int, kind: str | None = None) -> tuple[str, str]:
    """The CSV's and the PDF's file names.

    >>> report_names(2024), report_names(2024, "doctor")[1]
    (('ledger-2024.csv', 'ledger-2024.pdf'), 'ledger-2024-doctor.pdf')
    """
    stem = f"ledger-{year}" + (f"-{kind}" if kind else "")
    return f"{stem}.csv", f"{stem}.pdf"


def write_year_report(entities: list[dict], out: str | Path, *, year: int, rules: Rules,
                      lang: str = "en", kind: str | None = None, source: str = "") -> tuple[
                          Path, Path]:
    """Write ``ledger-YEAR.csv`` and ``ledger-YEAR.pdf`` (``ledger-YEAR-KIND.*`` for one
    kind) of :func:`year_report`'s ``entities`` into the folder ``out``; both, or neither
    (an earlier report there is replaced only when both are written).

    Parameters
    ----------
    entities : list of dict
        :func:`year_report` of the year; empty, the report says there are no entries.
    out : str or Path
        The folder (made if missing).
    year : int
        The year reported.
    rules : Rules
        The scoring table the standing was computed with (its words and tiers).
    lang : str
        The PDF's language, ``"zh"`` or ``"en"``; the CSV holds both.
    kind : str, optional
        The entity kind the report is limited to.
    source : str
        The review database's name, for the PDF.

    Raises
    ------
    LedgerError
        When ``out`` is not a folder.
    ExportError
        When the CJK font is missing or the PDF cannot be laid out.

    Examples
    --------
    >>> import tempfile
    >>> from graphdetect.ledger import load_rules
    >>> csv, pdf = write_year_report([], tempfile.mkdtemp(), year=2024, rules=load_rules())
    >>> csv.read_text(encoding="utf-8-sig").split(",")[:4], pdf.name
    (['year', 'entity_kind', 'entity_id', 'total_points'], 'ledger-2024.pdf')
    """
    from ..export.pdf import build_pdf

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise LedgerError("data.in_file", file=str(out),
                          problem=lambda lang_: words("not_folder", lang_))
    csv_name, pdf_name = report_names(year, kind)
    shown = [e for ent in entities for e in ent["cases"]]
    newest = max((e["recorded_at"] for e in shown), default=None)
    created = (datetime.fromisoformat(newest) if newest
               else datetime(year, 1, 1, tzinfo=UTC))
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".ledger-report-", dir=out))
    try:
        (tmp / csv_name).write_bytes(csv_bytes(REPORT_COLUMNS, (
            [{**{c: ent.get(c) for c in _ENTITY}, "total_points": ent["points"], **e}[c]
             for c in REPORT_COLUMNS] for ent in entities for e in ent["cases"])))
        build_pdf(
            tmp / pdf_name,
            lambda st, width, wide, height: story(entities, st, wide, year=year, rules=rules,
                                                   lang=lang, kind=kind, source=source,
                                                   newest=newest, csv_name=csv_name),
            title=words("title", lang, year=year), subject=f"ledger {year}",
            header=words("header", lang, year=year),
            footer=words("footer", lang, version=__version__), created=created,
            what=f"the ledger report of {year}", lang=lang, first="landscape")
        for name in (csv_name, pdf_name):
            os.chmod(tmp / name, 0o600)  # reasons may name people
        for name in (csv_name, pdf_name):
            os.replace(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out / csv_name, out / pdf_name
