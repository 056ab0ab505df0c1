"""The integrity ledger (医保诚信记分): points for confirmed cases, per entity and year.

:mod:`.rules` reads the scoring table (TOML, shipped with defaults, edited by a bureau);
:mod:`.book` keeps the ledger, append-only, in the review database; :mod:`.cli` is
``graphdetect ledger``.
"""

from ..errors import LedgerError, RulesError
from .rules import Rules, load_rules

__all__ = ["Ledger", "LedgerError", "Rules", "RulesError", "load_rules"]


def __getattr__(name: str):
    # the book (and the review store and reader it needs) is imported when first asked
    # for, so that ``graphdetect``'s command line starts without numpy (graphdetect._memory)
    if name == "Ledger":
        from .book import Ledger

        return Ledger
    raise AttributeError(f"module 'graphdetect.ledger' has no attribute {name!r}")
