"""Legitimate dense structures that a naive detector would flag.

``plan_staff`` runs before the staff is built (rehabilitation wards get the doctors their
courses need); ``prepare`` runs before the normal year (it chooses dialysis patients, who then
carry N18.5, moves nursing-home residents into their home, gives stroke patients I69.3 and
forms large households); ``lookalikes`` then makes the claims, and ``readmissions`` (after
the planted groups) those of people readmitted for another illness. Each look-alike is
tagged ``-k`` and described by ``metas[k - 1]``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from . import _care
from . import _catalog as cat
from ._claims import DAY, HOUR, concat, inpatient_bill, make, money
from ._people import reserve_hash, set_people
from ._shared import choose, look_meta
from ._variants import LOOKALIKES
from ._world import World, group_index, members

__all__ = ["counts", "plan_staff", "prepare", "lookalikes", "readmissions", "courses"]


def counts(w: World, n: int) -> dict[str, int]:
    """How many of each look-alike kind a world of ``n`` people gets (households and hubs
    are counted where they are made)."""
    out = {k: max(v.least, round(v.per_20k * n / 20_000)) for k, v in LOOKALIKES.items()
           if v.params}
    out["dialysis"] = min(out["dialysis"], len(w.tert) + w.n_county)
    return out


def plan_staff(rng: np.random.Generator, w: World, drawn: dict) -> list[int]:
    """Hosts of the rehabilitation courses (a private 康复医院 or a county 人民医院), with
    ``w.need_doc`` set so that each has the rehabilitation doctors it needs."""
    rehab = [i for i in np.flatnonzero(w.inst_tier == cat.PRIV) if "康复" in w.inst_name[i]]
    cand = rng.permutation(np.concatenate([np.array(rehab, dtype=np.int64),
                                           w.county_sec[:, 0]]))
    w.need_doc = {}
    hosts = []
    for k, p in enumerate(drawn["rehab_course"]):
        host = int(cand[k % len(cand)])
        key = (host, cat.S_REHAB)
        w.need_doc[key] = max(w.need_doc.get(key, 0), int(p["doctors"]))
        hosts.append(host)
    return hosts


def _free_village(rng, w: World, taken: np.ndarray, need: int) -> int:
    """A rural village with at least ``need`` untaken people (else the one with most)."""
    free = ~taken & ~w.pat_urban
    cnt = np.bincount(w.pat_vil[free], minlength=w.n_vil)
    ok = np.flatnonzero(cnt >= need)
    return int(rng.choice(ok)) if len(ok) else int(np.argmax(cnt))


def prepare(rng: np.random.Generator, w: World, n: int, taken: np.ndarray, drawn: dict,
            rehab_hosts: list[int]) -> dict:
    """Choose the people of the look-alikes that change who they are (marked in ``taken``)."""
    plan = {"dialysis": [], "homes": [], "rehab": [], "large": []}
    big = np.concatenate([w.tert, w.county_sec[:, 0]])
    units = rng.permutation(big)[:len(drawn["dialysis"])]
    by_county = group_index(w.pat_county, w.n_county)
    for u, p in zip(units, drawn["dialysis"], strict=True):
        pool = members(by_county, w.inst_county[u])
        if w.inst_tier[u] == cat.TERT and w.pat_urban[pool].any():
            pool = pool[w.pat_urban[pool]]
        pool = pool[(w.pat_age[pool] >= 30) & (w.pat_age[pool] <= 80) & ~taken[pool]]
        pats = choose(rng, pool, min(int(p["patients"]), max(3, n // 50)))
        taken[pats] = True
        w.pat_chronic[pats] = cat.DX["N18.5"]
        plan["dialysis"].append((int(u), pats))
    pop = np.bincount(w.vil_town, weights=w.vil_size, minlength=w.n_town)
    rural = np.flatnonzero(~w.town_urban) if (~w.town_urban).any() else np.arange(w.n_town)
    n_homes = len(drawn["nursing_home"])
    towns = rng.choice(rural, size=n_homes, replace=n_homes > len(rural),
                       p=pop[rural] / pop[rural].sum())
    for t, p in zip(towns, drawn["nursing_home"], strict=True):
        vil = int(rng.choice(np.flatnonzero(w.vil_town == t)))
        pool = members(by_county, w.town_county[t])
        pool = pool[~taken[pool] & (w.pat_age[pool] >= 65)]
        if np.sum(w.pat_age[pool] >= 75) >= 20:
            pool = pool[w.pat_age[pool] >= 75]
        res = choose(rng, pool, min(int(p["residents"]), max(5, n // 30)))
        taken[res] = True
        w.pat_vil[res], w.pat_town[res], w.pat_urban[res] = vil, t, w.town_urban[t]
        w.pat_addr[res] = reserve_hash(w, "addr")
        w.pat_pharm[res] = w.town_pharm[0][w.town_pharm[1][t]]
        plan["homes"].append((int(t), res))
    for host, p in zip(rehab_hosts, drawn["rehab_course"], strict=True):
        pool = members(by_county, w.inst_county[host])
        pats = choose(rng, pool[~taken[pool] & (w.pat_age[pool] >= 50)], p["patients"])
        taken[pats] = True
        w.pat_chronic[pats] = cat.DX["I69.3"]
        plan["rehab"].append((host, pats))
    next_hh = int(w.pat_hh.max()) + 1
    for p in drawn["large_household"]:
        v = _free_village(rng, w, taken, int(p["size"]))
        pool = np.flatnonzero((w.pat_vil == v) & ~taken)
        pats = choose(rng, pool, p["size"])
        if len(pats) < 8:
            continue
        age, sex = _care.family_ages(rng, len(pats))
        set_people(rng, w, pats, age, sex)
        taken[pats] = True
        w.pat_hh[pats] = next_hh
        next_hh += 1
        w.pat_phone[pats] = reserve_hash(w, "phone")
        w.pat_addr[pats] = reserve_hash(w, "addr")
        plan["large"].append(pats)
    return plan


def _households(rng, w, count, days, taken, tag0):
    """Families who come to the doctor together: members seen minutes apart, same doctor."""
    size = np.bincount(w.pat_hh)
    bad = np.zeros(len(size), dtype=bool)
    bad[w.pat_hh[taken]] = True
    cand = np.flatnonzero((size >= 2) & ~bad)
    hhs = choose(rng, cand, count)
    pat = np.flatnonzero(np.isin(w.pat_hh, hhs))
    g = np.searchsorted(hhs, w.pat_hh[pat])
    first = pat[np.concatenate([[True], g[1:] != g[:-1]])]
    at_hc = rng.random(len(hhs)) < 0.3
    inst = np.where(at_hc, w.town_hc[w.pat_town[first]], w.vil_vc[w.pat_vil[first]])[g]
    spec = w.inst_general[inst]
    doc = (w.spec_off[inst, spec] + (w.pat_key[first][g] % w.spec_cnt[inst, spec]))
    day = rng.integers(0, days, len(hhs))[g]
    base = (8 * HOUR + rng.integers(0, 3 * HOUR, len(hhs)))[g]
    rank = np.arange(len(pat)) - np.searchsorted(g, g)
    start = day * DAY + base + rank * rng.integers(180, 480, len(pat))
    dx = np.where(rng.random(len(hhs)) < 0.7, cat.DX["J06.9"], cat.DX["A09"])[g]
    total = money(rng, cat.OUT_BASE[w.inst_tier[inst]] * cat.DIAG_PRICE[dx], 0.4)
    return make(pat, inst, cat.OUT, start, total, doc=doc, dx=dx, fund=total // 2,
                tag=-(tag0 + g)), len(hhs)


def _weighted(rng, index: tuple, k: int) -> int:
    """One of ``k`` groups of ``index`` (a ``group_index``), by size."""
    pop = np.diff(index[1]).astype(float)
    return int(rng.choice(k, p=pop / pop.sum()))


def _followup_host(rng, w: World, by_town, by_county) -> tuple[int, int, np.ndarray]:
    """A health centre's or county hospital's chronic clinic: host, doctor, catchment."""
    if rng.random() < 0.5:
        t = _weighted(rng, by_town, w.n_town)
        host, pool = int(w.town_hc[t]), members(by_town, t)
        spec = int(w.inst_general[host])
    else:
        c = _weighted(rng, by_county, w.n_county)
        host, pool = int(w.county_sec[c, 0]), members(by_county, c)
        spec = int(rng.choice([cat.S_CARD, cat.S_IM]))
        spec = spec if w.spec_cnt[host, spec] else int(w.inst_general[host])
    doc = int(w.spec_off[host, spec] + rng.integers(w.spec_cnt[host, spec]))
    chronic = np.isin(w.pat_chronic[pool], cat.codes("I10", "E11.9"))
    return host, doc, pool[chronic]


def lookalikes(rng: np.random.Generator, w: World, plan: dict, n: int, days: int,
               start: dt.date, taken: np.ndarray, drawn: dict) -> tuple[dict, list[dict]]:
    """Claims of every look-alike and their descriptions (index k-1 for tag -k)."""
    wd0 = start.weekday()
    parts, metas = [], []

    def add(claims, kind, variant, p):
        metas.append(look_meta(kind, variant, p))
        parts.append(claims)

    def tag() -> int:
        return -(len(metas) + 1)

    for (unit, pats), p in zip(plan["dialysis"], drawn["dialysis"], strict=True):
        add(_care.dialysis(rng, w, unit, pats, p, days, wd0, tag()), "dialysis",
            "thrice_weekly", p)
    for (town, res), p in zip(plan["homes"], drawn["nursing_home"], strict=True):
        add(_care.home_rounds(rng, w, town, res, p, days, start, tag()), "nursing_home",
            "monthly_round", p)
    by_town = group_index(w.pat_town, w.n_town)
    by_county = group_index(w.pat_county, w.n_county)
    for k, p in enumerate(drawn["checkup_day"]):
        t = _weighted(rng, by_town, w.n_town)
        add(_care.checkup_day(rng, w, t, members(by_town, t), p, days, wd0, tag(), k % 2 == 0),
            "checkup_day", "school" if k % 2 == 0 else "elderly", p)
    for t in w.tert:
        metas.append(look_meta("hub_hospital", "busy_days", inst=int(t)))
    for (host, pats), p in zip(plan["rehab"], drawn["rehab_course"], strict=True):
        add(_care.rehab_course(rng, w, host, pats, p, days, tag()), "rehab_course",
            "ward_courses", p)
    for p in drawn["chronic_followup"]:
        host, doc, pool = _followup_host(rng, w, by_town, by_county)
        pats = choose(rng, pool, p["patients"])
        add(_care.chronic_followup(rng, w, host, doc, pats, p, days, start, tag()),
            "chronic_followup", "monthly_clinic", p)
    for p in drawn["mobile_team"]:
        c = _weighted(rng, by_county, w.n_county)
        vils = np.flatnonzero((w.town_county[w.vil_town] == c) & ~w.town_urban[w.vil_town])
        vils = vils if len(vils) else np.flatnonzero(w.town_county[w.vil_town] == c)
        v = int(rng.choice(vils, p=w.vil_size[vils] / w.vil_size[vils].sum()))
        pool = np.flatnonzero(w.pat_vil == v)
        add(_care.mobile_team(rng, w, int(w.county_sec[c, 0]), pool, p, days, start, tag()),
            "mobile_team", "village_visit", p)
    for p in drawn["vaccination_day"]:
        t = _weighted(rng, by_town, w.n_town)
        pool = members(by_town, t)
        add(_care.vaccination_day(rng, w, int(w.town_hc[t]), pool[w.pat_age[pool] >= 1], p,
                                  days, wd0, tag()), "vaccination_day", "campaign", p)
    for pats, p in zip(plan["large"], drawn["large_household"], strict=False):
        add(_care.large_household(rng, w, pats, p, days, tag()), "large_household",
            "village_clinic", p)
    count = max(LOOKALIKES["household"].least, round(n / 200))
    claims, k = _households(rng, w, count, days, taken, len(metas) + 1)
    metas += [look_meta("household", "joint_visit") for _ in range(k)]
    parts.append(claims)
    return concat(parts), metas


def readmissions(rng: np.random.Generator, w: World, drawn: list[dict], days: int,
                 busy: np.ndarray, tag0: int) -> tuple[dict | None, list[dict]]:
    """Readmissions for another illness (look-alikes of split stays, tags from ``-tag0``
    down), made last, of people ``busy`` does not mark (none of any planted group or
    other look-alike), so that adding them changed no one else's claims."""
    people = rng.permutation(np.flatnonzero(~busy & (w.pat_age >= 40)))
    parts = [_readmission(rng, w, p0, p, days, -(tag0 + k))
             for k, (p0, p) in enumerate(zip(people.tolist(), drawn, strict=False))]
    metas = [look_meta("readmission", "other_cause", p) for p in drawn[:len(parts)]]
    return (concat(parts) if parts else None), metas


def courses(rng: np.random.Generator, w: World, drawn: list[dict], days: int, wd0: int,
            busy: np.ndarray, tag0: int) -> tuple[dict | None, list[dict]]:
    """Courses of daily treatment (look-alikes of lockstep groups, tags from ``-tag0``
    down), made after the readmissions, of people ``busy`` does not mark, so that adding
    them (generator version 5) changed no one else's visits or stays (their claim ids and
    desks are drawn anew): every other course room a township health centre's
    physiotherapy, the rest a clinic of the township's."""
    by_town = group_index(w.pat_town, w.n_town)
    parts, metas = [], []
    for k, p in enumerate(drawn):
        physio = k % 2 == 0
        t = _weighted(rng, by_town, w.n_town)
        pool = members(by_town, t)
        pool = pool[~busy[pool] & (w.pat_age[pool] >= (30 if physio else 2))]
        if physio:
            host = int(w.town_hc[t])
        else:
            idx, off, cnt = w.town_clinic
            host = int(idx[off[t] + rng.integers(cnt[t])])
        claims = _care.treatment_courses(rng, w, host, pool, p, days, wd0, -(tag0 + k), physio)
        busy[claims["pat"]] = True
        parts.append(claims)
        metas.append(look_meta("treatment_course", "physiotherapy" if physio else "infusion",
                               p))
    return (concat(parts) if parts else None), metas


def _readmission(rng, w: World, p0: int, p: dict, days: int, tag: int) -> dict:
    """Discharged, then readmitted to the same hospital within days for another illness:
    a diagnosis of another chapter, admitted by a doctor of its own department."""
    host = int(rng.choice(w.tert) if rng.random() < 0.3 else w.county_sec[w.pat_county[p0], 0])
    codes = np.unique(np.concatenate([cat.INPATIENT["adult"][0], cat.INPATIENT["elder"][0]]))
    codes = codes[(codes != cat.DX["O80"]) & (w.spec_cnt[host, cat.DIAG_SPEC[codes]] > 0)]
    chapter = np.array([cat.DIAG_CODES[c][0] for c in codes])
    first = int(rng.integers(len(codes)))
    other = np.flatnonzero((chapter != chapter[first])
                           & (cat.DIAG_SPEC[codes] != cat.DIAG_SPEC[codes[first]]))
    if not len(other):      # a hospital of one department: another chapter, same doctor
        other = np.flatnonzero(chapter != chapter[first])
    dx = np.array([codes[first], codes[int(rng.choice(other))]])
    los = np.array([int(p["first_days"]), int(p["second_days"])])
    day = int(rng.integers(0, days - 40))
    day = np.array([day, day + los[0] + int(p["gap_days"])])
    tod = 8 * HOUR + rng.integers(0, 9 * HOUR, 2)
    if p["gap_days"] == 0:      # readmitted the afternoon of the discharge
        tod[1] = 14 * HOUR + int(rng.integers(0, 3 * HOUR))
    pat, inst = np.full(2, p0), np.full(2, host)
    spec = cat.DIAG_SPEC[dx]        # each stay's department, its usual doctor for the person
    doc = w.spec_off[host, spec] + w.pat_key[p0] % w.spec_cnt[host, spec]
    total = inpatient_bill(rng, w, inst, dx, los)
    end = (day + los) * DAY + 9 * HOUR + rng.integers(0, 5400, 2)
    return make(pat, inst, cat.INP, day * DAY + tod, total, end=end, doc=doc, dx=dx,
                fund=np.floor(total * cat.INP_RATIO[w.inst_tier[host]]).astype(np.int64),
                tag=tag)
