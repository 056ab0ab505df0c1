"""Turn detector findings into the run's cases and entity scores (see ``docs/contract.md``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from .detectors import PATTERNS, Finding
from .explain import explain

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
    ...             ["分解住院"], {"stays": 2, "min_gap_days": 0, "total_amount": 1.0,
    ...             "diagnosis": "I10"}, {"patient": "P1", "institution": "H1",
    ...             "first_discharge": "2024-01-02", "readmitted": "2024-01-02",
    ...             "first_gap_days": 0})
    >>> [(c["case_id"], c["explanation"][:8]) for c in build_cases([f])]
    [('S-0001', '患者P1于202')]
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
        case = {
            "case_id": f"{PATTERNS[f.pattern].prefix}-{numbers[f.pattern]:04d}",
            "pattern": f.pattern,
            "score": round(float(f.score), 4),
            "members": [{"kind": k, "id": i, "role": r} for k, i, r in f.members],
            "claim_ids": sorted(ids),
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


def entity_scores(cases: list[dict]) -> list[tuple[str, str, float, str]]:
    """A risk score in [0, 1] for every entity named in a case.

    Scores combine like independent evidence: ``1 - prod(1 - weight * case score)``, the
    weight being the pattern's ``role_weights`` for the entity's role (1 by default).
    Rows are ``(kind, id, score, patterns)`` sorted by kind then id.
    """
    keep: dict[tuple[str, str], float] = defaultdict(lambda: 1.0)
    patterns: dict[tuple[str, str], set[str]] = defaultdict(set)
    for case in cases:
        p = PATTERNS.get(case["pattern"])
        for m in case["members"]:
            key = (m["kind"], m["id"])
            w = p.role_weights.get(m["role"], 1.0) if p else 1.0
            keep[key] *= 1.0 - w * case["score"]
            patterns[key].add(case["pattern"])
    return [(k, i, round(1.0 - keep[(k, i)], 4), ";".join(sorted(patterns[(k, i)])))
            for k, i in sorted(keep)]
