"""Load the named Cypher statements of ``cypher/`` (one concept per file), cached.

Every statement graphdetect sends to Neo4j lives in ``cypher/NAME.cypher`` at the top of
the repository (installed as the package data ``graphdetect.cypher``), with a header comment
saying what it does and its parameters. Values always travel as parameters; no query is
ever built by string formatting.

>>> "UNWIND $rows AS row" in cypher_text("load_claims")
True
>>> len(cypher_statements("schema")) > 5
True
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from .._resources import resource_dir
from ..errors import GraphdetectError

__all__ = ["CYPHER_DIR", "cypher_text", "cypher_statements", "cypher_names"]

#: The folder of ``.cypher`` files: the package data ``graphdetect.cypher`` (``cypher/``).
CYPHER_DIR: Path = resource_dir("cypher")
_NAME = re.compile(r"[a-z][a-z0-9_]*")


@cache
def _read(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise GraphdetectError(f"{name!r} is not a Cypher statement name (lower_case_words)")
    path = CYPHER_DIR / f"{name}.cypher"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GraphdetectError(f"{path}: cannot read the Cypher statement {name!r} "
                               f"({exc.strerror})") from None
    # Whole-line // comments are the file's documentation; the server need not see them.
    lines = [ln.rstrip() for ln in text.splitlines() if not ln.lstrip().startswith("//")]
    return "\n".join(ln for ln in lines if ln).strip()


@cache
def cypher_statements(name: str) -> tuple[str, ...]:
    """The statements of ``cypher/NAME.cypher``, split where a line ends with ``;``.

    Parameters
    ----------
    name : str
        The file's name without ``.cypher``, e.g. ``"schema"``.

    Returns
    -------
    tuple of str
        The statements in file order, comments and trailing semicolons removed.
    """
    out, current = [], []
    for line in _read(name).splitlines():
        current.append(line)
        if line.endswith(";"):
            out.append("\n".join(current)[:-1].strip())
            current = []
    if current:
        out.append("\n".join(current).strip())
    return tuple(s for s in out if s)


def cypher_text(name: str) -> str:
    """The one statement of ``cypher/NAME.cypher``, without its header comment.

    Parameters
    ----------
    name : str
        The file's name without ``.cypher``, e.g. ``"load_claims"``.

    Raises
    ------
    GraphdetectError
        When the file is missing or holds more than one statement.
    """
    statements = cypher_statements(name)
    if len(statements) != 1:
        raise GraphdetectError(f"{CYPHER_DIR / name}.cypher: expected one statement, "
                               f"found {len(statements)}")
    return statements[0]


def cypher_names() -> list[str]:
    """The names of every ``.cypher`` file, sorted."""
    return sorted(p.stem for p in CYPHER_DIR.glob("*.cypher"))
