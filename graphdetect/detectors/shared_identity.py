"""shared_identity: many insured people behind one phone or one address, settled together (多户头).

A fraudster who registers dozens of insured people under his own phone (or one address)
and bills their cards at one clinic week after week leaves two traces: a phone or address
shared by far more people than any household of the city holds, and those people
settling *together* at one place on the same days, again and again. Neither trace alone
is evidence: households share a phone and an address, a care home's residents share an
address, a village cadre may have registered a whole village with one phone. So a group
is scored on how far it sits beyond the city's own household sizes, how many separate
households (other addresses or phones, villages) it spans, and how surprising its joint
settlement days are given the group's own rate at that place; a group that is one
household, or whose members are nearly all elderly (a care home), is kept below case
level with the reason.
"""

from __future__ import annotations

import numpy as np
from scipy.special import pdtrc  # poisson.sf, without scipy.stats' import

from ._arrays import claim_counts, stable_order
from ._base import Finding, Param, Pattern, detector, int_at_least, number_in
from ._features import logistic
from ._identity_people import People, Places, billers, distinct
from ._stays import day_str, id_array, with_claim_ids

__all__ = ["shared_identity", "PATTERN"]

#: Per key: the other key, and the key's name in Chinese, in English, in English plural.
_KEYS = {"phone_hash": ("address_hash", "手机号", "phone", "phones"),
         "address_hash": ("phone_hash", "住址", "address", "addresses")}
_OTHER = {"phone_hash": ("个住址", "addresses"), "address_hash": ("个手机号", "phones")}
#: Share of a group's people a host must see on its joint days.
_HOST_SHARE = 1 / 3
_CARE_HOME_CAP = 0.4


def _explain(case: dict, lang: str, name) -> str:
    m, d = case["metrics"], case["details"]
    hosts = [name("institution", h) for h in d["hosts"]]
    zh = lang == "zh"
    key = _KEYS[d["key"]][1 if zh else 2]
    other = _OTHER[d["key"]]
    if zh:
        out = (f"{m['people']}名参保人登记同一{key}，超过本地家庭规模（本地多人共用的{key}中"
               f"{m['household_quantile']:.0%}不超过{m['household_scale']:g}人）")
        if m["households"] is not None:
            out += f"，分属{m['households']}{other[0]}"
        if m["villages"] is not None:
            out += f"、{m['villages']}个村居"
        out += (f"；其中多人于{m['occasions']}天（{d['first_day']}至{d['last_day']}）同日在"
                f"{'、'.join(hosts)}集中结算，单日最多{m['max_together']}人，此类同日结算占其在该处"
                f"就诊的{m['together_share']:.0%}")
        if m["neighbour_share"] is not None:
            out += (f"；其在该处结算占本人全部结算的{m['host_share']:.0%}，同村居他人仅"
                    f"{m['neighbour_share']:.0%}")
        out += f"；共{m['claims']}笔、{m['total_amount']:,.2f}元"
        if d["reason"] == "care_home":
            out += f"。但其中{m['elderly_share']:.0%}为65岁以上老人，更像养老机构集中巡诊，风险较低"
        return out + "。"
    out = (f"{m['people']} insured people are registered with one {key}, more than a household "
           f"here ({m['household_quantile']:.0%} of the {_KEYS[d['key']][3]} shared by several "
           f"people are shared by at most {m['household_scale']:g})")
    if m["households"] is not None:
        out += f"; they have {m['households']} different {other[1]}"
    if m["villages"] is not None:
        out += f" and live in {m['villages']} village(s)"
    out += (f"; on {m['occasions']} days ({d['first_day']} to {d['last_day']}) several of them "
            f"settled on the same day at {', '.join(hosts)}, up to {m['max_together']} in one "
            f"day, and such days hold {m['together_share']:.0%} of their visits there")
    if m["neighbour_share"] is not None:
        out += (f"; {m['host_share']:.0%} of their settlements are there against "
                f"{m['neighbour_share']:.0%} for their neighbours")
    out += f"; {m['claims']} claims, {m['total_amount']:,.2f} yuan"
    if d["reason"] == "care_home":
        out += (f". {m['elderly_share']:.0%} of them are 65 or older, so this looks like a care "
                "home's rounds and is ranked low")
    return out + "."


PATTERN = Pattern(
    "shared_identity", prefix="M", zh="多户头冒名就医", en="Shared identity",
    rules={"多户头": "many insured on one identity", "一机多人": "one phone for many people",
           "一址多人": "one address for many people", "冒名就医": "settled in others' names",
           "同日集中结算": "settled together on the same days"},
    explain=_explain, role_weights={"holder": 0.6, "host": 1.0, "doctor": 0.7, "operator": 0.7},
    needs={"patients": "no phones or addresses to compare",
           "patients.phone_hash": "shared phones were not checked",
           "patients.address_hash": "shared addresses were not checked, and a shared phone "
                                    "was not told apart from one household's by address",
           "patients.birth": "care homes (residents nearly all elderly) were not recognised",
           "patients.region_code": "villages were not counted and neighbours were taken "
                                   "city-wide"},
    metrics={"people": ("人数", "people", "count"),
             "household_scale": ("本地家庭规模上限", "the city's household scale", "count"),
             "household_quantile": ("家庭规模取分位数", "household scale quantile", "percent"),
             "households": ("涉及户数", "households spanned", "count"),
             "villages": ("涉及村数", "villages", "count"),
             "occasions": ("同日集中结算天数", "days settled together", "count"),
             "max_together": ("单日最多人数", "most people in a day", "count"),
             "together_share": ("同日集中结算占其就诊比", "share of visits on those days",
                                "percent"),
             "host_share": ("在该机构结算占本人全部结算比", "share of their claims at the place",
                            "percent"),
             "neighbour_share": ("同村他人在该机构结算占比", "neighbours' share at the place",
                                 "percent"),
             "elderly_share": ("65岁以上占比", "aged 65 or over", "percent"),
             "claims": ("结算笔数", "settlements", "count"),
             "total_amount": ("金额合计", "total", "yuan")})


@detector(PATTERN, [
    Param("min_occasions", "Days of joint settlement at one place a group needs there.",
          "an int >= 2", int_at_least(2)),
    Param("occasion_p", "A day counts as joint settlement when that many of the group at "
          "one place is this unlikely given the group's own rate there (Poisson).",
          "a number in [1e-9, 0.5]", number_in(1e-9, 0.5)),
    Param("household_quantile", "Quantile of the city's group sizes (per phone or address) "
          "taken as the largest ordinary household.", "a number in [0.5, 0.99999]",
          number_in(0.5, 0.99999)),
])
def shared_identity(graph, *, min_occasions: int = 3, occasion_p: float = 0.001,
                    household_quantile: float = 0.99) -> list[Finding]:
    """Find groups of insured people sharing one phone or address who settle together.

    For each of ``phone_hash`` and ``address_hash`` the people sharing a value form a
    group; the city's *household scale* is the ``household_quantile`` of the sizes of
    groups of two or more, and only larger groups are examined. For each such group and
    each institution, a day is a *joint settlement* when at least 3 members settle there
    that day and so many is less likely than ``occasion_p`` under a Poisson law with the
    group's own daily rate there. Institutions with ``min_occasions`` such days are the
    group's hosts. The score grows with the group's size beyond the household scale, the
    number of households it spans (distinct addresses of a phone group, phones of an
    address group; villages when those are unknown), the number of joint days and the
    share of the members' visits they hold, and how much more the members use the hosts
    than their neighbours do. One household (one phone and one address, however large)
    is left out; a group 80% aged 65+ (a care home) is capped at 0.4, with the reason in
    ``details``.

    Parameters
    ----------
    graph : ClaimsGraph
    min_occasions : int, default 3
    occasion_p : float, default 0.001
    household_quantile : float, default 0.99

    Returns
    -------
    list of Finding
        One per group and key, pattern ``shared_identity``.

    Examples
    --------
    >>> import pandas as pd
    >>> from graphdetect.graph import ClaimsGraph
    >>> ids = [f"P{i:03d}" for i in range(400)]   # 20 people on phone X, 190 couples
    >>> patients = pd.DataFrame({"patient_id": ids,
    ...     "phone_hash": ["X"] * 20 + [f"h{i // 2}" for i in range(20, 400)],
    ...     "address_hash": [f"a{i // 2}" for i in range(400)]}).set_index("patient_id")
    >>> rows = [(f"C{d}{p}", ids[p], pd.Timestamp("2024-01-01") + pd.Timedelta(days=7 * d))
    ...         for d in range(5) for p in range(12)]
    >>> claims = pd.DataFrame(rows, columns=["claim_id", "patient_id", "start_time"]).assign(
    ...     institution_id="V1", visit_type="outpatient", total_amount=50.0)
    >>> claims["patient_id"] = pd.Categorical(claims["patient_id"], categories=ids)
    >>> [(f.metrics["people"], f.metrics["occasions"]) for f in
    ...  shared_identity(ClaimsGraph(claims, patients=patients))]
    [(20, 5)]
    """
    if graph.patients is None or not len(graph) or not graph.n("patient"):
        return []
    found: list[Finding] = []
    people = People(graph)
    for key in _KEYS:
        found += _groups(graph, key, min_occasions, occasion_p, household_quantile, people)
    return found


def _groups(graph, key: str, min_occasions: int, occasion_p: float, q: float,
            people: People) -> list[Finding]:
    group = people.codes[key]
    if group is None:
        return []
    sizes = np.bincount(group[group >= 0])
    multi = sizes[sizes >= 2]
    if not len(multi):
        return []
    scale = float(max(2.0, np.quantile(multi, q, method="higher")))
    candidate = np.flatnonzero((sizes > scale) & (sizes >= 3))
    if not len(candidate):
        return []
    who = np.flatnonzero(np.isin(group, candidate))
    who = who[np.argsort(group[who], kind="stable")]
    rows, gid = _claims_of(graph, who, group[who])
    # Each group's claims together, in row order within it.
    order = stable_order(gid)
    rows, gid = rows[order], gid[order]
    hosts = _joint_days(graph, rows, gid, sizes, min_occasions, occasion_p, people.places)
    keys = np.array(sorted(hosts), dtype=np.int64)
    lo, hi = np.searchsorted(group[who], keys, "left"), np.searchsorted(group[who], keys, "right")
    at, to = np.searchsorted(gid, keys, "left"), np.searchsorted(gid, keys, "right")
    out, evidence = [], []
    for g, a, b, c, d in zip(keys.tolist(), lo, hi, at, to, strict=True):
        members, table = who[a:b], hosts[g]
        if distinct(people.codes[_KEYS[key][0]], members) == 1:
            continue                # one household: one phone and one address
        found, mine = _finding(graph, key, members, rows[c:d], table, scale, q, people)
        out.append(found)
        evidence.append(mine)
    return with_claim_ids(graph, out, evidence)


def _claims_of(graph, people: np.ndarray, gid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of some people's claims, in row order, and each row's group (``gid`` per
    person): one look-up per claim, cheaper than building the patient x claim matrix
    for the candidates, a small part of the people."""
    code = graph.codes("patient")
    # A table of one byte per patient stays in cache: look up whether, then which group.
    chosen = np.zeros(graph.n("patient") + 1, bool)     # the last: no patient (-1)
    chosen[people] = True
    rows = np.flatnonzero(chosen[code])
    group_of = np.zeros(graph.n("patient"), np.int32)
    group_of[people] = gid
    return rows, group_of[code[rows]]


def _joint_days(graph, rows: np.ndarray, g: np.ndarray, sizes: np.ndarray,
                min_occasions: int, occasion_p: float,
                places: Places) -> dict[int, dict[str, np.ndarray]]:
    """Per group, its table at its hosts: arrays inst, day, together, joint, one entry
    per (institution, day), in that order. ``rows`` are the groups' claims, ``g`` their
    groups (ascending, rows in row order within each), ``sizes`` the people of each group."""
    if not len(rows):
        return {}
    inst, day = graph.codes("institution")[rows], graph.day[rows]
    pat = graph.codes("patient")[rows]
    order = _day_order(g, inst, day - places.first, pat, graph.n("institution"), places.span)
    g, inst, day, pat = g[order], inst[order], day[order], pat[order]
    # one entry per (group, institution, day): its claims (mine) and its people (together)
    new_day = np.ones(len(g), bool)
    new_day[1:] = (g[1:] != g[:-1]) | (inst[1:] != inst[:-1]) | (day[1:] != day[:-1])
    visit = new_day.copy()          # the first claim of each person on each such day
    visit[1:] |= pat[1:] != pat[:-1]
    at = np.flatnonzero(new_day)
    mine = np.diff(np.append(at, len(g)))
    together = np.add.reduceat(visit.astype(np.int64), at)
    dg, di, dd = g[at], inst[at], day[at]
    # and per (group, institution)
    new_place = np.ones(len(at), bool)
    new_place[1:] = (dg[1:] != dg[:-1]) | (di[1:] != di[:-1])
    first = np.flatnonzero(new_place)
    place = np.cumsum(new_place) - 1
    # The group's visits there, spread over the days as everyone else's visits there are
    # (plus one a day): a place's own weekly rhythm is not togetherness.
    d0, span = places.first, places.span
    others = places.count(di, dd - d0) - mine + 1
    inst_total = claim_counts(graph, "institution")
    others_total = inst_total[di] - np.add.reduceat(mine, first)[place] + span
    rate = np.add.reduceat(together, first)[place] * others / others_total
    joint = (together >= 3) & (pdtrc(together - 1, rate) < occasion_p)
    kept = np.add.reduceat(joint.astype(np.int64), first)[place] >= min_occasions
    # A host must be where a good part of the group settles together, not a few of them.
    entry = np.cumsum(new_day) - 1      # per claim, its (group, institution, day)
    on_joint = visit & (joint & kept)[entry]
    who = np.unique(place[entry][on_joint].astype(np.int64) << 32 | pat[on_joint])
    seen = np.bincount(who >> 32, minlength=len(first))
    host = kept & (seen[place] / sizes[dg] >= _HOST_SHARE)
    dg, cols = dg[host], {"inst": di[host], "day": dd[host], "together": together[host],
                          "joint": joint[host]}
    groups, lo = np.unique(dg, return_index=True)
    hi = np.searchsorted(dg, groups, "right")
    return {int(k): {c: v[a:b] for c, v in cols.items()}
            for k, a, b in zip(groups, lo, hi, strict=True)}


def _day_order(g: np.ndarray, inst: np.ndarray, day: np.ndarray, pat: np.ndarray,
               n_inst: int, span: int) -> np.ndarray:
    """The claims in (group, institution, day, patient) order, ``g`` ascending and
    ``day`` counted from 0: one sort of the four packed in 63 bits where they fit
    (claims tied on all four are interchangeable here), else a lexsort."""
    rank = np.zeros(len(g), np.int64)        # the groups numbered 0, 1, ...
    np.cumsum(g[1:] != g[:-1], out=rank[1:])
    bits = [int(rank[-1]).bit_length(), n_inst.bit_length(), (span - 1).bit_length(),
            int(pat.max()).bit_length()]
    if sum(bits) > 63:
        return np.lexsort((pat, day, inst, g))
    key = rank
    for col, b in zip((inst + 1, day, pat), bits[1:], strict=True):   # inst -1: none
        key <<= b
        key |= col
    return np.argsort(key)


def _finding(graph, key: str, members: np.ndarray, rows: np.ndarray, table: dict,
             scale: float, q: float, people: People) -> tuple[Finding, np.ndarray]:
    """The finding for one group (its claims: ``rows``, sorted), without its claim ids,
    and its evidence rows in order."""
    n = len(members)
    table = _main_hosts(table, graph, people.places)
    host_codes = np.unique(table["inst"])
    inst = graph.codes("institution")[rows]
    at_host = rows[np.isin(inst, host_codes)]
    joint = {c: v[table["joint"]] for c, v in table.items()}
    on_joint = np.isin(graph.codes("institution")[at_host].astype(np.int64) << 32
                       | graph.day[at_host].astype(np.int64),
                       joint["inst"].astype(np.int64) << 32 | joint["day"].astype(np.int64))
    together_share = float(joint["together"].sum() / table["together"].sum())
    host_share = len(at_host) / len(rows)
    households = distinct(people.codes[_KEYS[key][0]], members)
    villages = distinct(people.codes["region_code"], members)
    neighbour = people.share(members, rows, host_codes)
    elderly = people.elderly(members)
    k = households if households is not None else villages
    size_term = min(1.0, float(np.log2(n / scale)))
    separate = 0.5 if k is None else 1.0 - 1.0 / k
    lift = host_share / max(neighbour, 1e-3) if neighbour is not None else 1.0
    occasions = len(joint["day"])
    z = -3.0 + 1.2 * np.log2(1 + occasions) * together_share + 2.5 * size_term * separate \
        + float(np.log2(np.clip(lift, 1.0, 16.0))) / 4
    score = logistic(z)
    reason = ""
    if elderly is not None and elderly >= 0.8:
        reason = "care_home"
        score = min(score, _CARE_HOME_CAP)
    evidence = np.sort(at_host)
    doctors = billers(graph, "doctor", evidence[on_joint])
    operators = billers(graph, "operator", evidence[on_joint])
    rules = ["多户头", "一机多人" if key == "phone_hash" else "一址多人", "同日集中结算"]
    if score >= 0.5:
        rules.append("冒名就医")
    hosts = [str(h) for h in id_array(graph, "institution")[host_codes]]
    holders = list(map(str, id_array(graph, "patient")[members].tolist()))
    out_members = [("institution", h, "host") for h in hosts]
    out_members += [("doctor", d, "doctor") for d in doctors]
    out_members += [("operator", o, "operator") for o in operators]
    out_members += [("patient", p, "holder") for p in sorted(holders)]
    metrics = {"people": n, "household_scale": scale, "household_quantile": q,
               "households": households, "villages": villages, "occasions": occasions,
               "max_together": int(joint["together"].max()),
               "together_share": round(together_share, 3), "host_share": round(host_share, 3),
               "neighbour_share": None if neighbour is None else round(neighbour, 3),
               "elderly_share": None if elderly is None else round(elderly, 3),
               "claims": len(evidence),
               "total_amount": round(float(graph.amount[evidence].sum()), 2)}
    details = {"key": key, "hosts": hosts, "reason": reason,
               "first_day": day_str(int(joint["day"].min())),
               "last_day": day_str(int(joint["day"].max()))}
    return Finding("shared_identity", round(score, 4), out_members, [], rules, metrics,
                   details), evidence


def _main_hosts(table: dict, graph, places: Places) -> dict:
    """The host with most joint visits, and others with a quarter as many where the group
    is most of the place's patients on those days (not a team visiting their village)."""
    joint = table["joint"]
    sites, at = np.unique(table["inst"][joint], return_inverse=True)
    if len(sites) < 2:
        return table
    visits = np.bincount(at, weights=table["together"][joint]).astype(np.int64)
    order = np.lexsort((sites, -visits))     # most visits first, ties by institution
    keep = [sites[order[0]]]
    d0 = places.first
    for h, v in zip(sites[order[1:]], visits[order[1:]], strict=True):
        rows = places.rows(int(h), table["day"][joint & (table["inst"] == h)])
        seen = len(np.unique(graph.codes("patient")[rows].astype(np.int64) << 20
                             | (graph.day[rows] - d0)))
        if v >= visits[order[0]] / 4 and v >= seen / 3:
            keep.append(h)
    keep = np.isin(table["inst"], keep)
    return {c: v[keep] for c, v in table.items()}
