"""What the review database holds on a case's outcome, in its evidence package.

Each outcome is one *part*: the package's files of it and its section of the report,
made by one function from the rows the review database holds. :func:`ledger_part` makes
the part of the integrity ledger (``ledger.csv`` and "诚信记分" in the report's review
section) from the case's ledger entries. The committees' and appeals' part (their
outcomes, the agreement, the appeals' attachments with SHA-256) is made beside it by
:func:`graphdetect.export._appeals.appeal_part`, and follows it in the report.

A package exported without the review database holds no ``ledger.csv`` and its report
says the ledger was not consulted; with the database, ``ledger.csv`` is always there (its
header alone when the case has no entries) and the report says "无诚信记分记录".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..cells import csv_bytes
from ..errors import RulesError
from ..ledger.report import ENTRY_COLUMNS, entries_table, entry_rows, kind_word
from ..ledger.rules import Rules, load_rules
from ._flow import WIDE, P, together
from ._tables import Masker

__all__ = ["LEDGER", "Part", "ledger_part", "review_parts"]

#: The package's file of the case's ledger entries.
LEDGER = "ledger.csv"
#: The columns of the report's table (the case and its runs are the package's own; the
#: run an entry was scored in is in ledger.csv).
_COLUMNS = ("entry", "entity", "year", "rule", "severity", "points", "decided_by",
            "decided_at", "note")


@dataclass(frozen=True)
class Part:
    """What one outcome of the review adds to a package.

    Attributes
    ----------
    files : dict
        File name -> bytes, listed in the manifest like every other file.
    section : callable
        ``section(styles, width)``: the report's flowables of it, placed in the review
        section (七、复核记录) after the review history.
    """

    files: dict[str, bytes] = field(default_factory=dict)
    section: Callable[[dict, float], list] = lambda st, width: []


def review_parts(ledger: list[dict] | None, masker: Masker) -> list[Part]:
    """The parts of a package from the review database, in the report's order."""
    return [ledger_part(ledger, masker)]


def ledger_part(entries: list[dict] | None, masker: Masker | None = None) -> Part:
    """The case's ledger entries as ``ledger.csv`` and a section of the report.

    Parameters
    ----------
    entries : list of dict or None
        The case's entries as :meth:`graphdetect.ledger.Ledger.entries` gives them
        (revocations included), oldest first; None when the package was exported without
        the review database.
    masker : Masker, optional
        Masks patient and card ids in the entries' reasons, as in the review notes.

    Examples
    --------
    >>> part = ledger_part([])
    >>> part.files["ledger.csv"].decode("utf-8-sig").split(",")[:3]
    ['entry', 'entity_kind', 'entity_id']
    >>> ledger_part(None).files
    {}
    """
    if entries is None:
        return Part(section=lambda st, width: _section(None, st, width, None))
    rows = [dict(r, reason=masker.text(r["reason"] or "") if masker else r["reason"])
            for r in entry_rows(entries)]
    data = csv_bytes(ENTRY_COLUMNS, ([r[c] for c in ENTRY_COLUMNS] for r in rows))
    rules = _rules()
    return Part({LEDGER: data}, lambda st, width: _section(rows, st, width, rules))


def _section(rows: list[dict] | None, st: dict, width: float, rules: Rules | None) -> list:
    head = P("诚信记分", st["h2"])
    if rows is None:
        return [head, P("导出时未提供复核数据库：未查阅诚信记分台账。", st["body"])]
    if not rows:
        return [head, P("本案件无诚信记分记录（no ledger entries）：复核数据库的诚信记分台账中"
                        "没有本案件的记分；附件 ledger.csv 仅有表头。", st["body"])]
    net: dict[tuple[str, str], int] = {}
    for r in rows:
        net[r["entity_kind"], r["entity_id"]] = net.get((r["entity_kind"], r["entity_id"]),
                                                         0) + r["points"]
    said = "；".join(f"{kind_word(k, 'zh', rules)} {e} {p} 分" for (k, e), p in net.items())
    intro = [head, P(f"本案件在诚信记分台账中的 {len(rows)} 条记录（正分为记分，负分为撤销；"
                     f"完整数据见 ledger.csv）。撤销后净记分：{said}。", st["body"], WIDE)]
    return together(intro, entries_table(rows, st, width, lang="zh", rules=rules,
                                         columns=_COLUMNS))


def _rules() -> Rules | None:
    """The scoring table, for its words only (the shipped one, or the bureau's)."""
    try:
        return load_rules()
    except RulesError:
        return None
