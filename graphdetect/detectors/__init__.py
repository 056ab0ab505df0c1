"""Detectors: plain functions ``detector(graph, *, params...) -> list[Finding]``.

Each lives in its own module with the :class:`Pattern` it reports, and registers both in
:data:`REGISTRY` and :data:`PATTERNS`.
"""

from ._base import CONTEXT_ROLES, PATTERNS, REGISTRY, UNITS, Detector, Finding, Param, Pattern
from .card_pooling import card_pooling
from .collusion_ring import collusion_ring
from .concurrent_stay import concurrent_stay
from .outpatient_gathering import outpatient_gathering  # noqa: F401 (registers the pattern)
from .shared_identity import shared_identity  # noqa: F401 (registers the pattern)
from .split_stay import split_stay

__all__ = ["CONTEXT_ROLES", "PATTERNS", "REGISTRY", "UNITS", "Detector", "Finding", "Param",
           "Pattern", "card_pooling", "collusion_ring", "concurrent_stay", "split_stay"]
