"""The one settings registry: every tunable number, its default and its help.

Detector parameters are read from the detectors' own signatures and :class:`Param`
records; the case-level settings are declared here. The CLI (``--set``, ``--config``),
``summary.json`` and the README's table all come from :func:`registry`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .detectors import REGISTRY
from .detectors._base import int_at_least, number_in
from .errors import GraphdetectError, ParameterError

__all__ = ["Setting", "registry", "resolve", "markdown_table"]


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    expected: str
    check: Any

    @property
    def section(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def key(self) -> str:
        return self.name.split(".", 1)[1]


_CASES = [
    Setting("cases.min_score", 0.5, "Findings scoring below this are not reported as cases.",
            "a number in [0, 1]", number_in(0, 1)),
    Setting("cases.max_cases", 100000, "At most this many cases are written, best first.",
            "an int >= 1", int_at_least(1)),
    Setting("lineage.min_overlap", 0.5, "A case continues an earlier case of its pattern when "
            "this share of the smaller one's core members is in both (--previous, diff).",
            "a number in (0, 1]", lambda v: number_in(0, 1)(v) and v > 0),
]


def registry() -> dict[str, Setting]:
    """Every setting by its dotted name (``detector.parameter``), in a stable order.

    >>> registry()["collusion_ring.min_occasions"].default
    3
    """
    out = {s.name: s for s in _CASES}
    for name in sorted(REGISTRY):
        det = REGISTRY[name]
        for key, value in det.defaults().items():
            p = det.params[key]
            out[f"{name}.{key}"] = Setting(f"{name}.{key}", value, p.help, p.expected, p.check)
    return out


def _coerce(setting: Setting, value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        try:
            value = float(text) if isinstance(setting.default, float) else int(text)
        except ValueError:
            raise ParameterError(setting.key, setting.section, setting.expected, value) from None
    if isinstance(setting.default, float) and isinstance(value, int) and \
            not isinstance(value, bool):
        value = float(value)
    if not setting.check(value):
        raise ParameterError(setting.key, setting.section, setting.expected, value)
    return value


def resolve(config: str | Path | None = None, overrides: Iterable[str] = ()) -> dict[str, Any]:
    """Defaults, then a TOML file's values, then ``NAME=VALUE`` overrides.

    Examples
    --------
    >>> resolve(overrides=["split_stay.max_gap_days=3"])["split_stay.max_gap_days"]
    3
    """
    table = registry()
    values = {name: s.default for name, s in table.items()}
    given: dict[str, Any] = {}
    if config is not None:
        path = Path(config)
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise GraphdetectError(f"{path}: not a readable TOML settings file ({exc})") from None
        for section, entries in doc.items():
            if not isinstance(entries, dict):
                raise GraphdetectError(f"{path}: {section!r} must be a [section] of settings")
            for key, value in entries.items():
                given[f"{section}.{key}"] = value
    for item in overrides:
        name, sep, value = item.partition("=")
        if not sep:
            raise GraphdetectError(f"--set takes NAME=VALUE; got {item!r}")
        given[name.strip()] = value
    for name, value in given.items():
        if name not in table:
            raise GraphdetectError(f"unknown setting {name!r}; 'graphdetect settings' lists them")
        values[name] = _coerce(table[name], value)
    return values


def for_detector(values: dict[str, Any], name: str) -> dict[str, Any]:
    prefix = name + "."
    return {k[len(prefix):]: v for k, v in values.items() if k.startswith(prefix)}


def markdown_table() -> str:
    """The settings as the README's Markdown table."""
    lines = ["| setting | default | meaning |", "|---|---|---|"]
    for s in registry().values():
        lines.append(f"| `{s.name}` | {s.default} | {s.help} |")
    return "\n".join(lines)
