"""What the roles of a case's members mean beyond their words (``docs/contract.md``).

Kept apart from the detectors, which write the roles, so that what reads them (the
integrity ledger) need not import the detectors.
"""

from __future__ import annotations

__all__ = ["CONTEXT_ROLES"]

#: Roles of entities a case names as context rather than as parties to it (the places of a
#: person's other claims during concurrent stays): shown and ranked, never scored by the
#: integrity ledger when the case is confirmed.
CONTEXT_ROLES = frozenset({"elsewhere"})
