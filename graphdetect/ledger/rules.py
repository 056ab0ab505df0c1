"""The integrity ledger's scoring table (医保诚信记分): rules as data, in TOML.

The table ships as ``graphdetect/ledger/rules.toml``; a bureau edits a copy and passes it
with ``--rules FILE`` (or ``GRAPHDETECT_LEDGER_RULES``). It says, per pattern or rule
category and per severity, how many points a confirmed case costs each kind of entity it
names (institution, pharmacy, doctor), optional amount bands that add points, and the tiers
a year's points put an entity in, with their sanctions in Chinese and English.

>>> rules = load_rules()
>>> rules.tier("institution", 11)["en"], rules.tier("doctor", 12)["en"]
('per-visit and total budget raised 1-5%', 'billing rights ended')
>>> case = {"pattern": "card_pooling", "rules": ["聚敛盗刷", "虚假就诊"],
...         "metrics": {"total_amount": 120000.0}}
>>> points, source = rules.points(case, "grave")
>>> points
{'institution': 13, 'pharmacy': 13, 'doctor': 12}
>>> source
{'institution': 'card_pooling', 'pharmacy': 'card_pooling', 'doctor': '虚假就诊'}
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

from ..errors import RulesError

__all__ = ["Rules", "RulesError", "load_rules", "default_rules_path", "rule_names",
           "RULES_ENV"]

#: The environment variable naming a bureau's own table (``--rules`` wins over it).
RULES_ENV = "GRAPHDETECT_LEDGER_RULES"
#: The most points one entry may give.
MAX_POINTS = 100


def default_rules_path() -> Path:
    """The table shipped with graphdetect."""
    return Path(str(files("graphdetect.ledger") / "rules.toml"))


def rule_names() -> set[str]:
    """Every name a table may give points to: each pattern's name and rule categories."""
    from ..detectors import PATTERNS

    return {n for p in PATTERNS.values() for n in (p.name, *p.rules)}


@dataclass(frozen=True)
class Rules:
    """A checked scoring table (see :func:`load_rules`).

    ``severities`` and ``kinds`` map keys to ``{"zh", "en"}``; ``table`` maps a pattern or
    rule name to severity to kind to points; ``bands`` are ``{"from_yuan", kind: points}``
    in ascending order; ``tiers`` map a kind to its tiers (``min``, ``max`` or None, ``zh``,
    ``en``) in ascending order; ``procedure`` holds the review procedure's settings
    (``committee_required``, ``committee_size``).
    """

    path: Path
    severities: dict[str, dict]
    kinds: dict[str, dict]
    table: dict[str, dict[str, dict[str, int]]]
    bands: list[dict]
    tiers: dict[str, list[dict]]
    #: ``committee_required``: a confirmation scores only after a committee's
    #: (认定会审) outcome confirmed the case; ``committee_size``: members by default.
    procedure: dict = field(default_factory=lambda: {"committee_required": False,
                                                     "committee_size": 3})

    def points(self, case: dict, severity: str) -> tuple[dict[str, int], dict[str, str]]:
        """Per entity kind, the points ``case`` costs at ``severity``, and the entry that
        gave them (the highest among the case's pattern and rule categories; the first
        in that order on a tie), plus the points of the highest amount band it reaches.

        Raises
        ------
        RulesError
            When the severity is not in the table, or no entry matches the case.
        """
        if severity not in self.severities:
            raise RulesError(self.path, "severities", "rules.no_severity", severity=severity,
                             names=", ".join(self.severities))
        names = [n for n in (case.get("pattern"), *case.get("rules", ())) if n in self.table]
        if not names:
            raise RulesError(self.path, "points", "rules.no_entry", pattern=case.get("pattern"),
                             rules=", ".join(case.get("rules", ())))
        amount = float((case.get("metrics") or {}).get("total_amount") or 0.0)
        band = next((b for b in reversed(self.bands) if amount >= b["from_yuan"]), {})
        points, source = {}, {}
        for kind in self.kinds:
            best = max(names, key=lambda n: (self.table[n][severity][kind], -names.index(n)))
            points[kind] = self.table[best][severity][kind] + band.get(kind, 0)
            source[kind] = best
        return points, source

    def tier(self, kind: str, points: int) -> dict:
        """The tier ``points`` in a year put an entity of ``kind`` in (its index as ``n``)."""
        for n, t in enumerate(self.tiers[kind]):
            if points >= t["min"] and (t["max"] is None or points <= t["max"]):
                return {**t, "n": n}
        return {**self.tiers[kind][0], "n": 0}  # below 0 (only revocations gone wrong)

    def lines(self, lang: str = "en") -> list[str]:
        """The table as text: points per entry and severity, bands, tiers."""
        zh = lang == "zh"
        kinds = list(self.kinds)
        out = [f"# {self.path}", "", ("记分项" if zh else "entry") + " / "
               + ("情节" if zh else "severity") + ": " + ", ".join(kinds)]
        for name, by_severity in self.table.items():
            for sev, pts in by_severity.items():
                word = self.severities[sev]["zh" if zh else "en"]
                out.append(f"  {name:<22} {word:<10} "
                           + "  ".join(f"{k}={pts[k]}" for k in kinds))
        if self.bands:
            out += ["", "金额档（元）" if zh else "amount bands (yuan)"]
            for b in self.bands:
                out.append(f"  >= {b['from_yuan']:<12,} " + "  ".join(
                    f"{k}=+{b.get(k, 0)}" for k in kinds))
        p = self.procedure
        out += ["", ("会审：确认须经认定会审" if zh else "committee: a confirmation scores only "
                     "after a committee confirmed it") if p["committee_required"] else
                ("会审：可选" if zh else "committee: optional"),
                (f"会审默认人数：{p['committee_size']}" if zh
                 else f"committee members by default: {p['committee_size']}")]
        for kind, tiers in self.tiers.items():
            out += ["", f"{self.kinds[kind]['zh' if zh else 'en']} ({kind})"]
            for t in tiers:
                span = f"{t['min']}-{t['max']}" if t["max"] is not None else f"{t['min']}+"
                out.append(f"  {span:<8} {t['zh' if zh else 'en']}")
        return out


def load_rules(path: str | Path | None = None) -> Rules:
    """Read and check a scoring table: ``path``, else ``GRAPHDETECT_LEDGER_RULES``, else
    the shipped one.

    Raises
    ------
    RulesError
        On the first entry that is wrong, naming it (``points.聚敛盗刷.grave.doctor``).
    """
    path = Path(path or os.environ.get(RULES_ENV) or default_rules_path())
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RulesError(path, "file", "rules.cannot_read", detail=exc.strerror) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RulesError(path, "file", "rules.not_toml", detail=exc) from None
    return _check(path, raw)


def _words(path: Path, entry: str, value) -> dict:
    if not isinstance(value, dict) or set(value) != {"zh", "en"} \
            or not all(isinstance(v, str) and v.strip() for v in value.values()):
        raise RulesError(path, entry, "rules.words")
    return value


def _int(path: Path, entry: str, value, lo: int = 0, hi: int | None = MAX_POINTS) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < lo \
            or (hi is not None and value > hi):
        span = f"{lo}-{hi}" if hi is not None else f">= {lo}"
        raise RulesError(path, entry, "rules.int", span=span, got=repr(value))
    return value


def _table(path: Path, raw: dict, key: str) -> dict:
    value = raw.get(key)
    if not isinstance(value, dict) or not value:
        raise RulesError(path, key, "rules.missing")
    return value


def _check(path: Path, raw: dict) -> Rules:
    unknown = set(raw) - {"severities", "kinds", "points", "amount_bands", "tiers",
                          "procedure"}
    if unknown:
        raise RulesError(path, sorted(unknown)[0], "rules.unknown_section")
    severities = {k: _words(path, f"severities.{k}", v)
                  for k, v in _table(path, raw, "severities").items()}
    kinds = {k: _words(path, f"kinds.{k}", v) for k, v in _table(path, raw, "kinds").items()}
    known = rule_names()
    table: dict[str, dict[str, dict[str, int]]] = {}
    for name, by_severity in _table(path, raw, "points").items():
        entry = f"points.{name}"
        if name not in known:
            raise RulesError(path, entry, "rules.not_rule")
        if not isinstance(by_severity, dict) or set(by_severity) != set(severities):
            raise RulesError(path, entry, "rules.each_severity", names=", ".join(severities))
        table[name] = {}
        for sev in severities:
            pts = by_severity[sev]
            if not isinstance(pts, dict) or set(pts) != set(kinds):
                raise RulesError(path, f"{entry}.{sev}", "rules.each_kind",
                                 names=", ".join(kinds))
            table[name][sev] = {k: _int(path, f"{entry}.{sev}.{k}", pts[k]) for k in kinds}
    bands = []
    for n, band in enumerate(raw.get("amount_bands", []), 1):
        entry = f"amount_bands[{n}]"
        if not isinstance(band, dict) or not set(band) <= {"from_yuan", *kinds}:
            raise RulesError(path, entry, "rules.band_keys", names=", ".join(kinds))
        low = _int(path, f"{entry}.from_yuan", band.get("from_yuan"), 1, None)
        if bands and low <= bands[-1]["from_yuan"]:
            raise RulesError(path, f"{entry}.from_yuan", "rules.bands_up")
        bands.append({"from_yuan": low, **{k: _int(path, f"{entry}.{k}", band[k])
                                           for k in kinds if k in band}})
    tiers_raw = _table(path, raw, "tiers")
    if set(tiers_raw) != set(kinds):
        raise RulesError(path, "tiers", "rules.tiers_each_kind", names=", ".join(kinds))
    tiers = {kind: _tiers(path, kind, tiers_raw[kind]) for kind in kinds}
    return Rules(path, severities, kinds, table, bands, tiers, _procedure(path, raw))


def _procedure(path: Path, raw: dict) -> dict:
    """The review procedure's settings, checked, with their defaults."""
    got = raw.get("procedure", {})
    if not isinstance(got, dict) or not set(got) <= {"committee_required", "committee_size"}:
        raise RulesError(path, "procedure", "rules.procedure_keys")
    required = got.get("committee_required", False)
    if not isinstance(required, bool):
        raise RulesError(path, "procedure.committee_required", "rules.bool", got=required)
    size = _int(path, "procedure.committee_size", got.get("committee_size", 3), 1, 15)
    return {"committee_required": required, "committee_size": size}


def _tiers(path: Path, kind: str, raw) -> list[dict]:
    """A kind's tiers, checked: from 0, each beginning one point after the last ends,
    the last open-ended."""
    if not isinstance(raw, list) or not raw:
        raise RulesError(path, f"tiers.{kind}", "rules.tiers_list")
    out, expect = [], 0
    for n, t in enumerate(raw, 1):
        entry = f"tiers.{kind}[{n}]"
        if not isinstance(t, dict) or not {"min", "zh", "en"} <= set(t) <= {
                "min", "max", "zh", "en", "months"}:
            raise RulesError(path, entry, "rules.tier_keys")
        low = _int(path, f"{entry}.min", t["min"], 0, None)
        if low != expect:
            raise RulesError(path, f"{entry}.min", "rules.tier_min", expect=expect, got=low)
        last = n == len(raw)
        if last and "max" in t:
            raise RulesError(path, f"{entry}.max", "rules.last_no_max")
        high = None if last else _int(path, f"{entry}.max", t.get("max"), low, None)
        _words(path, entry, {"zh": t["zh"], "en": t["en"]})
        months = _int(path, f"{entry}.months", t["months"], 1, 120) if "months" in t else None
        out.append({"min": low, "max": high, "zh": t["zh"], "en": t["en"], "months": months})
        expect = (high or 0) + 1
    return out
