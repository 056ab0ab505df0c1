"""Claims as a dict of equal-length numpy columns, and the samplers every stage shares.

Columns (internal): ``pat``, ``inst``, ``doc`` (-1 none), ``vt`` (visit type code),
``start`` and ``end`` (seconds after the first midnight; ``end`` -1 unless inpatient),
``total`` and ``fund`` (cents), ``dx`` (diagnosis index, -1 none), ``term`` and ``op``
(-1: assign at the end), ``tag`` (0 normal, k > 0 planted group k, -k look-alike k).
"""

from __future__ import annotations

import numpy as np

from . import _catalog as cat
from ._world import World

DAY = 86_400
HOUR = 3_600
_DTYPES = {"pat": np.int32, "inst": np.int32, "doc": np.int32, "vt": np.int8,
           "start": np.int64, "end": np.int64, "total": np.int64, "fund": np.int64,
           "dx": np.int16, "term": np.int32, "op": np.int32, "tag": np.int32}
COLUMNS = tuple(_DTYPES)


def make(pat, inst, vt, start, total, **extra) -> dict[str, np.ndarray]:
    """Build a claims dict; omitted columns get their "none" value (-1, tag 0)."""
    n = len(np.atleast_1d(pat))
    given = dict(pat=pat, inst=inst, vt=vt, start=start, total=total, **extra)
    out = {}
    for col, dt in _DTYPES.items():
        default = 0 if col == "tag" else -1
        out[col] = np.broadcast_to(np.asarray(given.get(col, default)), (n,)).astype(dt)
    return out


def concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Concatenate claims dicts column by column."""
    return {c: np.concatenate([p[c] for p in parts]) for c in COLUMNS}


def take(claims: dict[str, np.ndarray], idx: np.ndarray) -> dict[str, np.ndarray]:
    """Select rows (boolean mask or integer index) from every column."""
    return {c: v[idx] for c, v in claims.items()}


def day_weights(days: int, start_weekday: int) -> np.ndarray:
    """Probability of each day for routine care: busy Mondays, quiet Sundays, winter peak."""
    d = np.arange(days)
    dow = np.array([1.25, 1.05, 1.05, 1.0, 1.0, 0.8, 0.6])[(d + start_weekday) % 7]
    season = 1 + 0.2 * np.cos(2 * np.pi * d / 365.25)
    w = dow * season
    return w / w.sum()


def clinic_time(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds into the day for a clinic visit: mornings 8:00-11:30, afternoons 14:00-17:30."""
    morning = rng.random(n) < 0.65
    return np.where(morning, 8 * HOUR, 14 * HOUR) + rng.integers(0, int(3.5 * HOUR), n)


def pharmacy_time(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds into the day for a pharmacy purchase inside opening hours (8:00-21:00)."""
    band = rng.choice(3, size=n, p=[0.45, 0.2, 0.35])
    return np.array([8, 12, 16])[band] * HOUR + rng.integers(0, 4 * HOUR, n) + (band == 2) * \
        rng.integers(0, HOUR, n)


def money(rng: np.random.Generator, base: np.ndarray | float, sigma: float) -> np.ndarray:
    """Lognormal amounts around ``base`` yuan, in cents (at least 1 yuan)."""
    base = np.asarray(base, dtype=np.float64)
    val = base * rng.lognormal(-sigma * sigma / 2, sigma, base.shape)
    return np.maximum(np.round(val * 100), 100).astype(np.int64)


def fund(rng: np.random.Generator, w: World, inst: np.ndarray, vt: np.ndarray,
         total: np.ndarray) -> np.ndarray:
    """Fund share in cents: by tier and visit type, with some wholly self-paid claims."""
    tier = w.inst_tier[inst]
    ratio = np.where(vt == cat.INP, cat.INP_RATIO[tier], cat.OUT_RATIO[tier])
    ratio = np.where((vt != cat.INP) & (rng.random(len(total)) < 0.1), 0.0, ratio)
    return np.floor(total * ratio).astype(np.int64)


def pick_doctor(rng: np.random.Generator, w: World, inst: np.ndarray, dx: np.ndarray,
                pat: np.ndarray, usual: float = 0.75) -> np.ndarray:
    """A doctor of ``inst`` whose specialty fits the diagnosis (children to paediatrics when
    there is one), usually the patient's usual doctor there; -1 at pharmacies."""
    spec = cat.DIAG_SPEC[np.maximum(dx, 0)].astype(np.int64)
    spec = np.where(dx < 0, w.inst_general[inst], spec)
    kid = (w.pat_age[pat] < 15) & (w.spec_cnt[inst, cat.S_PED] > 0)
    spec = np.where(kid, cat.S_PED, spec)
    spec = np.where(w.spec_cnt[inst, spec] > 0, spec, w.inst_general[inst])
    cnt = w.spec_cnt[inst, spec]
    off = w.spec_off[inst, spec]
    habit = (w.pat_key[pat] + spec) % np.maximum(cnt, 1)
    rand = np.floor(rng.random(len(inst)) * cnt).astype(np.int64)
    doc = off + np.where(rng.random(len(inst)) < usual, habit, rand)
    return np.where(cnt > 0, doc, -1)


def assign_desks(rng: np.random.Generator, w: World, claims: dict[str, np.ndarray]) -> None:
    """Fill unset terminals (a random one of the institution) and operators (mostly the
    terminal's usual cashier) in place."""
    inst = claims["inst"]
    need = claims["term"] < 0
    rnd = rng.random(len(inst))
    term = w.term_off[inst] + np.floor(rnd * w.term_cnt[inst]).astype(np.int64)
    claims["term"] = np.where(need, term, claims["term"]).astype(np.int32)
    need = claims["op"] < 0
    t = claims["term"]
    other = w.op_off[inst] + np.floor(rng.random(len(inst)) * w.op_cnt[inst]).astype(np.int64)
    op = np.where(rng.random(len(inst)) < 0.85, w.term_op[t], other)
    claims["op"] = np.where(need, op, claims["op"]).astype(np.int32)


def inpatient_bill(rng: np.random.Generator, w: World, inst: np.ndarray, dx: np.ndarray,
                   los: np.ndarray) -> np.ndarray:
    """Inpatient bill in cents: days times the tier's daily cost, plus surgery."""
    tier = w.inst_tier[inst]
    surgery = cat.DIAG_SURGERY[dx] * np.where(tier == cat.TERT, 1.4, 1.0)
    return money(rng, los * cat.DAY_COST[tier] + surgery, 0.3)
