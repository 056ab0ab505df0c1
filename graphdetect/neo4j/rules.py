"""Rule queries run inside Neo4j: the Cypher twins of the stay detectors, and co-admissions.

:func:`concurrent_stays` and :func:`split_stays` find the same stays as
:mod:`graphdetect.detectors.concurrent_stay` and :mod:`graphdetect.detectors.split_stay`
on the same claims (the test suite checks it); they return the groups of claim ids, not
scored findings. :func:`co_admissions` is a screening query for collusion rings.
"""

from __future__ import annotations

from collections import defaultdict

from ..errors import ParameterError
from .connection import Connection

__all__ = ["concurrent_stays", "split_stays", "co_admissions"]

_CHUNK = 10_000
#: What a split's two stays may be asked to share (:func:`split_stays`).
_SAME = ("diagnosis", "doctor", "nothing")


def _int_at_least(value, lo: int, name: str, owner: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < lo:
        raise ParameterError(name, owner, f"an int >= {lo}", value)


def _groups(pairs: list[tuple[str, str]]) -> list[list[str]]:
    """Connected groups of ids linked by pairs, each sorted, sorted by first id."""
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    members: dict[str, list[str]] = defaultdict(list)
    for x in parent:
        members[root(x)].append(x)
    return sorted(sorted(g) for g in members.values())


def concurrent_stays(conn: Connection, *, min_overlap_days: int = 1) -> list[dict]:
    """People billed as inpatient at two institutions over the same days (同一时间多家住院).

    Parameters
    ----------
    conn : Connection
    min_overlap_days : int, default 1
        Days two stays at different institutions must overlap.

    Returns
    -------
    list of dict
        One per group of overlapping stays (as the Python detector groups them):
        ``patient``, ``stays`` (claim ids), ``institutions``, ``max_overlap_days``,
        ``claims_elsewhere`` (the person's outpatient and pharmacy claims at other
        places during the stays) and ``claim_ids`` (stays and claims elsewhere, sorted).
    """
    _int_at_least(min_overlap_days, 1, "min_overlap_days", "concurrent_stays")
    rows = conn.read("rule_concurrent_stay", min_overlap_days=min_overlap_days)
    patient, institution, overlap = {}, {}, defaultdict(int)
    for r in rows:
        for side in ("a", "b"):
            patient[r[side]] = r["patient"]
            institution[r[side]] = r[f"institution_{side}"]
            overlap[r[side]] = max(overlap[r[side]], r["overlap_days"])
    stays = sorted(patient)
    elsewhere: dict[str, list[str]] = {}
    for i in range(0, len(stays), _CHUNK):
        for r in conn.read("rule_concurrent_stay_elsewhere", stays=stays[i:i + _CHUNK]):
            elsewhere[r["stay"]] = r["elsewhere"]
    out = []
    for group in _groups([(r["a"], r["b"]) for r in rows]):
        extra = sorted({c for s in group for c in elsewhere.get(s, ())})
        out.append({
            "pattern": "concurrent_stay", "patient": patient[group[0]], "stays": group,
            "institutions": sorted({institution[s] for s in group}),
            "max_overlap_days": max(overlap[s] for s in group),
            "claims_elsewhere": extra, "claim_ids": sorted(set(group) | set(extra)),
        })
    return sorted(out, key=lambda g: (g["patient"], g["claim_ids"]))


def split_stays(conn: Connection, *, max_gap_days: int = 2, diagnosis_prefix: int = 3,
                same: str | None = None) -> list[dict]:
    """Readmissions to the same institution soon after discharge, same diagnosis (分解住院).

    On data without diagnosis codes, the same doctor stands in for the diagnosis, and
    without doctors either, nothing more than the gap: as
    :func:`graphdetect.detectors.split_stay` does.

    Parameters
    ----------
    conn : Connection
    max_gap_days : int, default 2
        Days between discharge and readmission that count as a split.
    diagnosis_prefix : int, default 3
        Characters of an ICD-10 diagnosis code that must match (3 = its category; 0 =
        the whole code); codes of another form match whole.
    same : {"diagnosis", "doctor", "nothing"}, optional
        What two stays must share besides the place; by default the diagnosis when any
        claim in the database has one, else the doctor when any claim names one, else
        nothing.

    Returns
    -------
    list of dict
        One per chain of split stays: ``patient``, ``institution``, ``diagnosis``,
        ``stays`` (claim ids in order of admission), ``gaps`` (days between them) and
        ``claim_ids`` (sorted).
    """
    _int_at_least(max_gap_days, 0, "max_gap_days", "split_stays")
    _int_at_least(diagnosis_prefix, 0, "diagnosis_prefix", "split_stays")
    if same is None:
        [carry] = conn.read("claims_carry")
        same = "diagnosis" if carry["diagnosis"] else "doctor" if carry["doctor"] else "nothing"
    elif same not in _SAME:
        raise ParameterError("same", "split_stays", f"one of {', '.join(_SAME)}", same)
    rows = conn.read("rule_split_stay", max_gap_days=max_gap_days,
                     diagnosis_prefix=diagnosis_prefix, same=same)
    after = {r["a"]: r for r in rows}
    has_before = {r["b"] for r in rows}
    out = []
    for first in sorted(set(after) - has_before):
        chain, gaps, link = [first], [], after[first]
        while link is not None:
            chain.append(link["b"])
            gaps.append(link["gap_days"])
            link = after.get(link["b"])
        head = after[first]
        out.append({"pattern": "split_stay", "patient": head["patient"],
                    "institution": head["institution"], "diagnosis": head["diagnosis"],
                    "stays": chain, "gaps": gaps, "claim_ids": sorted(chain)})
    return sorted(out, key=lambda g: (g["patient"], g["institution"], g["claim_ids"]))


def co_admissions(conn: Connection, *, min_occasions: int = 3, max_admissions: int = 30,
                  limit: int = 1000) -> list[dict]:
    """Pairs of people admitted together to one institution on several days (集中入院).

    Parameters
    ----------
    conn : Connection
    min_occasions : int, default 3
        Distinct days on which the two were admitted to the same institution.
    max_admissions : int, default 30
        Admission days with more people than this are skipped (a busy hospital's day
        is no evidence).
    limit : int, default 1000
        At most this many pairs, most occasions first.

    Returns
    -------
    list of dict
        ``patient_a``, ``patient_b``, ``institution``, ``occasions`` and ``days``
        (ISO dates).
    """
    _int_at_least(min_occasions, 2, "min_occasions", "co_admissions")
    _int_at_least(max_admissions, 2, "max_admissions", "co_admissions")
    _int_at_least(limit, 1, "limit", "co_admissions")
    rows = conn.read("rule_co_admission", min_occasions=min_occasions,
                     max_admissions=max_admissions, limit=limit)
    for r in rows:
        r["days"] = sorted(d.iso_format() for d in r["days"])
    return rows
