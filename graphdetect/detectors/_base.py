"""What every detector shares: parameters with checks, the Finding record, the registry."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import ParameterError

__all__ = ["Param", "Finding", "Detector", "REGISTRY", "detector"]


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


@dataclass
class Finding:
    """One suspicious structure a detector found, with its evidence.

    ``members`` are ``(kind, id, role)`` triples; ``claim_ids`` the evidence claims.
    """

    pattern: str
    score: float
    members: list[tuple[str, str, str]]
    claim_ids: list[str]
    rules: list[str]
    explanation: str
    explanation_en: str
    metrics: dict[str, Any] = field(default_factory=dict)
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
    pattern: str
    func: Callable
    params: dict[str, Param]

    def defaults(self) -> dict[str, Any]:
        sig = inspect.signature(self.func)
        return {n: sig.parameters[n].default for n in self.params}


REGISTRY: dict[str, Detector] = {}


def detector(pattern: str, params: list[Param]):
    """Register a detector function and check its keyword arguments on every call.

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
            return findings

        REGISTRY[name] = Detector(name, pattern, run, table)
        return run

    return wrap
