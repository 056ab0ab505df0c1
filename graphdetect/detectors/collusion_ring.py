"""collusion_ring: patients admitted together, again and again, to one place.

医患合谋, 诱导住院, 聚集性就医.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._base import Finding, Param, Pattern, detector, int_at_least, number_in
from ._features import amount_cv, logistic
from ._pairs import leiden, pair_sums, window_load, window_pairs
from ._stays import day_str, stays

__all__ = ["collusion_ring", "PATTERN"]


def _explain(case: dict, lang: str, name) -> str:
    m, d = case["metrics"], case["details"]
    place = name("institution", d["host"])
    doctors = [name("doctor", x) for x in d["doctors"]]
    avg, span = m["claims"] / m["occasions"], d["window_days"] + 1
    if lang == "zh":
        out = (f"{m['members']}名患者在{m['occasions']}个时段（{d['first_day']}至{d['last_day']}）"
               f"集中入住{place}，每次平均{avg:.1f}人、{span}天内入院，约为该院同期常规入院量的"
               f"{m['burst']:.1f}倍；{m['doctor_share']:.0%}的住院由"
               f"{'、'.join(doctors) or '（无医师编码）'}收治；"
               f"住院费用变异系数{m['amount_cv']:.1%}，住院天数变异系数{m['stay_length_cv']:.1%}")
        if m["elderly_share"] is not None:
            out += f"；{m['elderly_share']:.0%}为60岁以上老人"
        if m["village_share"] is not None:
            out += f"；{m['village_share']:.0%}来自同一村"
        return out + f"；合计{m['total_amount']:,.2f}元。"
    out = (f"{m['members']} patients were admitted together to {place} on {m['occasions']} "
           f"occasions ({d['first_day']} to {d['last_day']}), {avg:.1f} per occasion within "
           f"{span} days, {m['burst']:.1f}x the institution's usual admissions for such a span; "
           f"{m['doctor_share']:.0%} of the stays were under "
           f"{', '.join(doctors) or '(no doctor ids)'}; bills vary by {m['amount_cv']:.1%} and "
           f"stay lengths by {m['stay_length_cv']:.1%} (CV)")
    if m["elderly_share"] is not None:
        out += f"; {m['elderly_share']:.0%} are aged 60 or over"
    if m["village_share"] is not None:
        out += f"; {m['village_share']:.0%} come from one village"
    return out + f"; {m['total_amount']:,.2f} yuan in all."


PATTERN = Pattern(
    "collusion_ring", prefix="R", zh="医患合谋 / 聚集性住院", en="Collusion ring",
    rules={"聚集性就医": "clustered visits", "集中入院": "batch admissions",
           "医患合谋": "doctor-patient collusion", "费用雷同": "near-identical bills"},
    explain=_explain,
    needs={"claims.inpatient": "no admissions to examine",
           "claims.doctor_id": "rings are found by institution only",
           "patients.birth": "members' ages were not checked",
           "patients.region_code": "members' villages were not checked",
           "institutions": "ownership and level of the host were not checked"})


@detector(PATTERN, [
    Param("window_days", "Admissions this many days apart still count as one occasion.",
          "an int >= 0", int_at_least(0)),
    Param("min_occasions", "Occasions a group must be admitted together on.", "an int >= 2",
          int_at_least(2)),
    Param("min_members", "Patients a ring needs.", "an int >= 3", int_at_least(3)),
    Param("min_pair_weight", "Surprise two patients' co-admissions must add up to before they "
          "are linked (each co-admission adds 1/(admissions around it - 1)).",
          "a number in [0, 1]", number_in(0, 1)),
    Param("max_load", "Admissions around a day above which that institution-day is a hub's "
          "routine and not evidence.", "an int >= 2", int_at_least(2)),
    Param("other_doctor_weight", "How much a co-admission under different doctors counts, "
          "against 1 under the same doctor.", "a number in [0, 1]", number_in(0, 1)),
    Param("resolution", "Leiden resolution: higher gives smaller groups.",
          "a number in [0.01, 10]", number_in(0.01, 10)),
    Param("seed", "Seed of the community detection.", "an int >= 0", int_at_least(0)),
])
def collusion_ring(graph, *, window_days: int = 6, min_occasions: int = 3,
                   min_members: int = 4, min_pair_weight: float = 0.03, max_load: int = 400,
                   other_doctor_weight: float = 0.2, resolution: float = 1.0,
                   seed: int = 0) -> list[Finding]:
    """Find groups of patients admitted together to one institution on repeated occasions.

    1. Each co-admission of two patients (same institution, at most ``window_days``
       apart) is weighted by surprise: ``1 / (admissions there around then - 1)``, so a
       hub's busy day counts for almost nothing and a small hospital's batch for much;
       only patients admitted there at least twice can pair, and institution-days with
       more than ``max_load`` admissions around them are skipped before pairs are formed.
       A co-admission under two different doctors counts ``other_doctor_weight``: rings
       are patients *and* doctors acting together.
    2. Pairs with two or more co-admissions and weight ``min_pair_weight`` form a graph;
       Leiden communities on it are the candidate groups.
    3. Lockstep check: at the group's main institution, the group's admissions are cut
       into occasions; a ring needs ``min_occasions`` occasions each bringing in a good
       part of the group. The score adds the institution's own baseline (how far each
       occasion exceeds its usual admissions), similar bills and stays, the few doctors
       behind them, elderly members and shared villages.

    Examples
    --------
    >>> import pandas as pd
    >>> from graphdetect.graph import ClaimsGraph
    >>> days = pd.to_datetime(["2024-01-05", "2024-03-05", "2024-05-06", "2024-07-08"])
    >>> rows = [(f"C{d}{p}", f"P{p}", day, day + pd.Timedelta(days=9))
    ...         for d, day in enumerate(days) for p in range(6)]
    >>> claims = pd.DataFrame(rows, columns=["claim_id", "patient_id", "start_time",
    ...     "end_time"]).assign(institution_id="H9", doctor_id="D1", visit_type="inpatient",
    ...     total_amount=8000.0)
    >>> [len(f.claim_ids) for f in collusion_ring(ClaimsGraph(claims))]
    [24]
    """
    adm = stays(graph)
    if len(adm) < min_members * 2:
        return []
    p, h, d = (adm[c].to_numpy() for c in ("patient", "institution", "start"))
    load = window_load(h, d, window_days)
    ph = p.astype(np.int64) << 32 | h
    _, inv, cnt = np.unique(ph, return_inverse=True, return_counts=True)
    keep = (cnt[inv] >= 2) & (load <= max_load)
    e = np.flatnonzero(keep)
    e = e[np.lexsort((p[e], d[e], h[e]))]
    a, b = window_pairs(h[e], d[e], window_days)
    a, b = e[a], e[b]
    ok = p[a] != p[b]
    a, b = a[ok], b[ok]
    if not len(a):
        return []
    w = 1.0 / (np.maximum(load[a], load[b]) - 1).clip(min=1)
    doc = graph.codes("doctor")[adm["row"].to_numpy()]
    w = np.where((doc[a] == doc[b]) & (doc[a] >= 0), w, w * other_doctor_weight)
    nodes, local = np.unique(np.concatenate([p[a], p[b]]), return_inverse=True)
    la, lb = local[:len(a)], local[len(a):]
    ra, rb, count, weight = pair_sums(la, lb, w, len(nodes))
    strong = (count >= 2) & (weight >= min_pair_weight)
    label = leiden(len(nodes), ra[strong], rb[strong], weight[strong],
                   resolution=resolution, seed=seed)
    linked = np.zeros(len(nodes), bool)
    linked[ra[strong]] = linked[rb[strong]] = True
    rate = _daily_admissions(h, d, graph.n("institution"))
    adm = adm[np.isin(adm["patient"].to_numpy(), nodes[linked])]
    out = []
    for lab in np.unique(label[linked]):
        group = nodes[(label == lab) & linked]
        for block in _lockstep_blocks(graph, adm, group, window_days, min_members, seed):
            f = _confirm(graph, adm, block, window_days, min_occasions, min_members, rate)
            if f is not None:
                out.append(f)
    return out


def _occasions(day: np.ndarray, window: int) -> np.ndarray:
    """Occasion number per (sorted) admission day: a new one after a gap over ``window``."""
    new = np.ones(len(day), bool)
    new[1:] = np.diff(day) > window
    return np.cumsum(new) - 1


def _at_host(adm: pd.DataFrame, group: np.ndarray, window: int):
    """The group's admissions at its main institution, and their occasion numbers."""
    mine = adm["patient"].isin(group).to_numpy()
    host = int(np.bincount(adm["institution"].to_numpy()[mine]).argmax())
    at_host = adm["institution"].to_numpy() == host
    sub = adm[mine & at_host].sort_values(["start", "patient", "row"], kind="stable")
    return host, at_host, sub, _occasions(sub["start"].to_numpy(), window)


def _lockstep_blocks(graph, adm: pd.DataFrame, group: np.ndarray, window: int,
                     min_members: int, seed: int) -> list[np.ndarray]:
    """Split a community into blocks of patients who attend the same occasions.

    Two rings at one hospital can be joined by a few coincidental co-admissions; their
    members still attend different occasions, or see different doctors. Patients are
    linked by the Jaccard similarity of their occasion sets times the cosine similarity
    of their doctors, and the group is cut only where the average similarity inside
    each part exceeds 1/4 (Leiden, constant Potts model): a ring whose members attend
    largely the same occasions with the same doctors stays whole.
    """
    if len(group) < min_members:
        return []
    _, _, sub, occ = _at_host(adm, group, window)
    people = sub.groupby(occ)["patient"].nunique()
    big = np.isin(occ, people.index[people >= 3])
    if not big.any():
        return []
    pts, pi = np.unique(sub["patient"].to_numpy()[big], return_inverse=True)
    oc, oi = np.unique(occ[big], return_inverse=True)
    X = sp.csr_matrix((np.ones(len(pi)), (pi, oi)), shape=(len(pts), len(oc)))
    X.data[:] = 1
    shared = sp.triu(X @ X.T, k=1).tocoo()
    size = np.asarray(X.sum(axis=1)).ravel()
    sim = shared.data / (size[shared.row] + size[shared.col] - shared.data)
    doc = graph.codes("doctor")[sub["row"].to_numpy()[big]]
    if (doc >= 0).any():
        D = sp.csr_matrix((np.ones(int((doc >= 0).sum())), (pi[doc >= 0], doc[doc >= 0])),
                          shape=(len(pts), graph.n("doctor")))
        norm = np.sqrt(np.asarray(D.multiply(D).sum(axis=1)).ravel()).clip(min=1e-12)
        cos = np.asarray(D[shared.row].multiply(D[shared.col]).sum(axis=1)).ravel()
        known = (norm[shared.row] > 1e-9) & (norm[shared.col] > 1e-9)
        sim = sim * np.where(known, cos / (norm[shared.row] * norm[shared.col]), 1.0)
    label = leiden(len(pts), shared.row, shared.col, sim, resolution=0.25, seed=seed,
                   density=True)
    blocks = [pts[label == lab] for lab in np.unique(label)]
    return [b for b in blocks if len(b) >= min_members]


def _daily_admissions(inst: np.ndarray, day: np.ndarray, n: int) -> np.ndarray:
    """Each institution's usual admissions per day over the span of its admissions."""
    first = np.full(n, np.iinfo(np.int64).max)
    last = np.full(n, np.iinfo(np.int64).min)
    np.minimum.at(first, inst, day)
    np.maximum.at(last, inst, day)
    count = np.bincount(inst, minlength=n)
    span = np.where(count > 0, last - first + 1, 1).clip(min=1)
    return count / span


def _confirm(graph, adm: pd.DataFrame, group: np.ndarray, window: int,
             min_occasions: int, min_members: int, rate: np.ndarray) -> Finding | None:
    host, _, sub, occ = _at_host(adm, group, window)
    people = sub.groupby(occ)["patient"].nunique()
    batch = max(3, int(np.ceil(0.3 * len(group))))
    big = people.index[people >= batch].to_numpy()
    if len(big) < min_occasions:
        return None
    sub = sub[np.isin(occ, big)]
    occ = occ[np.isin(occ, big)]
    times = sub.groupby("patient")["start"].size()
    core = times.index[times >= 2].to_numpy()
    sel = sub["patient"].isin(core).to_numpy()
    if len(core) < min_members:
        return None
    return _finding(graph, sub[sel], occ[sel], host, window, rate[host])


def _finding(graph, sub: pd.DataFrame, occ: np.ndarray, host: int, window: int,
             rate: float) -> Finding:
    claims = graph.claims
    rows = np.sort(sub["row"].to_numpy())
    n_occ = len(np.unique(occ))
    patients = [str(x) for x in graph.index("patient")[np.unique(sub["patient"])]]
    host_id = str(graph.index("institution")[host])
    amounts = graph.amount[rows]
    length = (sub["end"] - sub["start"]).to_numpy().astype(float)
    cv, los_cv = amount_cv(amounts), amount_cv(length + 1)
    # burst: each occasion's admissions against the host's usual rate over the same span
    per_occ = sub.groupby(occ).agg(n=("patient", "size"), lo=("start", "min"),
                                   hi=("start", "max"))
    expected = rate * (per_occ["hi"] - per_occ["lo"] + 1)
    burst = float(np.median(per_occ["n"] / expected.clip(lower=0.5)))
    doctors, doc_share = _doctors(claims, rows)
    elderly, village = _people(graph, np.unique(sub["patient"].to_numpy()), sub["start"].min())
    ownership = graph.attribute("institution", "ownership")
    level = graph.attribute("institution", "level")
    private = ownership is not None and ownership[host] == "private"
    small = level is not None and level[host] is not None and level[host] <= 1
    z = (-3.0 + 1.5 * min(n_occ, 8) / 4 + 1.5 * (1 - min(cv / 0.3, 1))
         + 1.2 * min(np.log2(max(burst, 1.0)) / 3, 1) + 0.6 * bool(private or small)
         + 0.6 * (elderly or 0) + 0.4 * (village or 0) + 0.5 * doc_share)
    score = logistic(z)
    rules = ["聚集性就医", "集中入院"]
    if doc_share >= 0.8:
        rules.append("医患合谋")
    if cv < 0.1:
        rules.append("费用雷同")
    members = [("institution", host_id, "host")]
    members += [("doctor", x, "hub") for x in doctors]
    members += [("patient", x, "member") for x in patients]
    metrics = {"occasions": n_occ, "members": len(patients), "claims": len(rows),
               "amount_cv": round(cv, 4), "stay_length_cv": round(los_cv, 4),
               "burst": round(burst, 2), "doctor_share": round(doc_share, 3),
               "elderly_share": None if elderly is None else round(elderly, 3),
               "village_share": None if village is None else round(village, 3),
               "total_amount": round(float(amounts.sum()), 2)}
    details = {"host": host_id, "doctors": doctors, "window_days": window,
               "first_day": day_str(sub["start"].min()), "last_day": day_str(sub["start"].max())}
    return Finding("collusion_ring", round(score, 4), members,
                   graph.claim_ids(rows), rules, metrics, details)


def _doctors(claims: pd.DataFrame, rows: np.ndarray) -> tuple[list[str], float]:
    """The doctors behind most of the stays (up to 3) and the share of stays they cover."""
    if "doctor_id" not in claims:
        return [], 0.0
    docs = claims["doctor_id"].iloc[rows].dropna().astype(str).value_counts()
    if not len(docs):
        return [], 0.0
    docs = docs.sort_index().sort_values(ascending=False, kind="stable")
    top = docs[docs >= 0.15 * len(rows)].iloc[:3]
    return sorted(top.index), float(top.sum() / len(rows))


def _people(graph, codes: np.ndarray, first_day: int) -> tuple[float | None, float | None]:
    """Share of the patients aged 60 or more, and largest share from one village."""
    year = 1970 + first_day / 365.2425
    born = graph.attribute("patient", "birth_date")
    years = None if born is None else [b.year for b in born[codes] if b is not None]
    if not years:
        born = graph.attribute("patient", "birth_year")
        years = None if born is None else [b for b in born[codes] if b is not None]
    elderly = float(np.mean([year - y >= 60 for y in years])) if years else None
    region = graph.attribute("patient", "region_code")
    known = [] if region is None else [r for r in region[codes] if r is not None]
    village = Counter(known).most_common(1)[0][1] / len(codes) if known else None
    return elderly, village
