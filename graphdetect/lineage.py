"""Case identity across runs: which earlier case a new case continues (``docs/contract.md``).

A case's *core members* are its members other than institutions (all of them when it
names only institutions), as ``(kind, id)``. A new case and an earlier case of the same
pattern match when their core members overlap: ``|A ∩ B| / min(|A|, |B|) >= min_overlap``.
Pairs are taken best first (overlap, then Jaccard, then the earlier key, then the new
case id) and each earlier key passes to at most one new case; :func:`link` explains the
rest (splits, merges, states and deltas).
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable

from .errors import RunError

__all__ = ["core_members", "mint_key", "overlap", "jaccard", "matches", "link", "with_keys",
           "total_amount", "diff", "format_diff", "STATES", "CHANGES"]

#: The states a case can be in, relative to the earlier case it continues.
STATES = ("new", "recurring", "grown", "shrunk")

Member = tuple[str, str]


def core_members(case: dict) -> frozenset[Member]:
    """The ``(kind, id)`` of a case's members other than institutions.

    All of its members when it names only institutions.

    >>> core_members({"members": [{"kind": "institution", "id": "H1", "role": "host"},
    ...                           {"kind": "patient", "id": "P1", "role": "member"}]})
    frozenset({('patient', 'P1')})
    """
    every = frozenset((m["kind"], m["id"]) for m in case["members"])
    core = frozenset(m for m in every if m[0] != "institution")
    return core or every


def mint_key(run_id: str, case_id: str) -> str:
    """The key a case gets when it first appears: its run id's first 8 hex digits and its id.

    A run id that does not look like ``run-<hex>`` gives its first 8 letters and digits
    (a hash of it when it has none).

    >>> mint_key("run-277ef379eb95", "R-0003")
    '277ef379-R-0003'
    """
    if run_id.startswith("run-"):
        stem = run_id[4:12]
    else:
        stem = re.sub(r"[^0-9A-Za-z]", "", run_id)[:8]
    if not stem:
        stem = hashlib.sha256(run_id.encode("utf-8")).hexdigest()[:8]
    return f"{stem}-{case_id}"


def overlap(a: frozenset, b: frozenset) -> float:
    """``|A ∩ B| / min(|A|, |B|)``; 0 when either is empty.

    >>> overlap(frozenset("abc"), frozenset("bc"))
    1.0
    """
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0


def jaccard(a: frozenset, b: frozenset) -> float:
    """``|A ∩ B| / |A ∪ B|``; 0 when both are empty.

    >>> jaccard(frozenset("abc"), frozenset("bc"))
    0.6666666666666666
    """
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def total_amount(case: dict) -> float:
    """A case's ``metrics.total_amount`` (0 when it has none)."""
    return float((case.get("metrics") or {}).get("total_amount") or 0.0)


def with_keys(cases: Iterable[dict], run_id: str) -> list[dict]:
    """Cases with a ``case_key`` and ``lineage``; minted ("new") where a case has none.

    Runs made before keys existed (or without ``--previous``) read the same as runs that
    minted their keys. The cases given are not changed.
    """
    out = []
    for case in cases:
        if "case_key" in case and "lineage" in case:
            out.append(case)
        else:
            out.append(_keyed(case, case.get("case_key") or mint_key(run_id, case["case_id"]),
                              _new_lineage(None)))
    return out


def matches(cases: list[dict], earlier: list[dict], *, min_overlap: float = 0.5) \
        -> list[tuple[float, float, str, str, int, int]]:
    """Every matching pair of a new case and an earlier case, best first.

    Rows are ``(-overlap, -jaccard, earlier key, new case id, new index, earlier index)``;
    ``earlier`` must carry ``case_key`` (:func:`with_keys`). Only pairs of the same
    pattern sharing a core member are compared: the earlier cases are indexed by
    ``(pattern, member)``.
    """
    index: dict[tuple[str, Member], list[int]] = defaultdict(list)
    earlier_core = [core_members(c) for c in earlier]
    for j, (case, core) in enumerate(zip(earlier, earlier_core, strict=True)):
        for m in core:
            index[(case["pattern"], m)].append(j)
    pairs = []
    for i, case in enumerate(cases):
        a = core_members(case)
        shared: dict[int, int] = defaultdict(int)
        for m in a:
            for j in index.get((case["pattern"], m), ()):
                shared[j] += 1
        for j, n in shared.items():
            b = earlier_core[j]
            ov = n / min(len(a), len(b))
            if ov >= min_overlap:
                jac = n / (len(a) + len(b) - n)
                pairs.append((-ov, -jac, earlier[j]["case_key"], case["case_id"], i, j))
    pairs.sort()
    return pairs


def link(cases: list[dict], previous_cases: list[dict] | None, *,
         previous_run_id: str | None, run_id: str, min_overlap: float = 0.5) -> list[dict]:
    """The run's cases with ``case_key`` and ``lineage``, matched to the earlier run's.

    Parameters
    ----------
    cases : list of dict
        This run's cases (``cases.jsonl`` rows); not changed.
    previous_cases : list of dict or None
        The earlier run's cases; those without a ``case_key`` get their minted one.
        ``None`` (or no ``previous_run_id``): every case is new.
    previous_run_id, run_id : str
        The earlier run's id and this run's (keys are minted from them).
    min_overlap : float
        Core-member overlap at which two cases of one pattern match.

    Returns
    -------
    list of dict
        Copies of ``cases``, each with ``case_key`` after ``case_id`` and ``lineage``
        last: ``state`` (:data:`STATES`), ``previous`` (``run_id``, ``case_id``; null for
        a new case), ``merged_from`` (earlier keys that matched this case and passed
        their key to no one), ``split_from`` (the earlier key this case's best match
        passed to another case) and ``delta`` (new and lost core members, new evidence
        claims, change of ``total_amount``; null for a new case).

    Examples
    --------
    >>> ring = {"pattern": "collusion_ring", "claim_ids": ["C1"], "metrics": {},
    ...         "members": [{"kind": "patient", "id": p, "role": "member"} for p in "ab"]}
    >>> old = [dict(ring, case_id="R-0001")]
    >>> new = [dict(ring, case_id="R-0004", claim_ids=["C1", "C2"])]
    >>> [c] = link(new, old, previous_run_id="run-277ef379eb95", run_id="run-9a0b1c2d3e4f")
    >>> c["case_key"], c["lineage"]["state"], c["lineage"]["delta"]["claims"]
    ('277ef379-R-0001', 'grown', 1)
    """
    if previous_cases is None or previous_run_id is None:
        return with_keys(cases, run_id)
    earlier = with_keys(previous_cases, previous_run_id)
    pairs = matches(cases, earlier, min_overlap=min_overlap)
    heir: dict[int, int] = {}       # new index -> earlier index whose key it inherits
    taken: dict[int, int] = {}      # earlier index -> new index that inherited it
    best: dict[int, int] = {}       # new index -> its best earlier match
    for *_, i, j in pairs:
        best.setdefault(i, j)
        if i not in heir and j not in taken:
            heir[i], taken[j] = j, i
    merged: dict[int, list[str]] = defaultdict(list)
    for *_, i, j in pairs:          # best first: an unpassed key merges into its best heir
        if j not in taken and i in heir:
            taken[j] = i
            merged[i].append(earlier[j]["case_key"])
    out, used = [], set()
    for i, case in enumerate(cases):
        if i in heir:
            before = earlier[heir[i]]
            key = before["case_key"]
            lineage = _continued(case, before, previous_run_id, sorted(merged[i]))
        else:
            key = mint_key(run_id, case["case_id"])
            lineage = _new_lineage(earlier[best[i]]["case_key"] if i in best else None)
        if key in used:
            raise RunError(f"case key {key!r} would be given twice in run {run_id}")
        used.add(key)
        out.append(_keyed(case, key, lineage))
    return out


def _keyed(case: dict, key: str, lineage: dict) -> dict:
    out = {"case_id": case["case_id"], "case_key": key}
    out.update((k, v) for k, v in case.items() if k not in ("case_key", "lineage"))
    out["lineage"] = lineage
    return out


def _new_lineage(split_from: str | None) -> dict:
    return {"state": "new", "previous": None, "merged_from": [], "split_from": split_from,
            "delta": None}


def _continued(case: dict, before: dict, previous_run_id: str, merged_from: list[str]) -> dict:
    a, b = core_members(case), core_members(before)
    gained, lost = len(a - b), len(b - a)
    claims = len(set(case["claim_ids"]).difference(before["claim_ids"]))
    if gained or claims:
        state = "grown"
    elif lost:
        state = "shrunk"
    else:
        state = "recurring"
    return {"state": state,
            "previous": {"run_id": previous_run_id, "case_id": before["case_id"]},
            "merged_from": merged_from, "split_from": None,
            "delta": {"members": gained, "lost_members": lost, "claims": claims,
                      "amount": round(total_amount(case) - total_amount(before), 2)}}


#: The changes :func:`diff` reports, in the order it lists them.
CHANGES = ("new", "grown", "shrunk", "recurring", "merged", "split", "vanished")


def diff(old_cases: list[dict], new_cases: list[dict], *, old_run_id: str, new_run_id: str,
         min_overlap: float = 0.5) -> dict:
    """What changed from one run to another, matched as :func:`link` matches.

    Returns ``{"counts": {change: n}, "cases": [row, ...]}``, a row per new case and per
    vanished earlier case: ``change`` (:data:`CHANGES`: ``merged`` and ``split`` before
    the state), ``case_key``, ``pattern``, ``case_id`` (null when vanished),
    ``previous_case_id``, ``state``, ``delta``, ``merged_from``, ``split_from``.

    >>> ring = {"pattern": "collusion_ring", "claim_ids": ["C1"], "metrics": {},
    ...         "members": [{"kind": "patient", "id": "a", "role": "member"}]}
    >>> d = diff([dict(ring, case_id="R-0001")], [dict(ring, case_id="R-0002")],
    ...          old_run_id="run-aaaaaaaaaaaa", new_run_id="run-bbbbbbbbbbbb")
    >>> d["counts"]["recurring"], d["cases"][0]["case_key"]
    (1, 'aaaaaaaa-R-0001')
    """
    earlier = with_keys(old_cases, old_run_id)
    fresh = [{k: v for k, v in c.items() if k not in ("case_key", "lineage")} for c in new_cases]
    linked = link(fresh, earlier, previous_run_id=old_run_id, run_id=new_run_id,
                  min_overlap=min_overlap)
    rows, kept = [], set()
    for case in linked:
        lin = case["lineage"]
        kept.add(case["case_key"])
        kept.update(lin["merged_from"])
        change = ("merged" if lin["merged_from"] else "split" if lin["split_from"]
                  else lin["state"])
        rows.append({"change": change, "case_key": case["case_key"], "pattern": case["pattern"],
                     "case_id": case["case_id"],
                     "previous_case_id": (lin["previous"] or {}).get("case_id"),
                     "state": lin["state"], "delta": lin["delta"],
                     "merged_from": lin["merged_from"], "split_from": lin["split_from"]})
    for case in earlier:
        if case["case_key"] not in kept:
            rows.append({"change": "vanished", "case_key": case["case_key"],
                         "pattern": case["pattern"], "case_id": None,
                         "previous_case_id": case["case_id"], "state": None, "delta": None,
                         "merged_from": [], "split_from": None})
    rows.sort(key=lambda r: (CHANGES.index(r["change"]), r["case_key"]))
    counts = {c: sum(r["change"] == c for r in rows) for c in CHANGES}
    return {"counts": counts, "cases": rows}


def format_diff(result: dict) -> str:
    """:func:`diff`'s result as a plain-text table, one line per case."""
    head = ("change", "case key", "case", "was", "members", "claims", "amount", "note")
    lines = [head]
    for r in result["cases"]:
        d = r["delta"]
        note = ("merged from " + " and ".join(r["merged_from"]) if r["merged_from"]
                else f"split from {r['split_from']}" if r["split_from"] else "")
        lines.append((r["change"], r["case_key"], r["case_id"] or "-",
                      r["previous_case_id"] or "-",
                      f"+{d['members']}/-{d['lost_members']}" if d else "",
                      f"+{d['claims']}" if d else "", f"{d['amount']:+,.2f}" if d else "",
                      note))
    widths = [max(len(str(row[k])) for row in lines) for k in range(len(head))]
    text = ["  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
            for row in lines]
    counts = ", ".join(f"{n} {c}" for c, n in result["counts"].items())
    return "\n".join([counts, *text])
