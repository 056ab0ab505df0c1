"""Detectors: plain functions ``detector(graph, *, params...) -> list[Finding]``.

Each lives in its own module and registers itself in :data:`REGISTRY`.
"""

from ._base import REGISTRY, Detector, Finding, Param
from .card_pooling import card_pooling
from .collusion_ring import collusion_ring
from .concurrent_stay import concurrent_stay
from .split_stay import split_stay

__all__ = ["REGISTRY", "Detector", "Finding", "Param", "card_pooling", "collusion_ring",
           "concurrent_stay", "split_stay"]
