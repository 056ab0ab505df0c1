"""graphdetect: find collusion fraud in medical-insurance claims.

Load a data folder, build the claims graph, run the detectors:

>>> import graphdetect
>>> graphdetect.__version__
'0.1.0'
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import DataError, GraphdetectError, ParameterError  # noqa: E402

__all__ = ["__version__", "ClaimsData", "DataError", "GraphdetectError", "ParameterError",
           "read_folder"]


def __getattr__(name: str):
    # the reader (numpy, pandas, pyarrow) is imported when first asked for: the command
    # line sets up the process's memory before any of them is loaded (graphdetect._memory)
    if name in ("ClaimsData", "read_folder"):
        from . import io

        return getattr(io, name)
    raise AttributeError(f"module 'graphdetect' has no attribute {name!r}")
