"""The static world: counties, townships, villages, institutions, doctors, terminals, operators.

Sizes scale with the number of insured people: villages of ~300-800 people, ~10 villages per
township, ~12 townships per county. County 0 is the city district; it holds the tertiary
hospitals and, when the world is big enough, a few urban sub-districts (街道) whose "villages"
are residential communities (社区).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from . import _catalog as cat


class World(SimpleNamespace):
    """Mutable bag of numpy arrays describing the world (see ``build_world``)."""


def _names(rng: np.random.Generator, n: int, first: str, second: str) -> list[str]:
    pool = [a + b for a in first for b in second]
    pick = rng.choice(len(pool), size=n, replace=n > len(pool))
    return [pool[i] for i in pick]


def _person_names(rng: np.random.Generator, n: int) -> list[str]:
    sur = rng.integers(0, len(cat.SURNAMES), n)
    g1 = rng.integers(0, len(cat.GIVEN), n)
    g2 = rng.integers(0, len(cat.GIVEN), n)
    two = rng.random(n) < 0.6
    return [cat.SURNAMES[s] + cat.GIVEN[a] + (cat.GIVEN[b] if t else "")
            for s, a, b, t in zip(sur, g1, g2, two, strict=True)]


def build_geography(rng: np.random.Generator, n_patients: int) -> World:
    """Lay out counties, townships and villages and split ``n_patients`` among villages."""
    n_vil = max(1, round(n_patients / 550))
    n_town = max(1 if n_vil < 4 else 2, round(n_vil / 10))
    n_county = min(97, max(1, round(n_town / 12)))
    town_county = (np.arange(n_town) * n_county) // n_town
    in_c0 = int(np.sum(town_county == 0))
    n_urban = round(0.3 * in_c0) if in_c0 >= 3 else 0
    town_urban = np.zeros(n_town, dtype=bool)
    town_urban[:n_urban] = True
    vil_town = np.sort(np.concatenate([np.arange(n_town),
                                       rng.integers(0, n_town, max(0, n_vil - n_town))]))
    # Residents per village: weights, then an exact split of n_patients.
    urban_v = town_urban[vil_town]
    w = np.where(urban_v, rng.uniform(1200, 3000, n_vil), rng.uniform(300, 800, n_vil))
    share = w / w.sum() * n_patients
    sizes = np.floor(share).astype(np.int64)
    rest = n_patients - int(sizes.sum())
    sizes[np.argsort(-(share - sizes), kind="stable")[:rest]] += 1
    # Coordinates in km: counties on a 40 km grid, townships inside, villages around them.
    gw = int(np.ceil(np.sqrt(n_county)))
    origin = np.stack([(np.arange(n_county) % gw) * 40.0, (np.arange(n_county) // gw) * 40.0], 1)
    town_xy = origin[town_county] + rng.uniform(3, 37, (n_town, 2))
    town_xy[town_urban] = origin[0] + 20 + rng.normal(0, 2.0, (n_urban, 2))
    vil_xy = town_xy[vil_town] + rng.normal(0, 1, (n_vil, 2)) * np.where(urban_v, 0.8, 2.5)[:, None]
    # Codes: county (6) + township (3) + village (3).
    county_code = [str(339902 + c) for c in range(n_county)]
    town_seq = np.arange(n_town) - np.searchsorted(town_county, town_county)
    town_code = [f"{county_code[c]}{s + 1:03d}" for c, s in zip(town_county, town_seq, strict=True)]
    vil_seq = np.arange(n_vil) - np.searchsorted(vil_town, vil_town)
    vil_code = [f"{town_code[t]}{s + 1:03d}" for t, s in zip(vil_town, vil_seq, strict=True)]
    county_name = [n + ("区" if c == 0 else "县")
                   for c, n in enumerate(_names(rng, n_county, cat.PLACE_A, cat.PLACE_B))]
    town_name = [n + ("街道" if u else "镇")
                 for n, u in zip(_names(rng, n_town, cat.PLACE_A, cat.PLACE_B), town_urban,
                                 strict=True)]
    vil_name = [n + ("社区" if u else "村")
                for n, u in zip(_names(rng, n_vil, cat.SURNAMES, cat.PLACE_B), urban_v,
                                strict=True)]
    return World(n_county=n_county, n_town=n_town, n_vil=n_vil, town_county=town_county,
                 town_urban=town_urban, vil_town=vil_town, vil_size=sizes, town_xy=town_xy,
                 vil_xy=vil_xy, county_code=county_code, town_code=town_code, vil_code=vil_code,
                 county_name=county_name, town_name=town_name, vil_name=vil_name)


def _place_towns(rng: np.random.Generator, w: World, n: int) -> np.ndarray:
    pop = np.bincount(w.vil_town, weights=w.vil_size, minlength=w.n_town)
    first = np.arange(min(n, w.n_town))
    more = rng.choice(w.n_town, size=n - len(first), p=pop / pop.sum())
    return np.sort(np.concatenate([first, more])).astype(np.int64)


def build_institutions(rng: np.random.Generator, w: World, n_patients: int) -> None:
    """Add institutions (tier, level, ownership, place, name, id, region) to the world."""
    rows = []  # (tier, level, public, county, town, village, name)
    for i in range(1 if n_patients < 10_000 else 2):
        rows.append((cat.TERT, 3, True, 0, -1, -1, cat.CITY + ("市第一人民医院", "市中心医院")[i]))
    for c in range(w.n_county):
        nm = w.county_name[c]
        rows.append((cat.SEC, 2, True, c, -1, -1, nm + "人民医院"))
        rows.append((cat.SEC, 2, True, c, -1, -1, nm + "中医院"))
    for k, t in enumerate(_place_towns(rng, w, max(4, round(n_patients / 5000)))):
        lvl = 2 if rng.random() < 0.2 else 1
        nm = w.town_name[t][:2] + cat.PRIVATE_NAMES[(k + int(t)) % len(cat.PRIVATE_NAMES)]
        rows.append((cat.PRIV, lvl, False, w.town_county[t], t, -1, nm))
    for t in range(w.n_town):
        nm = w.town_name[t] + ("社区卫生服务中心" if w.town_urban[t] else "卫生院")
        rows.append((cat.HC, 1, True, w.town_county[t], t, -1, nm))
    for v in range(w.n_vil):
        t = w.vil_town[v]
        nm = w.vil_name[v] + ("卫生服务站" if w.town_urban[t] else "卫生室")
        rows.append((cat.VC, 0, True, w.town_county[t], t, v, nm))
    for t in _place_towns(rng, w, max(2, round(n_patients / 10_000))):
        nm = w.town_name[t][:2] + cat.SURNAMES[rng.integers(len(cat.SURNAMES))] + "氏诊所"
        rows.append((cat.CLINIC, 0, False, w.town_county[t], t, -1, nm))
    for k, t in enumerate(_place_towns(rng, w, max(4, round(n_patients / 2000)))):
        brand = cat.PHARMACY_BRANDS[rng.integers(len(cat.PHARMACY_BRANDS))]
        rows.append((cat.PHARM, 0, False, w.town_county[t], t, -1,
                     f"{brand}大药房({w.town_name[t]}{k + 1}号店)"))
    tier, level, public, county, town, vil, name = map(list, zip(*rows, strict=True))
    w.inst_tier = np.array(tier, dtype=np.int8)
    w.inst_level = np.array(level, dtype=np.int64)
    w.inst_public = np.array(public, dtype=bool)
    w.inst_county = np.array(county, dtype=np.int64)
    w.inst_town = np.array(town, dtype=np.int64)
    w.inst_vil = np.array(vil, dtype=np.int64)
    w.inst_name = name
    w.n_inst = n_inst = len(rows)
    xy = np.where(w.inst_vil[:, None] >= 0, w.vil_xy[np.maximum(w.inst_vil, 0)],
                  w.town_xy[np.maximum(w.inst_town, 0)])
    w.inst_xy = xy + rng.normal(0, 0.3, (n_inst, 2))
    w.inst_region, w.inst_id, seq = [], [], {}
    for i in range(n_inst):
        cc = w.county_code[county[i]]
        w.inst_region.append(w.vil_code[vil[i]] if vil[i] >= 0 else
                             w.town_code[town[i]] + "000" if town[i] >= 0 else cc + "000000")
        key = (cat.TIER_PREFIX[tier[i]], cc)
        seq[key] = seq.get(key, 0) + 1
        w.inst_id.append(f"{key[0]}{cc}{seq[key]:03d}")
    # Lookups used to route visits.
    w.tert = np.flatnonzero(w.inst_tier == cat.TERT)
    w.county_sec = np.flatnonzero(w.inst_tier == cat.SEC).reshape(w.n_county, 2)
    w.town_hc = np.flatnonzero(w.inst_tier == cat.HC)
    w.vil_vc = np.flatnonzero(w.inst_tier == cat.VC)
    w.town_pharm = _nearest_csr(w, cat.PHARM)
    w.town_priv = _nearest_csr(w, cat.PRIV)
    w.town_clinic = _nearest_csr(w, cat.CLINIC)


def _nearest_csr(w: World, tier: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each township: (offset, count) into an index of that tier's institutions, taking
    the township's own ones or else those of the nearest township that has any."""
    idx = np.flatnonzero(w.inst_tier == tier)
    idx = idx[np.argsort(w.inst_town[idx], kind="stable")]
    towns = w.inst_town[idx]
    has = np.unique(towns)
    d = ((w.town_xy[:, None, :] - w.town_xy[None, has, :]) ** 2).sum(-1)
    src = np.where(np.isin(np.arange(w.n_town), has), np.arange(w.n_town), has[d.argmin(1)])
    off = np.searchsorted(towns, src)
    cnt = np.searchsorted(towns, src, side="right") - off
    return idx, off, cnt


def build_staff(rng: np.random.Generator, w: World, n_patients: int) -> None:
    """Add doctors (sorted by institution then specialty), terminals and operators.

    ``w.need_doc`` ({(institution, specialty): doctors}), ``w.need_term`` and ``w.need_op``
    (per institution), when set, are minimums that planted groups and look-alikes need.
    """
    n_spec = len(cat.SPECIALTIES)
    tert_per = int(np.clip(round(n_patients / 40_000), 2, 25))
    need_doc = getattr(w, "need_doc", {})
    doc_inst, doc_spec = [], []
    for i in range(w.n_inst):
        tier = int(w.inst_tier[i])
        extra = {s for (j, s) in need_doc if j == i}
        for s in sorted(set(cat.TIER_SPECIALTIES[tier]) | extra):
            if tier == cat.TERT:
                k = max(2, round(tert_per * rng.uniform(0.7, 1.3)))
            elif tier == cat.SEC:
                k = int(rng.integers(2, 4)) if s == cat.S_NEPH else int(rng.integers(1, 4))
            elif tier == cat.VC:
                k = 1 if rng.random() < 0.7 else 2
            else:
                k = int(rng.integers(1, 3))
            k = max(k, need_doc.get((i, s), 0))
            doc_inst += [i] * k
            doc_spec += [s] * k
    w.doc_inst = np.array(doc_inst, dtype=np.int64)
    w.doc_spec = np.array(doc_spec, dtype=np.int64)
    w.n_doc = len(doc_inst)
    key = w.doc_inst * n_spec + w.doc_spec
    allk = np.arange(w.n_inst * n_spec)
    w.spec_off = np.searchsorted(key, allk).reshape(w.n_inst, n_spec)
    w.spec_cnt = (np.searchsorted(key, allk, side="right").reshape(w.n_inst, n_spec)
                  - w.spec_off)
    gen = np.full(w.n_inst, cat.S_GP)
    for s in cat.GENERAL_ORDER[::-1]:
        gen = np.where(w.spec_cnt[:, s] > 0, s, gen)
    w.inst_general = gen
    w.doc_name = _person_names(rng, w.n_doc)
    w.doc_id, per_county = [], {}
    for i in w.doc_inst:
        cc = w.county_code[w.inst_county[i]]
        per_county[cc] = per_county.get(cc, 0) + 1
        w.doc_id.append(f"D{cc}{per_county[cc]:05d}")
    # Terminals and the operators (cashiers) who run them.
    lo = np.array([max(4, min(40, round(n_patients / 25_000))), 3, 2, 1, 1, 1, 1])
    hi = np.array([lo[0] + 1, 7, 4, 4, 4, 2, 3])
    none = np.zeros(w.n_inst, dtype=np.int64)
    t_cnt = np.maximum(rng.integers(lo[w.inst_tier], hi[w.inst_tier]),
                       getattr(w, "need_term", none))
    o_cnt = np.maximum(t_cnt + rng.integers(0, t_cnt + 1), getattr(w, "need_op", none))
    w.term_off = np.concatenate([[0], np.cumsum(t_cnt)[:-1]])
    w.term_cnt = t_cnt
    w.op_off = np.concatenate([[0], np.cumsum(o_cnt)[:-1]])
    w.op_cnt = o_cnt
    w.term_inst = np.repeat(np.arange(w.n_inst), t_cnt)
    local = np.arange(len(w.term_inst)) - w.term_off[w.term_inst]
    w.term_op = w.op_off[w.term_inst] + local % o_cnt[w.term_inst]
    w.n_term, w.n_op = int(t_cnt.sum()), int(o_cnt.sum())


def group_index(keys: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR index of ``keys`` in [0, n): (row order, offsets of each key's rows)."""
    order = np.argsort(keys, kind="stable")
    return order, np.searchsorted(keys[order], np.arange(n + 1))


def members(index: tuple[np.ndarray, np.ndarray], groups) -> np.ndarray:
    """Sorted rows whose key is one of ``groups`` (via ``group_index``)."""
    order, off = index
    parts = [order[off[g]:off[g + 1]] for g in np.atleast_1d(groups)]
    return np.sort(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)
