"""Planted inpatient anomalies (concurrent stays, split stays) and the clean-up that keeps
ordinary claims from blurring any planted stay."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np

from . import _catalog as cat
from ._claims import (
    DAY,
    HOUR,
    concat,
    inpatient_bill,
    make,
    money,
    pharmacy_time,
    pick_doctor,
    take,
)
from ._shared import meta


def _person(rng: np.random.Generator, ctx: SimpleNamespace, min_age: int) -> int | None:
    """Next untaken person aged ``min_age`` or more from a shuffled queue of everyone."""
    if not hasattr(ctx, "queue"):
        ctx.queue, ctx.qpos = rng.permutation(ctx.w.n_pat), 0
    while ctx.qpos < len(ctx.queue):
        p = int(ctx.queue[ctx.qpos])
        ctx.qpos += 1
        if not ctx.taken[p] and ctx.w.pat_age[p] >= min_age:
            ctx.taken[p] = True
            return p
    return None


def _stay(rng, w, p, inst, dx, day, los, tod=None):
    """One inpatient claim for person ``p`` (admitted ``day`` at ``tod``, ``los`` days)."""
    tod = 8 * HOUR + int(rng.integers(0, 9 * HOUR)) if tod is None else tod
    pat, inst_a, dx_a = np.array([p]), np.array([inst]), np.array([dx])
    total = inpatient_bill(rng, w, inst_a, dx_a, np.array([los]))
    return dict(pat=pat, inst=inst_a, dx=dx_a, start=day * DAY + tod, total=total,
                end=(day + los) * DAY + 9 * HOUR + int(rng.integers(0, 5400)),
                fund=np.floor(total * cat.INP_RATIO[w.inst_tier[inst]]).astype(np.int64))


def _near(rng, w, p, tier):
    t = w.pat_town[p]
    if tier == cat.HC:
        return int(w.town_hc[t])
    if tier == cat.SEC:
        return int(w.county_sec[w.pat_county[p], 0])
    if tier == cat.TERT:
        return int(rng.choice(w.tert))
    idx, off, cnt = w.town_priv
    return int(idx[off[t] + rng.integers(cnt[t])])


def _concurrent(rng: np.random.Generator, ctx: SimpleNamespace, specs: list, tag0: int,
                variant: str) -> list:
    w, days = ctx.w, ctx.days
    elder = cat.INPATIENT["elder"][0]
    out = []
    for p in specs:
        p0 = _person(rng, ctx, 45)
        if p0 is None:
            break
        a = _near(rng, w, p0, cat.SEC if rng.random() < 0.6 else cat.TERT)
        b = _near(rng, w, p0, cat.PRIV if rng.random() < 0.7 else cat.HC)
        los_a = int(p["first_days"])
        day_a = int(rng.integers(0, days - 30))
        day_b = day_a + int(rng.integers(1, los_a))
        stays = [_stay(rng, w, p0, a, int(rng.choice(elder)), day_a, los_a),
                 _stay(rng, w, p0, b, int(rng.choice(cat.RING_CODES)), day_b,
                       int(p["second_days"]))]
        parts = []
        for s in stays:
            doc = pick_doctor(rng, w, s["inst"], s["dx"], s["pat"], usual=0.5)
            parts.append(make(s["pat"], s["inst"], cat.INP, s["start"], s["total"], end=s["end"],
                              dx=s["dx"], doc=doc, fund=s["fund"], tag=tag0 + len(out)))
        if variant == "two_institutions_pharmacy":
            t = (day_a + int(rng.integers(1, los_a))) * DAY + pharmacy_time(rng, 1)
            total = money(rng, np.array([90.0]), 0.5)
            parts.append(make(np.array([p0]), w.pat_pharm[p0], cat.PHA, t, total,
                              dx=w.pat_chronic[p0], fund=total // 2, tag=tag0 + len(out)))
        out.append((concat(parts), meta(variant, p)))
    return out


def two_institutions(rng: np.random.Generator, ctx: SimpleNamespace, specs: list,
                     tag0: int) -> list:
    """People billed as in bed at two institutions at once."""
    return _concurrent(rng, ctx, specs, tag0, "two_institutions")


def two_institutions_pharmacy(rng: np.random.Generator, ctx: SimpleNamespace, specs: list,
                              tag0: int) -> list:
    """The same, buying medicine at a pharmacy during the first stay too."""
    return _concurrent(rng, ctx, specs, tag0, "two_institutions_pharmacy")


def readmission_same_diagnosis(rng: np.random.Generator, ctx: SimpleNamespace, specs: list,
                               tag0: int) -> list:
    """Discharge then readmission to the same place within 0-2 days, same diagnosis."""
    w, days = ctx.w, ctx.days
    codes = np.concatenate([cat.INPATIENT["adult"][0], cat.INPATIENT["elder"][0]])
    codes = np.unique(codes[codes != cat.DX["O80"]])
    out = []
    for p in specs:
        p0 = _person(rng, ctx, 40)
        if p0 is None:
            break
        inst = _near(rng, w, p0, int(rng.choice([cat.HC, cat.SEC, cat.SEC, cat.PRIV])))
        dx = int(rng.choice(codes))
        los1, gap = int(p["first_days"]), int(p["gap_days"])
        day1 = int(rng.integers(0, days - 40))
        first = _stay(rng, w, p0, inst, dx, day1, los1)
        tod = 14 * HOUR + int(rng.integers(0, 3 * HOUR)) if gap == 0 else None
        second = _stay(rng, w, p0, inst, dx, day1 + los1 + gap, int(p["second_days"]), tod)
        doc = pick_doctor(rng, w, first["inst"], first["dx"], first["pat"], usual=1.0)
        claims = concat([make(s["pat"], s["inst"], cat.INP, s["start"], s["total"], end=s["end"],
                              dx=s["dx"], doc=doc, fund=s["fund"], tag=tag0 + len(out))
                         for s in (first, second)])
        out.append((claims, meta("readmission_same_diagnosis", p)))
    return out


def clear_around(other: dict, planted: dict, margin: int = 7 * DAY) -> np.ndarray:
    """Mask of ``other`` claims to keep: drops a planted person's ordinary stays within
    ``margin`` of a planted stay and their other claims during one."""
    inp = planted["vt"] == cat.INP
    order = np.argsort(planted["pat"][inp], kind="stable")
    ppat = planted["pat"][inp][order]
    ps, pe = planted["start"][inp][order], planted["end"][inp][order]
    cand = np.flatnonzero(np.isin(other["pat"], ppat))
    lo = np.searchsorted(ppat, other["pat"][cand])
    rep = np.searchsorted(ppat, other["pat"][cand], side="right") - lo
    ci = np.repeat(cand, rep)
    pj = np.repeat(lo - np.concatenate([[0], np.cumsum(rep)[:-1]]), rep) + np.arange(rep.sum())
    s, e = other["start"][ci], other["end"][ci]
    clash = np.where(other["vt"][ci] == cat.INP, (s < pe[pj] + margin) & (e > ps[pj] - margin),
                     (s >= ps[pj]) & (s <= pe[pj]))
    keep = np.ones(len(other["pat"]), dtype=bool)
    keep[ci[clash]] = False
    return keep


#: Settlement days an export may cut stays on (``generate(..., settle=...)``).
SETTLE = ("year", "month")


def settle(claims: dict, start: dt.date, days: int, how: str) -> dict:
    """Every inpatient claim in bed over a settlement night cut there: settled at 16:30 on
    the last day of a year (``"year"``, 跨年度结算) or of every month (``"month"``,
    中途结算) and resumed at midnight as a new claim of the same patient, place, doctor,
    diagnosis and tag, the bill shared by the time in each part. Stays admitted after
    16:30 that day go on uncut."""
    first = np.datetime64(start, "M")
    months = np.arange(first, first + days // 28 + 2)
    if how == "year":
        months = months[(months.astype(int) + 1) % 12 == 0]
    # midnight after each settlement day, in seconds after the first midnight
    bounds = ((months + 1).astype("datetime64[D]") - np.datetime64(start, "D")).astype(np.int64)
    bounds = bounds[(bounds > 0) & (bounds < days)] * DAY
    inp = claims["vt"] == cat.INP
    stays, rest = take(claims, inp), take(claims, ~inp)
    evening = 7 * HOUR + 30 * 60   # from the settlement at 16:30 to midnight
    for b in bounds - evening:
        cut = (stays["start"] < b) & (stays["end"] > b + evening)
        if not cut.any():
            continue
        later = take(stays, cut)
        share = (b - later["start"]) / (later["end"] - later["start"])
        for col in ("total", "fund"):   # a missing fund (-1) stays missing in both
            whole = later[col]
            part = np.where(whole >= 0, np.floor(whole * share).astype(np.int64), whole)
            stays[col][cut], later[col] = part, np.where(whole >= 0, whole - part, whole)
        stays["end"][cut] = b
        later["start"] = np.full(len(later["start"]), b + evening)
        stays = concat([stays, later])
    return concat([rest, stays])
