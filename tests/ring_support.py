"""What the collusion_ring test modules share: running the detector and matching cases."""

from __future__ import annotations

import pandas as pd

from graphdetect.cases import build_cases
from graphdetect.detectors import collusion_ring

START = pd.Timestamp("2024-01-01")


def cases_of(graph, **params) -> list[dict]:
    return build_cases(collusion_ring(graph, **params))


def matching(cases: list[dict], members, share: float = 0.5) -> list[dict]:
    """Cases holding at least half the given patients, at least half of theirs among them."""
    members = set(members)
    out = []
    for c in cases:
        mine = {m["id"] for m in c["members"] if m["kind"] == "patient"}
        both = len(mine & members)
        if both >= share * len(members) and both >= 0.5 * len(mine):
            out.append(c)
    return out


def attended(frame: pd.DataFrame) -> set[str]:
    return set(frame["patient_id"])
