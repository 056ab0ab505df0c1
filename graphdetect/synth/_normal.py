"""A year of ordinary care: outpatient visits, pharmacy purchases and inpatient stays.

Everything is drawn for all people at once (no loop per claim). Stays of one person never
overlap and are at least a week apart, and nobody buys medicine or sees an outpatient doctor
while in a hospital bed, so the only such signals in the data are the planted ones.
"""

from __future__ import annotations

import numpy as np

from . import _catalog as cat
from ._claims import (
    DAY,
    HOUR,
    clinic_time,
    concat,
    day_weights,
    fund,
    inpatient_bill,
    make,
    money,
    pharmacy_time,
    pick_doctor,
)
from ._people import age_band
from ._world import World

_OUT_TIERS = np.array([cat.VC, cat.HC, cat.SEC, cat.TERT, cat.PRIV, cat.CLINIC])
_OUT_P = {False: [0.38, 0.27, 0.17, 0.07, 0.05, 0.06], True: [0.15, 0.25, 0.22, 0.28, 0.05, 0.05]}
_INP_TIERS = np.array([cat.HC, cat.SEC, cat.TERT, cat.PRIV])
_INP_P = {False: [0.25, 0.45, 0.18, 0.12], True: [0.1, 0.35, 0.45, 0.1]}


def _route(rng: np.random.Generator, w: World, pat: np.ndarray, tiers: np.ndarray,
           probs: dict[bool, list[float]]) -> np.ndarray:
    """Pick an institution for each visit: a tier by the person's setting, then the place."""
    cum = {k: np.cumsum(v) for k, v in probs.items()}
    urban = w.pat_urban[pat]
    u = rng.random(len(pat))
    k = np.where(urban, np.searchsorted(cum[True], u, side="right"),
                 np.searchsorted(cum[False], u, side="right"))
    tier = tiers[np.minimum(k, len(tiers) - 1)]
    inst = np.empty(len(pat), dtype=np.int64)
    r = rng.random(len(pat))
    for t in np.unique(tier):
        m = tier == t
        p, town = pat[m], w.pat_town[pat[m]]
        if t == cat.VC:
            inst[m] = w.vil_vc[w.pat_vil[p]]
        elif t == cat.HC:
            inst[m] = w.town_hc[town]
        elif t == cat.SEC:
            inst[m] = w.county_sec[w.pat_county[p], (r[m] < 0.3).astype(np.int64)]
        elif t == cat.TERT:
            inst[m] = w.tert[np.floor(r[m] * len(w.tert)).astype(np.int64)]
        else:
            idx, off, cnt = w.town_priv if t == cat.PRIV else w.town_clinic
            inst[m] = idx[off[town] + np.floor(r[m] * cnt[town]).astype(np.int64)]
    return inst


def _diagnoses(rng: np.random.Generator, w: World, pat: np.ndarray, table: dict,
               chronic_share: float) -> np.ndarray:
    """Diagnosis per visit: the person's chronic code sometimes, else by age band."""
    band = age_band(w.pat_age[pat])
    dx = np.empty(len(pat), dtype=np.int64)
    for b, name in enumerate(("child", "adult", "elder")):
        m = band == b
        codes, wt = table[name]
        dx[m] = codes[rng.choice(len(codes), int(m.sum()), p=wt / wt.sum())]
    chronic = w.pat_chronic[pat]
    use = (chronic >= 0) & (rng.random(len(pat)) < chronic_share)
    return np.where(use, chronic, dx)


def outpatient(rng: np.random.Generator, w: World, days: int, p_day: np.ndarray) -> dict:
    """Outpatient visits: Poisson per person, more for the elderly and chronically ill."""
    lam = np.array([3.5, 3.0, 5.0])[age_band(w.pat_age)] + 2.5 * (w.pat_chronic >= 0)
    k = rng.poisson(lam * days / 365)
    pat = np.repeat(np.arange(w.n_pat), k)
    inst = _route(rng, w, pat, _OUT_TIERS, _OUT_P)
    dx = _diagnoses(rng, w, pat, cat.ACUTE, 0.5)
    tier = w.inst_tier[inst]
    er = (tier <= cat.SEC) & (rng.random(len(pat)) < 0.04)
    tod = np.where(er, rng.integers(0, DAY, len(pat)), clinic_time(rng, len(pat)))
    start = rng.choice(days, len(pat), p=p_day) * DAY + tod
    total = money(rng, cat.OUT_BASE[tier] * cat.DIAG_PRICE[dx], 0.6)
    vt = np.full(len(pat), cat.OUT)
    return make(pat, inst, vt, start, total, doc=pick_doctor(rng, w, inst, dx, pat), dx=dx,
                fund=fund(rng, w, inst, vt, total))


def pharmacy(rng: np.random.Generator, w: World, days: int, p_day: np.ndarray) -> dict:
    """Monthly chronic refills (pharmacy or a clinic near home) and occasional purchases."""
    chronic = np.flatnonzero(w.pat_chronic >= 0)
    months = int(np.ceil(days / 30))
    pat = np.repeat(chronic, months)
    phase = rng.integers(0, 30, len(chronic))
    day = np.repeat(phase, months) + np.tile(np.arange(months) * 30, len(chronic))
    day = day + rng.integers(-4, 5, len(pat))
    keep = (day >= 0) & (day < days) & (rng.random(len(pat)) < 0.85)
    pat, day = pat[keep], day[keep]
    dx = w.pat_chronic[pat]
    at_pharm = rng.random(len(pat)) < 0.65
    clinic = np.where(w.pat_urban[pat], w.town_hc[w.pat_town[pat]], w.vil_vc[w.pat_vil[pat]])
    inst = np.where(at_pharm, w.pat_pharm[pat], clinic)
    vt = np.where(at_pharm, cat.PHA, cat.OUT)
    tod = np.where(at_pharm, pharmacy_time(rng, len(pat)), clinic_time(rng, len(pat)))
    base = np.where(at_pharm, 160.0, 120.0) * cat.DIAG_PRICE[dx]
    total = money(rng, base, 0.35)
    doc = np.where(at_pharm, -1, pick_doctor(rng, w, inst, dx, pat, usual=0.9))
    refills = make(pat, inst, vt, day * DAY + tod, total, doc=doc, dx=dx,
                   fund=np.where(at_pharm, total // 2, fund(rng, w, inst, vt, total)))
    # Over-the-counter purchases, mostly at the usual pharmacy.
    k = rng.poisson(2.0 * days / 365, w.n_pat)
    pat = np.repeat(np.arange(w.n_pat), k)
    idx, off, cnt = w.town_pharm
    town = w.pat_town[pat]
    other = idx[off[town] + np.floor(rng.random(len(pat)) * cnt[town]).astype(np.int64)]
    inst = np.where(rng.random(len(pat)) < 0.8, w.pat_pharm[pat], other)
    start = rng.choice(days, len(pat), p=p_day) * DAY + pharmacy_time(rng, len(pat))
    total = money(rng, np.full(len(pat), 55.0), 0.7)
    vt = np.full(len(pat), cat.PHA)
    otc = make(pat, inst, vt, start, total, fund=fund(rng, w, inst, vt, total))
    return concat([refills, otc])


def inpatient(rng: np.random.Generator, w: World, days: int, p_day: np.ndarray) -> dict:
    """Inpatient stays for roughly 8% of people a year, 2-20 days, billed by tier."""
    rate = np.array([0.05, 0.06, 0.14])[age_band(w.pat_age)] + 0.06 * (w.pat_chronic >= 0)
    k = rng.poisson(rate * days / 365)
    pat = np.repeat(np.arange(w.n_pat), k)
    inst = _route(rng, w, pat, _INP_TIERS, _INP_P)
    dx = _diagnoses(rng, w, pat, cat.INPATIENT, 0.15)
    dx = np.where(cat.DIAG_LOS[dx] > 0, dx, cat.DX["J18.9"])
    birth_ok = (w.pat_sex[pat] == 1) & (w.pat_age[pat] >= 18) & (w.pat_age[pat] <= 45)
    dx = np.where((dx == cat.DX["O80"]) & ~birth_ok, cat.DX["J18.9"], dx)
    tier = w.inst_tier[inst]
    factor = np.select([tier == cat.TERT, tier == cat.HC], [1.15, 0.85], 1.0)
    los = np.clip(np.round(cat.DIAG_LOS[dx] * factor * rng.lognormal(0, 0.35, len(pat))), 2, 20)
    los = los.astype(np.int64)
    er = rng.random(len(pat)) < 0.1
    tod = np.where(er, rng.integers(0, DAY, len(pat)), 8 * HOUR + rng.integers(0, 9 * HOUR,
                                                                             len(pat)))
    day = rng.choice(days, len(pat), p=p_day)
    start = day * DAY + tod
    end = (day + los) * DAY + 9 * HOUR + rng.integers(0, int(2.5 * HOUR), len(pat))
    total = inpatient_bill(rng, w, inst, dx, los)
    vt = np.full(len(pat), cat.INP)
    stays = make(pat, inst, vt, start, total, end=end, dx=dx,
                 doc=pick_doctor(rng, w, inst, dx, pat, usual=0.5),
                 fund=fund(rng, w, inst, vt, total))
    keep = (end < days * DAY) & _spaced(pat, start, end, 7 * DAY)
    return {c: v[keep] for c, v in stays.items()}


def _spaced(pat: np.ndarray, start: np.ndarray, end: np.ndarray, gap: int) -> np.ndarray:
    """Mask keeping a stay only if it starts ``gap`` after every earlier stay of the person
    has ended (earlier dropped stays count too, which only makes it stricter)."""
    if len(pat) == 0:
        return np.zeros(0, dtype=bool)
    order = np.lexsort((start, pat))
    big = int(end.max()) + gap + 1
    key = pat[order].astype(np.int64) * big + end[order]
    prev = np.maximum.accumulate(key)
    prev = np.concatenate([[-1], prev[:-1]])
    same = (prev >= 0) & (prev // big == pat[order])
    ok = ~same | (start[order] >= prev - pat[order].astype(np.int64) * big + gap)
    keep = np.empty(len(pat), dtype=bool)
    keep[order] = ok
    return keep


def in_stay(pat: np.ndarray, t: np.ndarray, stays: dict) -> np.ndarray:
    """True where person ``pat`` is in a hospital bed (of ``stays``) at time ``t``.

    Stays of one person must not overlap.
    """
    if len(stays["pat"]) == 0 or len(pat) == 0:
        return np.zeros(len(pat), dtype=bool)
    big = int(max(stays["end"].max(), t.max())) + 1
    skey = stays["pat"].astype(np.int64) * big + stays["start"]
    order = np.argsort(skey, kind="stable")
    skey, send, spat = skey[order], stays["end"][order], stays["pat"][order]
    j = np.searchsorted(skey, pat.astype(np.int64) * big + t, side="right") - 1
    jj = np.maximum(j, 0)
    return (j >= 0) & (spat[jj] == pat) & (t <= send[jj])


def normal_year(rng: np.random.Generator, w: World, days: int, start_weekday: int) -> tuple:
    """All ordinary claims, plus the inpatient stays among them (for later checks)."""
    p_day = day_weights(days, start_weekday)
    stays = inpatient(rng, w, days, p_day)
    other = concat([outpatient(rng, w, days, p_day), pharmacy(rng, w, days, p_day)])
    busy = in_stay(other["pat"], other["start"], stays)
    other = {c: v[~busy] for c, v in other.items()}
    return concat([stays, other]), stays

