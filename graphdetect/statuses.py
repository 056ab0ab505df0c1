"""The words for a case's review status, one table for the review UI and the evidence PDF.

The review store keeps statuses as keys (``new``, ``in_review`` …); every page, package
and report shows them with these words, so that an investigator reads the same word for
the same state everywhere.
"""

from __future__ import annotations

__all__ = ["STATUS_WORDS", "status_word"]

#: Each status key with its words in Chinese and English, in workflow order.
STATUS_WORDS = {
    "new": ("新建", "New"),
    "in_review": ("核查中", "In review"),
    "confirmed": ("已确认", "Confirmed"),
    "dismissed": ("已排除", "Dismissed"),
    "referred": ("已移送", "Referred"),
}


def status_word(status: str, lang: str = "zh") -> str:
    """A status as people read it (the key itself when unknown).

    >>> status_word("in_review"), status_word("in_review", "en"), status_word("odd")
    ('核查中', 'In review', 'odd')
    """
    words = STATUS_WORDS.get(status)
    if words is None:
        return status
    return words[lang == "en"]
