"""What each role may see and do, and how identifiers are masked for those who may not.

=============  ==========================  ===================  =====================
role           sees on screen              decides              exports
=============  ==========================  ===================  =====================
investigator   real ids                    yes                  confirmed / referred
reviewer       blind serials (双盲会审)     notes only           confirmed / referred,
                                                                ids masked
admin          real ids, audit log         yes                  any case
=============  ==========================  ===================  =====================
"""

from __future__ import annotations

__all__ = ["mask_id", "can_decide", "can_export", "is_blind", "masks_ids", "BLIND_LABELS"]

_EXPORTABLE = {"admin": None, "investigator": ("confirmed", "referred"),
               "reviewer": ("confirmed", "referred")}
#: Case-local serial labels used in blind review.
BLIND_LABELS = {"patient": "患者", "doctor": "医生", "institution": "机构", "card": "卡",
                "terminal": "终端", "operator": "操作员"}


def mask_id(value: str) -> str:
    """Hide the middle of an identifier, keeping enough to tell ids apart on paper.

    >>> mask_id("3399023155820225")
    '3399********0225'
    >>> mask_id("P12")
    'P*2'
    """
    s = str(value)
    if len(s) <= 2:
        return "*" * len(s)
    keep = 4 if len(s) >= 12 else max(1, len(s) // 4)
    return s[:keep] + "*" * (len(s) - 2 * keep) + s[-keep:]


def is_blind(role: str) -> bool:
    """Reviewers review blind: every name and id becomes a case-local serial number."""
    return role == "reviewer"


def masks_ids(role: str) -> bool:
    """Whether patient and card ids are masked for this role outside blind views."""
    return role == "reviewer"


def can_decide(role: str) -> bool:
    """Whether the role may change a case's status or assignee (anyone may add notes)."""
    return role in ("investigator", "admin")


def can_export(role: str, status: str) -> bool:
    """Whether the role may export an evidence package of a case in this status.

    >>> can_export("investigator", "new"), can_export("investigator", "confirmed")
    (False, True)
    """
    allowed = _EXPORTABLE.get(role, ())
    return allowed is None or status in allowed
