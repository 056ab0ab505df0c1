"""The one error hierarchy of graphdetect.

Every error a user can cause derives from :class:`GraphdetectError`; the CLI turns
it into a one-line message and exit code 2.
"""

from __future__ import annotations

__all__ = ["GraphdetectError", "DataError", "ParameterError", "RunError"]


class GraphdetectError(Exception):
    """Base class of every error graphdetect raises on purpose."""


class DataError(GraphdetectError):
    """An input file cannot be read at all (missing column, not a table, bad encoding).

    Parameters
    ----------
    file : str
        The file's name as the user knows it.
    problem : str
        What is wrong, in one sentence.

    Examples
    --------
    >>> str(DataError("claims.csv", "missing required column 'claim_id'"))
    "claims.csv: missing required column 'claim_id'"
    """

    def __init__(self, file: str, problem: str):
        self.file = file
        self.problem = problem
        super().__init__(f"{file}: {problem}")


class ParameterError(GraphdetectError, ValueError):
    """A parameter is out of its documented range.

    Examples
    --------
    >>> str(ParameterError("min_occasions", "collusion_ring", "an int >= 2", 1))
    "The 'min_occasions' parameter of collusion_ring must be an int >= 2; got 1."
    """

    def __init__(self, name: str, owner: str, expected: str, got: object):
        self.name = name
        super().__init__(
            f"The {name!r} parameter of {owner} must be {expected}; got {got!r}."
        )


class RunError(GraphdetectError):
    """A run folder is missing or not a graphdetect run."""
