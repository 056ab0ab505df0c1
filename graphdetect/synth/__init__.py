"""Synthetic medical-insurance claims with planted fraud and ground truth (``graphdetect.synth``).

``VARIANTS`` and ``LOOKALIKES`` list what is planted and the ranges its parameters are drawn
from.

>>> from graphdetect.synth import VARIANTS, generate
>>> callable(generate), VARIANTS["pharmacy_daytime"].params["gap_minutes"].hi
(True, 30)
"""

from ._variants import LOOKALIKES, VARIANTS
from .generator import generate

__all__ = ["generate", "VARIANTS", "LOOKALIKES"]
