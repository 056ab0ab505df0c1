"""Parameters drawn per planted group or look-alike: their ranges, drawing and rounding.

``_variants`` holds the table of every variant and look-alike built from these.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Param", "Variant", "Lookalike", "whole", "real", "draw", "rounded"]


@dataclass(frozen=True)
class Param:
    """One drawn parameter: whole numbers ``lo..hi`` (``kind="int"``, optionally weighted)
    or a uniform float in ``[lo, hi]`` (``kind="float"``, with ``at_lo`` the chance of
    exactly ``lo``); ``fix`` widens the range ``generate(fix=...)`` accepts."""

    lo: float
    hi: float
    doc: str
    kind: str = "int"
    weights: tuple[float, ...] | None = None
    at_lo: float = 0.0
    fix: tuple[float, float] | None = None
    digits: int = 3

    @property
    def fix_range(self) -> tuple[float, float]:
        return self.fix or (self.lo, self.hi)


@dataclass(frozen=True)
class Variant:
    """A planted variant (or a look-alike kind): the pattern it belongs to, how many per
    20,000 people (at least ``least``), what it is, and its parameters."""

    kind: str
    per_20k: float
    doc: str
    params: dict[str, Param] = field(default_factory=dict)
    least: int = 2


@dataclass(frozen=True)
class Lookalike:
    """A legitimate look-alike kind: its variant name, how many per 20,000 people (at least
    ``least``), what it is, and its parameters."""

    variant: str
    per_20k: float
    doc: str
    params: dict[str, Param] = field(default_factory=dict)
    least: int = 2


def whole(lo, hi, doc, **kw) -> Param:
    """A whole-number parameter."""
    return Param(lo, hi, doc, "int", **kw)


def real(lo, hi, doc, **kw) -> Param:
    """A real-valued parameter."""
    return Param(lo, hi, doc, "float", **kw)


def draw(rng: np.random.Generator, params: dict[str, Param], fixed: dict[str, float]) -> dict:
    """One group's parameters: each drawn from its range (the same draws whatever is fixed,
    so pinning one parameter leaves the others as they were), then ``fixed`` applied."""
    out = {}
    for name, p in params.items():
        if p.kind == "int":
            n = int(p.hi - p.lo) + 1
            wts = np.ones(n) if p.weights is None else np.asarray(p.weights, dtype=float)
            v: float = int(p.lo) + int(rng.choice(n, p=wts / wts.sum()))
        else:
            v = float(rng.uniform(p.lo, p.hi))
            v = p.lo if rng.random() < p.at_lo else v
        out[name] = fixed.get(name, v)
    return out


def rounded(params: dict[str, Param], values: dict) -> dict:
    """Values as JSON numbers: ints as ints, floats to the parameter's digits."""
    out = {}
    for name, v in values.items():
        p = params.get(name)
        if p is None or p.kind == "int":
            out[name] = int(v) if float(v).is_integer() else round(float(v), 3)
        else:
            out[name] = round(float(v), p.digits) if p.digits else int(round(float(v)))
    return out
