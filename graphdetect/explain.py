"""The one place where a case's words are made: its explanation, pattern name and rule labels.

Detectors return findings as data (entities with roles, metrics, details); each pattern's
:class:`~graphdetect.detectors.Pattern` says how its explanation reads. Callers choose how
an entity is written — with its name, as an id, masked, or as a blind serial — by passing
``name(kind, id)``, so nothing ever edits a finished sentence.
"""

from __future__ import annotations

from collections.abc import Callable

from .detectors import PATTERNS

__all__ = ["explain", "pattern_name", "rule_label", "metric_label", "metric_value"]

LANGS = ("zh", "en")


def _plain(kind: str, id: str) -> str:
    return str(id)


def explain(case: dict, lang: str = "zh", name: Callable[[str, str], str] | None = None) -> str:
    """A case's explanation in ``lang``, with every entity written by ``name(kind, id)``.

    Cases of runs made before explanations were rendered (no ``details``), or of a
    pattern this version does not know, keep the text they were stored with.

    Examples
    --------
    >>> case = {"pattern": "split_stay", "members": [],
    ...         "metrics": {"stays": 2, "min_gap_days": 1, "total_amount": 9000.0},
    ...         "details": {"patient": "P1", "institution": "H1", "first_discharge":
    ...                     "2024-01-10", "readmitted": "2024-01-11", "first_gap_days": 1,
    ...                     "diagnosis": "I63.9"}}
    >>> explain(case, "en", lambda kind, id: f"<{id}>")[:40]
    'Patient <P1> was discharged from <H1> on'
    """
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}; got {lang!r}")
    pattern = PATTERNS.get(case.get("pattern"))
    if pattern is None or "details" not in case:
        return case.get("explanation" if lang == "zh" else "explanation_en", "") or ""
    return pattern.explain(case, lang, name or _plain)


def pattern_name(pattern: str, lang: str = "zh") -> str:
    """A pattern's name for people (the pattern's own key when unknown).

    >>> pattern_name("split_stay"), pattern_name("split_stay", "en")
    ('分解住院', 'Split admissions')
    """
    p = PATTERNS.get(pattern)
    if p is None:
        return pattern
    return p.zh if lang == "zh" else p.en


def rule_label(rule: str, lang: str = "zh") -> str:
    """A rule category as shown in ``lang`` (rules are stored in Chinese).

    >>> rule_label("分解住院", "en")
    'split admission'
    """
    if lang == "zh":
        return rule
    for p in PATTERNS.values():
        if rule in p.rules:
            return p.rules[rule]
    return rule


def metric_label(pattern: str, key: str, lang: str = "zh") -> str:
    """A metric's label as its pattern declares it (the key itself when undeclared).

    >>> metric_label("split_stay", "min_gap_days"), metric_label("split_stay", "x")
    ('最短间隔天数', 'x')
    """
    p = PATTERNS.get(pattern)
    label = p.metrics.get(key) if p else None
    if label is None:
        return key
    return label[0] if lang == "zh" else label[1]


#: How a number of each unit reads, per language (``{:,}`` puts in thousands separators).
_UNIT_WORDS = {"days": ("天", "days"), "minutes": ("分钟", "mins")}


def _number(v: float) -> str:
    """``1204`` → ``1,204``; ``29.0`` → ``29``; ``4.35`` → ``4.35`` (at most 2 decimals)."""
    return f"{round(float(v), 2):,.2f}".rstrip("0").rstrip(".")


def money(value: float, digits: int = 2) -> str:
    """Yuan as every page, PDF and message shows them, in either language.

    >>> money(884369.771), money(84000, 0)
    ('¥884,369.77', '¥84,000')
    """
    return f"¥{value:,.{digits}f}"


def metric_value(pattern: str, key: str, value, lang: str = "zh") -> str:
    """A metric's value with the unit its pattern declares: a share as a percent, money
    in yuan with thousands, days, minutes, a count, a multiple; ``—`` when missing.

    >>> [metric_value("collusion_ring", k, v, "en") for k, v in [("elderly_share", 0.905),
    ...  ("total_amount", 884369.77), ("median_stay_days", 5.0), ("burst", 58.0)]]
    ['90.5%', '¥884,369.77', '5 days', '58×']
    """
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return "—" if value is None else str(value)
    p = PATTERNS.get(pattern)
    label = p.metrics.get(key) if p else None
    unit = label[2] if label else "number"
    if unit == "percent":
        return f"{value * 100:.1f}%"
    if unit == "yuan":
        return money(value)
    if unit == "times":
        return f"{_number(value)}×"
    if unit in _UNIT_WORDS:
        word = _UNIT_WORDS[unit][lang == "en"]
        return f"{_number(value)} {word[:-1] if lang == 'en' and value == 1 else word}"
    return _number(value)
