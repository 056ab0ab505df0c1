"""Synthetic medical-insurance claims with planted fraud and ground truth (graphdetect).

>>> from datasets import generate
>>> callable(generate)
True
"""

from .generator import generate

__all__ = ["generate"]
