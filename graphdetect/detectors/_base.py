"""What every detector shares: the Pattern it reports, parameters, the Finding record, the registry.

A fraud pattern is one module under ``graphdetect/detectors/``: its detector function and,
registered beside it with :func:`detector`, a :class:`Pattern` carrying everything the rest
of the product needs to know about it (case-id prefix, names, rule categories, role weights,
the data it needs, how its explanation reads). Nothing else lists patterns by name.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from types import MappingProxyType
from typing import Any

from ..errors import ParameterError
from ..roles import CONTEXT_ROLES

__all__ = ["Param", "Pattern", "Finding", "Detector", "REGISTRY", "PATTERNS", "UNITS",
           "CONTEXT_ROLES", "detector"]

#: The units a metric may be shown in (:func:`graphdetect.explain.metric_value`): a share
#: or relative spread (0.905 → 90.5%), money (¥ with thousands), days, minutes, a count,
#: a multiple (58×), or a plain number.
UNITS = ("percent", "yuan", "days", "minutes", "count", "times", "number")

#: ``name(kind, id) -> str``: how an entity is written in an explanation.
Namer = Callable[[str, str], str]


@dataclass(frozen=True)
class Param:
    """One detector parameter: its help text and the check its value must pass.

    ``expected`` completes the sentence "must be ..." of the error message.
    """

    name: str
    help: str
    expected: str
    check: Callable[[Any], bool]
    type: type = int


def int_at_least(lo: int) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= lo


def number_in(lo: float, hi: float) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int | float) and not isinstance(v, bool) and lo <= v <= hi


def _frozen(d: Mapping | None) -> Mapping:
    return MappingProxyType(dict(d or {}))


@dataclass(frozen=True)
class Pattern:
    """Everything the product knows about one fraud pattern.

    Parameters
    ----------
    name : str
        The contract's ``pattern`` value, e.g. ``"card_pooling"``.
    prefix : str
        Case-id prefix (``K`` gives ``K-0001``).
    zh, en : str
        The pattern's name for people, in Chinese and English.
    rules : mapping of str to str
        Every rule category (Chinese, as cases carry them) the pattern may name, with its
        English label.
    explain : callable
        ``explain(case, lang, name) -> str``: the case's explanation in ``lang`` ("zh" or
        "en"), rendered from its ``metrics`` and ``details``, writing every entity with
        ``name(kind, id)`` so that callers can name, mask or number entities.
    role_weights : mapping of str to float
        Share of a case's score an entity in a role carries into its entity score
        (roles not listed carry 1).
    needs : mapping of str to str
        Data capabilities the detector uses (see :data:`graphdetect.run.CAPABILITIES`) and,
        for each, what goes unchecked when the data lacks it.
    metrics : mapping of str to (str, str, str)
        Each metric key its findings carry, with its label in Chinese and English and its
        unit, one of :data:`UNITS` (the unit goes with the value, never in the label), for
        the review UI and the report.
    after : tuple of str
        Patterns whose detectors this one reuses the work of (outpatient_gathering reads
        card_pooling's lockstep groups): a run starts it once every other detector has
        started, so that it never holds a thread waiting for theirs.
    """

    name: str
    prefix: str
    zh: str
    en: str
    rules: Mapping[str, str]
    explain: Callable[[dict, str, Namer], str]
    role_weights: Mapping[str, float] = field(default_factory=dict)
    needs: Mapping[str, str] = field(default_factory=dict)
    metrics: Mapping[str, tuple[str, str, str]] = field(default_factory=dict)
    after: tuple[str, ...] = ()

    def __post_init__(self):
        for name in ("rules", "role_weights", "needs", "metrics"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        for key, label in self.metrics.items():
            if len(label) != 3 or label[2] not in UNITS:
                raise ValueError(f"The metric {key!r} of pattern {self.name} must be declared "
                                 f"as (zh, en, unit) with a unit among {', '.join(UNITS)}; "
                                 f"got {label!r}.")


@dataclass
class Finding:
    """One suspicious structure a detector found, as data: entities, evidence, facts.

    ``members`` are ``(kind, id, role)`` triples; ``claim_ids`` the evidence claims;
    ``metrics`` the numbers behind the score; ``details`` any further structured facts
    the explanation is rendered from (plain JSON values, entities as ids). Words are
    rendered from these by the pattern's ``explain``, never stored by the detector.
    """

    pattern: str
    score: float
    members: list[tuple[str, str, str]]
    claim_ids: list[str]
    rules: list[str]
    metrics: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    detector: str = ""

    def to_dict(self) -> dict:
        d = asdict(self)
        d["members"] = [list(m) for m in self.members]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Finding:
        d = dict(d)
        d["members"] = [tuple(m) for m in d["members"]]
        return cls(**d)


@dataclass(frozen=True)
class Detector:
    """A registered detector: its function, the pattern it reports and its parameters."""

    name: str
    pattern: Pattern
    func: Callable
    params: dict[str, Param]

    def defaults(self) -> dict[str, Any]:
        sig = inspect.signature(self.func)
        return {n: sig.parameters[n].default for n in self.params}


REGISTRY: dict[str, Detector] = {}
PATTERNS: dict[str, Pattern] = {}


def detector(pattern: Pattern, params: list[Param]):
    """Register a detector function for ``pattern`` and check its keyword arguments on every call.

    The function's keyword-only defaults are the parameters' defaults; every
    parameter must be documented by a :class:`Param`.
    """

    def wrap(func: Callable) -> Callable:
        name = func.__name__
        table = {p.name: p for p in params}
        sig = inspect.signature(func)
        kw = [n for n, p in sig.parameters.items() if p.kind is p.KEYWORD_ONLY]
        if sorted(kw) != sorted(table):
            raise TypeError(f"{name}: keyword parameters {kw} and Params {list(table)} differ")
        taken = {p.prefix: p.name for p in PATTERNS.values() if p.name != pattern.name}
        if pattern.prefix in taken:
            raise TypeError(f"{name}: case-id prefix {pattern.prefix!r} is taken by "
                            f"{taken[pattern.prefix]}")

        @functools.wraps(func)
        def run(graph, **kwargs):
            for key, value in kwargs.items():
                p = table.get(key)
                if p is None:
                    raise ParameterError(key, name, f"one of {', '.join(sorted(table))}", value)
                if not p.check(value):
                    raise ParameterError(key, name, p.expected, value)
            findings = func(graph, **kwargs)
            for f in findings:
                f.detector = name
                unknown = set(f.rules) - set(pattern.rules)
                if unknown:
                    raise TypeError(f"{name}: rule categories {sorted(unknown)} are not declared "
                                    f"in its Pattern")
            return findings

        REGISTRY[name] = Detector(name, pattern, run, table)
        PATTERNS[pattern.name] = pattern
        return run

    return wrap
