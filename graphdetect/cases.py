"""Turn detector findings into the run's cases and entity scores (see ``docs/contract.md``)."""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import islice
from operator import eq

from .detectors import PATTERNS, Finding
from .explain import explain
from .ranking import rank_entities

__all__ = ["build_cases", "entity_scores"]


def build_cases(findings: list[Finding], *, min_score: float = 0.5, max_cases: int = 100000,
                name: Callable[[str, str, str], str] | None = None) -> list[dict]:
    """Keep findings scoring at least ``min_score``, best first, number and explain them.

    Ties are broken by pattern and first evidence claim, so the order (and the case ids)
    depend only on the findings. A finding whose evidence is wholly inside a better
    finding of the same pattern is dropped. ``name(kind, id, lang)`` writes entities in
    the stored explanations (ids by default).

    Examples
    --------
    >>> f = Finding("split_stay", 0.8, [("patient", "P1", "patient")], ["C2", "C1"],
    ...             ["分解住院"], {"stays": 2, "min_gap_days": 0, "total_amount": 1.0},
    ...             {"patient": "P1", "institution": "H1", "first_discharge": "2024-01-02",
    ...              "readmitted": "2024-01-02", "first_gap_days": 0, "diagnosis": "I10"})
    >>> [(c["case_id"], c["explanation"][:8]) for c in build_cases([f])]
    [('S-0001', '患者P1于202')]
    """
    with _collector_paused():
        return _build_cases(findings, min_score, max_cases, name)


def _build_cases(findings: list[Finding], min_score: float, max_cases: int,
                 name: Callable[[str, str, str], str] | None) -> list[dict]:
    if name is not None:
        name = _remembered(name)
    # Detectors mostly give their claims sorted and once each: then sorting is a pass.
    kept = []
    for f in findings:
        if f.score >= min_score:
            ids = sorted(f.claim_ids)
            if any(map(eq, ids, islice(ids, 1, None))):
                ids = sorted(set(ids))
            kept.append((f, ids))
    kept.sort(key=lambda fi: (-fi[0].score, fi[0].pattern, fi[1][0]))
    # A finding lies inside a kept one of its pattern only if a kept one holding its first
    # claim holds them all: so only first claims are indexed, and a holder is tested as a
    # set in C (no Python step per claim, no test per two cases).
    firsts: dict[str, set[str]] = defaultdict(set)
    for f, ids in kept:
        firsts[f.pattern].add(ids[0])
    holders: dict[str, dict[str, list[set[str]]]] = defaultdict(dict)
    cases, numbers = [], defaultdict(int)
    for f, ids in kept:
        held = holders[f.pattern]
        if any(g.issuperset(ids) for g in held.get(ids[0], ())):
            continue
        mine = set(ids)
        for i in firsts[f.pattern] & mine:
            held.setdefault(i, []).append(mine)
        numbers[f.pattern] += 1
        case = {
            "case_id": f"{PATTERNS[f.pattern].prefix}-{numbers[f.pattern]:04d}",
            "pattern": f.pattern,
            "score": round(float(f.score), 4),
            "members": [{"kind": k, "id": i, "role": r} for k, i, r in f.members],
            "claim_ids": ids,
            "rules": list(f.rules),
            "metrics": f.metrics,
            "details": f.details,
            "detector": f.detector,
        }
        for key, lang in (("explanation", "zh"), ("explanation_en", "en")):
            case[key] = explain(case, lang, (lambda k, i, lang=lang: name(k, i, lang))
                                if name else None)
        cases.append(case)
        if len(cases) >= max_cases:
            break
    return cases


def _remembered(name: Callable[[str, str, str], str]) -> Callable[[str, str, str], str]:
    """``name`` asked once per entity and language (a place is named in many cases)."""
    seen: dict[tuple[str, str, str], str] = {}

    def cached(kind: str, id: str, lang: str) -> str:
        key = (kind, id, lang)
        if key not in seen:
            seen[key] = name(kind, id, lang)
        return seen[key]
    return cached


def entity_scores(cases: list[dict], graph=None) -> list[tuple[str, str, float, str, int, str]]:
    """The triage table: a risk score in [0, 1], a rank and reasons per entity.

    With the run's ``graph``, every institution and doctor is scored (cases, share of its
    amount in cases, how unusual it is against its peers; see :mod:`graphdetect.ranking`),
    and every other entity named in a case from its cases: per pattern the strongest case,
    weighted by the pattern's ``role_weights`` for the entity's role, patterns combined
    as ``1 - prod(1 - weight * case score)``. Rows are ``(kind, id, score, patterns,
    rank, reasons)`` sorted by kind then id; rank is 1-based within the kind.

    >>> entity_scores([{"pattern": "split_stay", "score": 0.8,
    ...                 "members": [{"kind": "patient", "id": "P1", "role": "patient"}]}])
    [('patient', 'P1', 0.8, 'split_stay', 1, 'cases=1')]
    """
    with _collector_paused():
        return rank_entities(cases, graph)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused for a while.

    Cases and scores are some 10^5 small containers with no cycles (refcounts free them
    all). Made with the collector on, they set off collections, the more the more cases,
    and the full ones each walk the whole heap, which grows with the claims: the stage
    grew faster than the claims.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
