"""Turn detector findings into the run's cases and entity scores (see ``contract.md``)."""

from __future__ import annotations

from collections import defaultdict

from .detectors import Finding

__all__ = ["build_cases", "entity_scores", "CASE_PREFIX"]

CASE_PREFIX = {"collusion_ring": "R", "card_pooling": "K", "concurrent_stay": "C",
               "split_stay": "S"}
#: How much of a case's score an entity in a role carries into its entity score.
#: Institutions that merely host a person's concurrent or split stays carry less.
_ROLE_WEIGHT = {("concurrent_stay", "host"): 0.3, ("split_stay", "host"): 0.5,
                ("split_stay", "doctor"): 0.5}


def build_cases(findings: list[Finding], *, min_score: float = 0.5,
                max_cases: int = 100000) -> list[dict]:
    """Keep findings scoring at least ``min_score``, best first, and number them.

    Ties are broken by pattern and first evidence claim, so the order (and the case ids)
    depend only on the findings. A finding whose evidence is wholly inside a better
    finding of the same pattern is dropped.

    Examples
    --------
    >>> f = Finding("split_stay", 0.8, [("patient", "P1", "patient")], ["C2", "C1"],
    ...             ["分解住院"], "……", "...", {"stays": 2})
    >>> [c["case_id"] for c in build_cases([f])]
    ['S-0001']
    """
    kept = sorted((f for f in findings if f.score >= min_score),
                  key=lambda f: (-f.score, f.pattern, min(f.claim_ids)))
    seen: dict[str, list[set[str]]] = defaultdict(list)
    cases, numbers = [], defaultdict(int)
    for f in kept:
        ids = set(f.claim_ids)
        if any(ids <= s for s in seen[f.pattern]):
            continue
        seen[f.pattern].append(ids)
        numbers[f.pattern] += 1
        prefix = CASE_PREFIX.get(f.pattern, "X")
        cases.append({
            "case_id": f"{prefix}-{numbers[f.pattern]:04d}",
            "pattern": f.pattern,
            "score": round(float(f.score), 4),
            "members": [{"kind": k, "id": i, "role": r} for k, i, r in f.members],
            "claim_ids": sorted(ids),
            "rules": list(f.rules),
            "explanation": f.explanation,
            "explanation_en": f.explanation_en,
            "metrics": f.metrics,
            "detector": f.detector,
        })
        if len(cases) >= max_cases:
            break
    return cases


def entity_scores(cases: list[dict]) -> list[tuple[str, str, float, str]]:
    """A risk score in [0, 1] for every entity named in a case.

    Scores combine like independent evidence: ``1 - prod(1 - weight * case score)``.
    Rows are ``(kind, id, score, patterns)`` sorted by kind then id.
    """
    keep: dict[tuple[str, str], float] = defaultdict(lambda: 1.0)
    patterns: dict[tuple[str, str], set[str]] = defaultdict(set)
    for case in cases:
        for m in case["members"]:
            key = (m["kind"], m["id"])
            w = _ROLE_WEIGHT.get((case["pattern"], m["role"]), 1.0)
            keep[key] *= 1.0 - w * case["score"]
            patterns[key].add(case["pattern"])
    return [(k, i, round(1.0 - keep[(k, i)], 4), ";".join(sorted(patterns[(k, i)])))
            for k, i in sorted(keep)]
