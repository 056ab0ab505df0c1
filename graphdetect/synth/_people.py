"""Insured people: households, ages, sex, chronic conditions, ids, cards and contact hashes."""

from __future__ import annotations

import numpy as np

from . import _catalog as cat
from ._world import World

_HH_SIZES = np.array([1, 2, 3, 4, 5])
_HH_P = np.array([0.18, 0.34, 0.2, 0.16, 0.12])


def hex_hashes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Return ``n`` random 64-character lowercase hex strings (sha-256 look-alikes).

    >>> import numpy as np
    >>> h = hex_hashes(np.random.default_rng(0), 3)
    >>> h.shape, len(h[0])
    ((3,), 64)
    """
    raw = rng.bytes(32 * n).hex().encode("ascii")
    return np.frombuffer(raw, dtype="S64").astype("U64") if n else np.empty(0, "U64")


def _affine_serials(rng: np.random.Generator, n: int, modulus: int) -> np.ndarray:
    """Distinct, scattered serial numbers in [0, modulus): an affine bijection of 0..n-1."""
    a = int(rng.integers(modulus // 7, modulus // 3)) | 1
    while a % 5 == 0:
        a += 2
    b = int(rng.integers(0, modulus))
    return (np.arange(n, dtype=np.int64) * a + b) % modulus


def build_patients(rng: np.random.Generator, w: World, start_ord: int) -> None:
    """Add patients to the world, grouped by village then household (see module doc)."""
    n = int(w.vil_size.sum())
    vil = np.repeat(np.arange(w.n_vil), w.vil_size)
    # Households: sizes drawn in sequence, cut again at every village boundary.
    hs = rng.choice(_HH_SIZES, size=n, p=_HH_P)
    flags = np.zeros(n, dtype=bool)
    ends = np.cumsum(hs)
    flags[ends[ends < n]] = True
    flags[0] = True
    flags[np.cumsum(w.vil_size)[:-1][w.vil_size[1:] > 0]] = True
    hh = np.cumsum(flags) - 1
    n_hh = int(hh[-1]) + 1 if n else 0
    hh_start = np.flatnonzero(flags)
    pos = np.arange(n) - hh_start[hh]
    size = np.bincount(hh, minlength=n_hh)[hh]
    # Ages: a head per household, then spouse, children, grandchildren around it.
    urban = w.town_urban[w.vil_town[vil]]
    h_small = rng.random(n_hh) < np.where(urban[hh_start], 0.35, 0.6)
    h_old = 60 + 32 * rng.beta(1.3, 2.5, n_hh)
    three_gen = rng.random(n_hh) < 0.35
    head = np.where(size[hh_start] <= 2, np.where(h_small, h_old, rng.uniform(22, 60, n_hh)),
                    np.where(three_gen, rng.uniform(56, 82, n_hh), rng.uniform(28, 58, n_hh)))
    hage, tg = head[hh], three_gen[hh]
    gap = rng.uniform(22, 35, n)
    age = np.select([pos == 0, pos == 1, pos == 2, (pos == 3) & tg, pos == 3, tg],
                    [hage, hage + rng.normal(0, 3, n), hage - gap, hage - gap - rng.normal(0, 2, n),
                     hage - gap - 3, hage - gap - rng.uniform(22, 32, n)],
                    hage - gap - 5)
    age = np.where(age < 0, rng.uniform(0, 6, n), np.clip(age, 0, 99))
    sex = rng.integers(0, 2, n)
    sex = np.where(pos == 1, 1 - sex[np.maximum(np.arange(n) - 1, 0)], sex)
    w.n_pat = n
    w.pat_vil = vil
    w.pat_town = w.vil_town[vil]
    w.pat_county = w.town_county[w.pat_town]
    w.pat_urban = urban
    w.pat_hh = hh
    w.pat_age = np.floor(age).astype(np.int64)
    w.pat_sex = sex.astype(np.int8)
    w.pat_birth = start_ord - np.floor(age * 365.25).astype(np.int64) - 1
    w.start_ord = start_ord
    w.pat_chronic = _chronic(rng, w.pat_age)
    w.pat_key = rng.integers(0, 2**31, n)
    # Ids, cards, contact hashes; usual pharmacy.
    w.pat_serial = _affine_serials(rng, n, 10**10)
    w.card_serial = _affine_serials(rng, n, 10**8)
    w.phone = hex_hashes(rng, n_hh)
    w.addr = hex_hashes(rng, n_hh)
    w.pat_phone = hh.copy()
    w.pat_addr = hh.copy()
    idx, off, cnt = w.town_pharm
    w.pat_pharm = idx[off[w.pat_town] + (w.pat_key % cnt[w.pat_town])]


def _chronic(rng: np.random.Generator, age: np.ndarray) -> np.ndarray:
    """Chronic conditions by age (about a quarter of people, most of the elderly)."""
    p_chronic = np.select([age < 40, age < 60, age < 75], [0.04, 0.25, 0.5], 0.6)
    has = rng.random(len(age)) < p_chronic
    ccodes, cw = cat.CHRONIC
    return np.where(has, ccodes[rng.choice(len(ccodes), len(age), p=cw / cw.sum())], -1)


def set_people(rng: np.random.Generator, w: World, idx: np.ndarray, age: np.ndarray,
               sex: np.ndarray) -> None:
    """Give people ``idx`` new ages (years, fractional) and sexes, and chronic conditions
    that fit them."""
    w.pat_age[idx] = np.floor(age).astype(np.int64)
    w.pat_birth[idx] = w.start_ord - np.floor(age * 365.25).astype(np.int64) - 1
    w.pat_sex[idx] = sex
    w.pat_chronic[idx] = _chronic(rng, w.pat_age[idx])


def age_band(age: np.ndarray) -> np.ndarray:
    """0 for children (< 15), 1 for adults (< 60), 2 for the elderly."""
    return np.select([age < 15, age < 60], [0, 1], 2)


def reserve_hash(w: World, field: str) -> int:
    """Index of one new ``"phone"`` or ``"addr"`` hash, made later by ``make_reserved``
    (so that many new hashes cost one concatenation)."""
    pending = w.__dict__.setdefault("pending_hashes", {"phone": 0, "addr": 0})
    k = len(getattr(w, field)) + pending[field]
    pending[field] += 1
    return k


def make_reserved(rng: np.random.Generator, w: World) -> None:
    """Create the hashes ``reserve_hash`` handed out."""
    pending = w.__dict__.get("pending_hashes", {})
    for field in ("phone", "addr"):
        if pending.get(field):
            setattr(w, field, np.concatenate([getattr(w, field),
                                              hex_hashes(rng, pending[field])]))
            pending[field] = 0
