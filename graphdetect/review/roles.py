"""What each role may see and do, and how identifiers are masked for those who may not.

=============  ==========================  ===================  =====================
role           sees on screen              decides              exports
=============  ==========================  ===================  =====================
investigator   real ids                    yes                  confirmed / referred
reviewer       blind serials (双盲会审)     notes only           never
admin          real ids, audit log         yes                  any case
=============  ==========================  ===================  =====================

Reviewers do not export. Blind review happens on screen, where blinding is enforced in
one place; an evidence package exists to be referred to public security, who need the
real identities, so a blind package would have no reader, and every file that leaves the
system is one more that can leak. Whoever exports may still mask patient and card ids
(``export_case(..., mask_ids=True)``, ``graphdetect export --mask-ids``) for a reader
who must not see them.
"""

from __future__ import annotations

__all__ = ["mask_id", "can_decide", "can_export", "may_export", "is_blind", "BLIND_LABELS"]

#: Statuses each role may export (None: any); a role not named here exports nothing.
_EXPORTABLE = {"admin": None, "investigator": ("confirmed", "referred")}
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


def can_decide(role: str) -> bool:
    """Whether the role may change a case's status or assignee (anyone may add notes)."""
    return role in ("investigator", "admin")


def may_export(role: str) -> bool:
    """Whether the role exports evidence packages at all (reviewers never do).

    >>> may_export("investigator"), may_export("reviewer")
    (True, False)
    """
    return role in _EXPORTABLE


def can_export(role: str, status: str | None) -> bool:
    """Whether the role may export an evidence package of a case in this status.

    >>> can_export("investigator", "new"), can_export("investigator", "confirmed")
    (False, True)
    >>> can_export("reviewer", "confirmed"), can_export("admin", "new")
    (False, True)
    """
    allowed = _EXPORTABLE.get(role, ())
    return allowed is None or status in allowed
