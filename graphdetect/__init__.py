"""graphdetect: find collusion fraud in medical-insurance claims.

Load a data folder, build the claims graph, run the detectors:

>>> import graphdetect
>>> graphdetect.__version__
'0.1.0'
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import DataError, GraphdetectError, ParameterError  # noqa: E402
from .io import ClaimsData, read_folder  # noqa: E402

__all__ = ["__version__", "ClaimsData", "DataError", "GraphdetectError", "ParameterError",
           "read_folder"]
