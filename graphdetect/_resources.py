"""Where the package data lives: ``web/`` and ``cypher/``, installed as subpackages.

The two folders sit at the top of the repository and ship inside the wheel as
``graphdetect.web`` and ``graphdetect.cypher`` (``pyproject.toml`` maps them), so an editable
install, a wheel and a checkout all find them through the import system.

>>> (resource_dir("cypher") / "ping.cypher").is_file()
True
>>> (resource_dir("web") / "templates").is_dir()
True
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["resource_dir"]

_NAMES = ("web", "cypher")


def resource_dir(name: str) -> Path:
    """The folder of the package data ``name`` (``"web"`` or ``"cypher"``).

    Parameters
    ----------
    name : str
        ``"web"`` (templates, static files, translations) or ``"cypher"`` (statements).

    Returns
    -------
    Path
        The installed ``graphdetect/<name>/`` folder, or ``<name>/`` of the checkout when
        graphdetect runs from a source tree that was never installed.
    """
    if name not in _NAMES:
        raise ValueError(f"The 'name' parameter of resource_dir must be one of {_NAMES}; "
                         f"got {name!r}.")
    try:
        return Path(str(files(f"graphdetect.{name}")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[1] / name
