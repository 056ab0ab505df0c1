"""The ledger report's words and PDF layout: the yearly report's story, and the table of
entry rows it shares with the evidence package (:mod:`graphdetect.export._ledger`).

>>> words("empty", "zh", year=2024)
'2024 年无诚信记分记录。'
"""

from __future__ import annotations

from .rules import Rules

__all__ = ["words", "sanction_dates", "entry_note", "TABLE_COLUMNS", "entries_table",
           "kind_word", "severity_word", "rule_word", "story"]

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


def story(entities: list[dict], st: dict, width: float, *, year: int, rules: Rules,
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
