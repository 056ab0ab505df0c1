"""Planted fraud: how many groups of each variant, their drawn parameters, and the planting
of every variant in tag order (the planters live in ``_rings``, ``_pooling``,
``_gatherings``, ``_identity`` and ``_stays``).

Random streams: variant number ``i`` (its position in ``VARIANTS``) draws its groups'
parameters from ``[seed, 100, i]`` and plants them from ``[seed, 200, i]``, so asking for
more groups of one variant, or pinning one parameter, leaves the other variants' draws as
they were (though who is still free to be recruited may change).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from . import _gatherings, _identity, _pooling, _rings, _stays
from ._params import draw
from ._people import make_reserved
from ._variants import LOOKALIKES, VARIANTS

__all__ = ["PLANTERS", "group_counts", "draw_groups", "draw_lookalikes", "plant_all"]

PLANTERS = {
    "batch_admission": _rings.batch_admission, "spread_week": _rings.spread_week,
    "partial_pool": _rings.partial_pool, "weekly_trickle": _rings.weekly_trickle,
    "multi_site": _rings.multi_site,
    "pharmacy_after_hours": _pooling.pharmacy_after_hours,
    "pharmacy_daytime": _pooling.pharmacy_daytime,
    "phantom_billing": _pooling.phantom_billing,
    "bussed_elderly": _gatherings.bussed_elderly,
    "shared_phone": _identity.shared_phone, "shared_address": _identity.shared_address,
    "two_institutions": _stays.two_institutions,
    "two_institutions_pharmacy": _stays.two_institutions_pharmacy,
    "readmission_same_diagnosis": _stays.readmission_same_diagnosis,
}
assert tuple(PLANTERS) == tuple(VARIANTS)


def group_counts(patients: int, plant: dict[str, int] | None) -> dict[str, int]:
    """Groups per variant: ``plant`` when given (others none), else ``per_20k`` scaled to
    ``patients`` (at least ``least``)."""
    if plant is not None:
        return {name: int(plant.get(name, 0)) for name in VARIANTS}
    return {name: max(v.least, round(v.per_20k * patients / 20_000))
            for name, v in VARIANTS.items()}


def draw_groups(seed: int, counts: dict[str, int], fix: dict[str, dict]) -> dict[str, list]:
    """Every group's parameters, drawn per variant from its own stream."""
    out = {}
    for i, (name, v) in enumerate(VARIANTS.items()):
        rng = np.random.default_rng([seed, 100, i])
        out[name] = [draw(rng, v.params, fix.get(name, {})) for _ in range(counts[name])]
    return out


def draw_lookalikes(seed: int, counts: dict[str, int], fix: dict[str, dict]) -> dict[str, list]:
    """Every look-alike's parameters (kinds that have any), drawn per kind."""
    out = {}
    for i, (kind, v) in enumerate(LOOKALIKES.items()):
        if v.params:
            rng = np.random.default_rng([seed, 300, i])
            out[kind] = [draw(rng, v.params, fix.get(kind, {})) for _ in range(counts[kind])]
    return out


def plant_all(seed: int, ctx: SimpleNamespace, drawn: dict[str, list]) -> list:
    """Every planted group as ``(claims, meta)``, in tag order (tag k is the k-th entry)."""
    groups: list = []
    for i, (name, planter) in enumerate(PLANTERS.items()):
        if drawn[name]:
            rng = np.random.default_rng([seed, 200, i])
            groups += planter(rng, ctx, drawn[name], len(groups) + 1)
    make_reserved(np.random.default_rng([seed, 299]), ctx.w)
    return groups
