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
(:func:`entries_table`) serve the evidence package too (its ``ledger.csv``).

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
from .book import Ledger
from .rules import Rules

__all__ = ["ENTRY_COLUMNS", "REPORT_COLUMNS", "entry_rows", "year_report", "write_year_report",
           "sanction_dates",
           "report_names", "check_year", "open_ledger", "entries_table", "entry_note", "words",
           "TABLE_COLUMNS"]

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

_WORDS = {
    "title": ("{year} 年度医保诚信记分报告", "Integrity ledger (医保诚信记分), {year}"),
    "as_of": ("依复核数据库 {db} 的诚信记分台账生成，记分表 {rules}；所列最近一条记录于 {at}"
              "（北京时间）。", "From the integrity ledger of the review database {db}, scoring "
              "table {rules}; the newest entry shown was recorded {at} (Beijing time)."),
    "kind_only": ("仅列{kind}。", "Only {kind} entities."),
    "empty": ("{year} 年无诚信记分记录。", "No ledger entries in {year}."),
    "overview": ("一、各主体记分、档次与处理", "1. Points, tier and sanction per entity"),
    "cases": ("二、记分所依据的案件", "2. The cases behind the points"),
    "net": ("记分为撤销后的净分；档次与处理依记分表。完整数据见 {csv}。",
            "Points are net of revocations; tiers and sanctions are the scoring table's. "
            "Every field is in {csv}."),
    "entity": ("{kind} {id}：{points} 分，{tier}，{sanction}",
               "{kind} {id}: {points} points, {tier}: {sanction}"),
    "points": ("{span} 分", "{span} points"),
    "revokes": ("撤销第 {n} 条：{reason}", "revokes entry {n}: {reason}"),
    "revoked": ("{reason}（已由第 {n} 条撤销）", "{reason} (revoked by entry {n})"),
    "header": ("医保基金监管 · {year} 年度诚信记分", "Medical insurance fund supervision · "
               "integrity ledger {year}"),
    "footer": ("graphdetect {version} 依诚信记分台账生成；记分以复核确认的案件为据。",
               "Made by graphdetect {version} from the integrity ledger; points rest on "
               "confirmed cases."),
    "wrote": ("{csv}、{pdf}：{year} 年 {entities} 个主体，{entries} 条记录",
              "{csv}, {pdf}: {entities} entities, {entries} entries in {year}"),
    "wrote_empty": ("{csv}、{pdf}：{year} 年无诚信记分记录",
                    "{csv}, {pdf}: no ledger entries in {year}"),
    "bad_year": ("应为 {lo} 至 {hi} 之间的年份", "must be a year from {lo} to {hi}"),
    "no_db": ("没有复核数据库", "no review database there"),
    "not_db": ("不是复核数据库（{detail}）", "not a review database ({detail})"),
    "not_folder": ("不是文件夹", "not a folder"),
    "overview_head": (("序号", "类别", "主体编号", "记分", "条目", "档次", "处理"),
                      ("#", "kind", "entity", "points", "entries", "tier", "sanction")),
    "entries_head": (("条目", "主体", "年度", "案件编号", "检测运行", "记分项", "情节", "分值",
                      "认定人", "认定时间", "说明"),
                     ("entry", "entity", "year", "case", "run", "rule", "severity", "points",
                      "decided by", "decided at", "note")),
}


def words(key: str, lang: str = "en", **args):
    """The report's words ``key`` in ``lang`` (``"zh"`` or ``"en"``), filled with ``args``."""
    zh, en = _WORDS[key]
    chosen = zh if lang == "zh" else en
    return chosen.format(**args) if isinstance(chosen, str) else chosen


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


def sanction_dates(standing: dict, lang: str) -> str:
    """When a standing's sanction runs, as text to follow it ("" in the lowest tier).

    >>> sanction_dates({"since": "2026-04-02", "until": "2026-05-02"}, "zh")
    '（2026-04-02 至 2026-05-02）'
    >>> sanction_dates({"since": "2026-03-02", "until": ""}, "en")
    ' (from 2026-03-02)'
    """
    since, until = standing.get("since"), standing.get("until")
    if not since:
        return ""
    if lang == "zh":
        return f"（{since} 至 {until}）" if until else f"（自 {since} 起）"
    return f" ({since} to {until})" if until else f" (from {since})"


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
            lambda st, width, wide, height: _story(entities, st, wide, year=year, rules=rules,
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


def entry_note(row: dict, lang: str = "zh") -> str:
    """An entry row's note: its reason, what it revokes or what revoked it.

    >>> entry_note({"revokes": 3, "revoked_by": None, "reason": "复议撤销"})
    '撤销第 3 条：复议撤销'
    >>> entry_note({"revokes": None, "revoked_by": 4, "reason": "核实"}, "en")
    '核实 (revoked by entry 4)'
    """
    reason = row.get("reason") or ""
    if row.get("revokes") is not None:
        return words("revokes", lang, n=row["revokes"], reason=reason)
    if row.get("revoked_by") is not None:
        return words("revoked", lang, n=row["revoked_by"], reason=reason)
    return reason


#: The columns :func:`entries_table` may show, with their relative widths.
TABLE_COLUMNS = {"entry": 1.1, "entity": 3.4, "year": 1.1, "case": 2.2, "run": 3.2,
                 "rule": 2.6, "severity": 1.7, "points": 1.1, "decided_by": 1.8,
                 "decided_at": 3.0, "note": 5.6}


def entries_table(rows: list[dict], st: dict, width: float, *, lang: str = "zh",
                  rules: Rules | None = None, columns=tuple(TABLE_COLUMNS)) -> list:
    """Entry rows as a PDF table (reportlab flowables, in the export's building blocks),
    in ``columns`` of :data:`TABLE_COLUMNS`: entry, entity, year, case, run, rule,
    severity, points, who decided and when (Beijing time), and the note
    (:func:`entry_note`)."""
    from ..export._flow import CELL, WIDE, P, beijing, fit, table

    heads = dict(zip(TABLE_COLUMNS, words("entries_head", lang), strict=True))
    total = sum(TABLE_COLUMNS[c] for c in columns)
    cols = [TABLE_COLUMNS[c] * width / total for c in columns]
    body = []
    for r in rows:
        cells = {"entry": r["entry"], "year": r["year"], "case": r["case_id"],
                 "run": r["run_id"], "rule": rule_word(r["rule"], lang),
                 "severity": severity_word(r["severity"], lang, rules),
                 "points": f"{r['points']:+d}", "decided_by": r["decided_by"],
                 "decided_at": beijing(r["decided_at"])}
        line = []
        for c, w in zip(columns, cols, strict=True):
            if c == "entity":
                line.append(P(f"{kind_word(r['entity_kind'], lang, rules)} {r['entity_id']}",
                              st["cell"], CELL))
            elif c == "note":
                line.append(P(entry_note(r, lang), st["cell"], WIDE))
            else:
                line.append(fit(cells[c], w - 6, 7.8))
        body.append(line)
    right = tuple(i for i, c in enumerate(columns) if c in ("entry", "points"))
    return table([heads[c] for c in columns], body, cols, right=right)


def kind_word(kind: str, lang: str, rules: Rules | None) -> str:
    if rules is not None and kind in rules.kinds:
        return rules.kinds[kind]["zh" if lang == "zh" else "en"]
    return kind


def severity_word(severity: str, lang: str, rules: Rules | None) -> str:
    if rules is not None and severity in rules.severities:
        return rules.severities[severity]["zh" if lang == "zh" else "en"]
    return severity


def rule_word(rule: str, lang: str) -> str:
    """A pattern's name or a rule category, as people read it in ``lang``."""
    from ..detectors import PATTERNS
    from ..explain import pattern_name, rule_label

    return pattern_name(rule, lang) if rule in PATTERNS else rule_label(rule, lang)


def _tier_span(kind: str, n: int | str, rules: Rules, lang: str) -> str:
    if kind not in rules.tiers or n == "":
        return ""
    t = rules.tiers[kind][n]
    span = f"{t['min']}-{t['max']}" if t["max"] is not None else f"{t['min']}+"
    return words("points", lang, span=span)


#: The columns of an entity's entries in the report (the entity is the heading).
_PER_ENTITY = ("entry", "case", "run", "rule", "severity", "points", "decided_by",
               "decided_at", "note")


def _story(entities: list[dict], st: dict, width: float, *, year: int, rules: Rules,
           lang: str, kind: str | None, source: str, newest: str | None,
           csv_name: str) -> list:
    """The report's flowables, on landscape pages ``width`` wide."""
    from ..export._flow import CELL, WIDE, P, beijing, fit, table, together

    sanction = "sanction_zh" if lang == "zh" else "sanction_en"
    out = [P(words("title", lang, year=year), st["title"])]
    if newest:
        out.append(P(words("as_of", lang, db=source, rules=rules.path.name, at=beijing(newest)),
                     st["subtitle"]))
    if kind:
        out.append(P(words("kind_only", lang, kind=kind_word(kind, lang, rules)), st["body"]))
    if not entities:
        return out + [P(words("empty", lang, year=year), st["note"])]
    w = [0.8, 3.2, 4.0, 1.3, 1.3, 2.4, 9.0]
    cols = [x * width / sum(w) for x in w]
    rows = [[i, fit(kind_word(e["entity_kind"], lang, rules), cols[1] - 6, 7.8),
             fit(e["entity_id"], cols[2] - 6, 7.8), e["points"], e["entries"],
             fit(_tier_span(e["entity_kind"], e["tier"], rules, lang), cols[5] - 6, 7.8),
             P(e[sanction] + sanction_dates(e, lang), st["cell"], CELL)]
            for i, e in enumerate(entities, start=1)]
    out += together([P(words("overview", lang), st["h1"]),
                     P(words("net", lang, csv=csv_name), st["body"])],
                    table(list(words("overview_head", lang)), rows, cols, right=(0, 3, 4)))
    out.append(P(words("cases", lang), st["h1"]))
    for e in entities:
        line = words("entity", lang, kind=kind_word(e["entity_kind"], lang, rules),
                     id=e["entity_id"], points=e["points"],
                     tier=_tier_span(e["entity_kind"], e["tier"], rules, lang),
                     sanction=e[sanction])
        out += together(P(line, st["h2"], WIDE),
                        entries_table(e["cases"], st, width, lang=lang, rules=rules,
                                      columns=_PER_ENTITY))
    return out
