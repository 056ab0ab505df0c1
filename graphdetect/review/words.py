"""The review UI's words for values the data carries as keys: entity kinds, roles, visit
types, claim columns and error titles.

Templates show a key with ``{{ value|term('kind') }}``; the words are marked here, where
``make translations`` finds them (a word looked up from a variable never reaches the
catalog), and a key without a word is shown as it is.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

__all__ = ["TERMS", "term"]

TERMS = {
    "kind": {"patient": _l("Patient"), "doctor": _l("Doctor"), "institution": _l("Institution"),
             "card": _l("Card"), "terminal": _l("Terminal"), "operator": _l("Operator")},
    "role": {"investigator": _l("Investigator"), "reviewer": _l("Reviewer"),
             "admin": _l("Administrator")},
    "visit": {"outpatient": _l("Outpatient"), "inpatient": _l("Inpatient"),
              "pharmacy": _l("Pharmacy")},
    "column": {"claim_id": _l("Claim id"), "patient_id": _l("Patient"),
               "institution_id": _l("Institution"), "doctor_id": _l("Doctor"),
               "visit_type": _l("Visit type"), "start_time": _l("Start"), "end_time": _l("End"),
               "total_amount": _l("Amount"), "fund_amount": _l("Fund paid"),
               "diagnosis_code": _l("Diagnosis"), "terminal_id": _l("Terminal"),
               "operator_id": _l("Operator"), "card_id": _l("Card")},
    "error": {"Bad Request": _l("Bad Request"), "Unauthorized": _l("Unauthorized"),
              "Forbidden": _l("Forbidden"), "Not Found": _l("Not Found"),
              "Method Not Allowed": _l("Method Not Allowed"), "Conflict": _l("Conflict"),
              "Internal Server Error": _l("Internal Server Error"),
              "Service Unavailable": _l("Service Unavailable"), "Error": _l("Error")},
}


def term(value, group: str) -> str:
    """The word for ``value`` in ``group`` in the viewer's language, else ``value``."""
    words = TERMS[group]
    return str(words[value]) if value in words else ("" if value is None else str(value))
