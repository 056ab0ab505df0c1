"""The integrity ledger (医保诚信记分): points for confirmed cases, per entity and year.

:mod:`.rules` reads the scoring table (TOML, shipped with defaults, edited by a bureau);
:mod:`.book` keeps the ledger, append-only, in the review database; :mod:`.cli` is
``graphdetect ledger``.
"""

from ..errors import LedgerError, RulesError
from .book import Ledger
from .rules import Rules, load_rules

__all__ = ["Ledger", "LedgerError", "Rules", "RulesError", "load_rules"]
