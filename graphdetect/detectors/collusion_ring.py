"""collusion_ring: the same patients admitted in bursts, again and again, to one place or a few.

医患合谋, 诱导住院, 聚集性就医.
"""

from __future__ import annotations

import numpy as np

from ..engines import engine_of
from ._arrays import group_medians, sorted_unique
from ._base import Finding, Param, Pattern, detector, int_at_least, number_in
from ._ring_campaign import HostDays, StayIndex, campaigns, extend_stream
from ._ring_evidence import occasion_table, pool_parts, sites_alike
from ._ring_groups import log_bills, pools
from ._ring_occasions import stream_occasions
from ._ring_pieces import by_bill, regrown, rejoin
from ._ring_score import categories, ring_finding
from ._ring_sets import firsts
from ._stays import whole_stays, with_claim_ids

__all__ = ["collusion_ring", "PATTERN"]


def _names(name, kind: str, ids: list[str], sep: str) -> str:
    return sep.join(name(kind, x) for x in ids)


def _explain(case: dict, lang: str, name) -> str:
    m, d = case["metrics"], case["details"]
    places = _names(name, "institution", d["institutions"], "、" if lang == "zh" else ", ")
    doctors = _names(name, "doctor", d["doctors"], "、" if lang == "zh" else ", ")
    lo, hi, mid = m["per_occasion_min"], m["per_occasion_max"], m["per_occasion_median"]
    days = m["longest_occasion_days"]
    gap = d.get("median_gap_days")
    course = m.get("course_stay_days", m["median_stay_days"])
    course_cv = m.get("course_stay_cv", m["stay_length_cv"])
    if lang == "zh":
        where = places if m["institutions"] == 1 else f"{m['institutions']}家机构（{places}）"
        out = (f"{m['members']}名患者在{m['occasions']}个时段（{d['first_day']}至{d['last_day']}）"
               f"集中入住{where}：每个时段{lo}至{hi}人（中位{mid:g}人）、最长{days}天内入院，"
               f"中位约为所在机构同期常规入院量的{m['burst']:.1f}倍")
        if d.get("doctor_occasions"):
            out += (f"（其中{d['doctor_occasions']}个时段按收治医师本人的常规入院量计："
                    "该院入院量大，整体看不出这些时段）")
        if gap is not None:
            out += f"，时段间隔中位{gap:g}天"
        out += (f"；{m['doctor_share']:.0%}的住院由{doctors}收治" if doctors else
                "；数据无医师编码，未核对收治医师")
        out += f"；住院费用变异系数{m['amount_cv']:.1%}，住院天数变异系数{m['stay_length_cv']:.1%}"
        if m["elderly_share"] is not None:
            out += f"；{m['elderly_share']:.0%}为60岁以上老人"
        if m["village_share"] is not None:
            out += f"；{m['village_share']:.0%}来自同一村"
        out += f"；合计{m['total_amount']:,.2f}元。"
        if d.get("routine"):
            dx = (f"{m['diagnosis_share']:.0%}为同一诊断类别（{d['diagnosis_group']}），"
                  if m.get("diagnosis_share") is not None else "数据无诊断编码，未核对诊断，")
            out += (f"但同一批患者各自按固定周期（间隔变异系数{m['schedule_cv']:.1%}）反复入院，"
                    f"{dx}"
                    f"复诊患者固定疗程中位住院{course:g}天（变异系数{course_cv:.1%}，"
                    f"全市通常{m['usual_stay_days']:g}天），更像病区的常规疗程安排，故评分较低。")
        return out
    where = places if m["institutions"] == 1 else f"{m['institutions']} institutions ({places})"
    out = (f"{m['members']} patients were admitted together to {where} on {m['occasions']} "
           f"occasions ({d['first_day']} to {d['last_day']}): {lo} to {hi} patients per "
           f"occasion (median {mid:g}), each occasion within at most {days} days, a median "
           f"{m['burst']:.1f}x what the place usually admits in such a span")
    if d.get("doctor_occasions"):
        out += (f" (for {d['doctor_occasions']} of the occasions, what the admitting "
                f"doctors usually admit: the place admits too many for its own count to "
                f"show them)")
    if gap is not None:
        out += f", occasions a median {gap:g} days apart"
    out += (f"; {m['doctor_share']:.0%} of the stays were under {doctors}" if doctors else
            "; the data carries no doctor ids, so the doctors were not checked")
    out += (f"; bills vary by {m['amount_cv']:.1%} and stay lengths by "
            f"{m['stay_length_cv']:.1%} (CV)")
    if m["elderly_share"] is not None:
        out += f"; {m['elderly_share']:.0%} are aged 60 or over"
    if m["village_share"] is not None:
        out += f"; {m['village_share']:.0%} come from one village"
    out += f"; {m['total_amount']:,.2f} yuan in all."
    if d.get("routine"):
        dx = (f"{m['diagnosis_share']:.0%} with one diagnosis group ({d['diagnosis_group']})"
              if m.get("diagnosis_share") is not None else
              "(the data carries no diagnosis codes, so the diagnoses were not checked)")
        out += (f" But the same patients each come back on a regular schedule (gaps vary by "
                f"{m['schedule_cv']:.1%}), {dx}, for fixed-length stays of a median "
                f"{course:g} days (varying by {course_cv:.1%} among those who come "
                f"back; usually {m['usual_stay_days']:g} days here): "
                f"this looks like a ward's routine course programme, so it is scored low.")
    return out


PATTERN = Pattern(
    "collusion_ring", prefix="R", zh="医患合谋 / 聚集性住院", en="Collusion ring",
    rules={"聚集性就医": "clustered visits", "集中入院": "batch admissions",
           "医患合谋": "doctor-patient collusion", "费用雷同": "near-identical bills"},
    explain=_explain,
    needs={"claims.inpatient": "no admissions to examine",
           "claims.doctor_id": "members admitted once were matched on diagnosis only, and "
                               "the doctors behind a ring were not named",
           "claims.diagnosis_code": "members admitted once were matched on doctor only, and "
                                    "routine course programmes (the same patients on a "
                                    "regular schedule for fixed long stays) were recognised "
                                    "without checking that they share one diagnosis group",
           "patients.birth": "members' ages were not checked",
           "patients.region_code": "members' villages were not checked",
           "institutions": "ownership and level of the host were not checked"},
    metrics={"occasions": ("集中入院时段数", "occasions", "count"),
             "members": ("成员人数", "members", "count"),
             "claims": ("证据笔数", "settlements", "count"),
             "institutions": ("机构数", "institutions", "count"),
             "per_occasion_min": ("每时段最少人数", "fewest per occasion", "count"),
             "per_occasion_max": ("每时段最多人数", "most per occasion", "count"),
             "per_occasion_median": ("每时段人数中位数", "median per occasion", "count"),
             "longest_occasion_days": ("最长时段", "longest occasion", "days"),
             "attendance": ("每时段到场比例（中位）", "share of the pool per occasion", "percent"),
             "amount_cv": ("住院费用变异系数", "bill CV", "percent"),
             "stay_length_cv": ("住院天数变异系数", "stay length CV", "percent"),
             "median_stay_days": ("住院天数中位数", "median stay", "days"),
             "course_stay_days": ("复住者住院天数中位数", "returning patients' stay", "days"),
             "course_stay_cv": ("复住者住院天数变异系数", "returning patients' stay CV", "percent"),
             "usual_stay_days": ("本地常规住院天数", "the city's usual stay", "days"),
             "burst": ("入院量倍数（相对该院常规）", "admissions vs the place's usual", "times"),
             "doctor_share": ("主要医师收治占比", "share under the main doctors", "percent"),
             "elderly_share": ("60岁以上占比", "aged 60 or over", "percent"),
             "village_share": ("同村占比", "from one village", "percent"),
             "schedule_cv": ("复住间隔离散度", "spread of readmission gaps", "percent"),
             "diagnosis_share": ("同一诊断类别占比", "share in one diagnosis group", "percent"),
             "share_of_host_admissions": ("占该院同期入院比", "share of the place's admissions",
                                          "percent"),
             "total_amount": ("金额合计", "total", "yuan")})


@detector(PATTERN, [
    Param("window_days", "An occasion (one burst of admissions) lasts at most this many "
          "days plus one.", "an int >= 0", int_at_least(0)),
    Param("min_occasions", "Occasions a group must be admitted on.", "an int >= 2",
          int_at_least(2)),
    Param("min_members", "Patients a ring needs.", "an int >= 3", int_at_least(3)),
    Param("burst_ratio", "How many times an institution's usual admissions for a span a "
          "burst must bring in.", "a number in [1, 100]", number_in(1, 100)),
    Param("burst_p", "Chance of so many admissions in the span, at the institution's usual "
          "rate, below which it is a burst (Poisson); a doctor's own admissions there are "
          "held to it shared among the institution's doctors.", "a number in [0, 1]",
          number_in(0, 1)),
    Param("max_load", "Admissions in one occasion above which it is a hub's busy day and "
          "not evidence.", "an int >= 2", int_at_least(2)),
    Param("resolution", "Modularity resolution of the patients x occasions graph, each "
          "connected component taken as its own graph (1: plain modularity); higher gives "
          "smaller groups.", "a number in [0.01, 10]", number_in(0.01, 10)),
    Param("seed", "Seed of the community detection.", "an int >= 0", int_at_least(0)),
])
def collusion_ring(graph, *, window_days: int = 6, min_occasions: int = 3,
                   min_members: int = 4, burst_ratio: float = 2.0, burst_p: float = 0.05,
                   max_load: int = 400, resolution: float = 1.0,
                   seed: int = 0) -> list[Finding]:
    """Find pools of patients admitted in bursts, again and again, to one or a few places.

    1. Occasions: at each institution, short bursts of admissions (at most
       ``window_days`` + 1 days long) holding ``burst_ratio`` times the institution's
       usual admissions for that span, with a Poisson chance of at most ``burst_p``
       (:func:`._ring_occasions.occasions`). A weekly trickle is many small occasions;
       a hub's busy day is no burst over its own rate. Admissions in no burst of their
       place's may be in one of their doctor's own admissions there (the place's
       ``burst_p`` shared among its doctors, against the doctor's usual admissions on
       that day of the week): a ring in one department of a county hospital admitting
       dozens a day (:func:`._ring_occasions.stream_occasions`).
    2. Pools: patients who attend two or more occasions and the occasions they attend
       (one node per occasion and doctor, so that two rings admitting in the same days
       under other doctors stay apart) form a bipartite graph; its Leiden communities
       (modularity of each connected component as its own graph, so that a host's rings
       split alike in a small city and a big one),
       merged where their members attend mostly the same occasions, are the candidate
       pools (:func:`._ring_groups.pools`). A pool may span several institutions (the
       same recruits admitted at each in turn).
    3. Members: the pool's repeat patients, and those admitted once on one of the
       occasions it brings most members to, under its doctors with its diagnoses. A
       ring needs ``min_occasions`` occasions bringing in at least two members each,
       ``min_members`` members, and its own admissions on an occasion must exceed, in
       the median, what the place usually admits in such a span.
    4. Score: occasions, similar bills, the burst over each place's own rate (or its
       doctors', for an occasion only they show), private or
       small hosts, the few doctors behind the stays, elderly members, shared villages.
       The same patients on a regular schedule with one diagnosis group (a ward's
       course programme, with long stays of one length, a few other stays aside) stay
       below the case threshold, saying why.

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
    # a stay cut on settlement days is one admission, its bill its parts' together
    adm, amount, parts_of = whole_stays(graph)
    if len(adm) < min_members * 2:
        return []
    p, h, d = (adm[c].to_numpy() for c in ("patient", "institution", "start"))
    doc = graph.codes("doctor")
    occ, rate, by_doctor = stream_occasions(
        h, doc[adm["row"].to_numpy()], d, adm["row"].to_numpy(), graph.n("institution"),
        max_span=window_days + 1, ratio=burst_ratio, alpha=burst_p)
    keep = occ >= 0
    if not keep.any():
        return []
    st = {c: adm[c].to_numpy()[keep] for c in ("row", "patient", "institution", "start", "end")}
    st["occasion"] = occ[keep]
    cats = categories(graph)
    st["diagnosis"] = _groups(graph, adm["diagnosis"].to_numpy()[keep], cats)
    n_occ = int(st["occasion"].max()) + 1
    load = np.bincount(st["occasion"], minlength=n_occ)
    people = np.bincount(sorted_unique(st["patient"].astype(np.int64) << 32 | st["occasion"])
                         & 0xFFFFFFFF, minlength=n_occ)
    keep = (people[st["occasion"]] >= 3) & (load[st["occasion"]] <= max_load)
    st = {c: v[keep] for c, v in st.items()}
    st["doctor"] = doc[st["row"]]
    # nodes: (occasion, doctor): two rings admitting in the same days under other doctors
    # stay apart, and a ring's occasion under several doctors is several nodes
    node = st["occasion"].astype(np.int64) << 32 | (st["doctor"].astype(np.int64) + 1)
    keys = sorted_unique(node)
    st["node"] = np.searchsorted(keys, node)
    pair = sorted_unique(st["patient"].astype(np.int64) << 32 | st["node"])
    # the components and Leiden's batches of them, where the graph's engine runs them
    groups, owner = pools(pair >> 32, pair & 0xFFFFFFFF, int(st["node"].max(initial=-1)) + 1,
                          resolution=resolution, seed=seed, parent=keys >> 32,
                          engine=engine_of(graph))
    host_admissions = np.bincount(h, minlength=graph.n("institution"))
    usual_stay = float(np.median(adm["end"].to_numpy() - d))
    by_occ = StayIndex(st["occasion"])
    usual = None   # without doctor ids: the spread of each place's own bills
    if (st["doctor"] < 0).any():
        x = log_bills(amount[adm["row"].to_numpy()])
        mid = group_medians(x, h, graph.n("institution"))
        usual = 1.4826 * group_medians(np.abs(x - mid[h]), h, graph.n("institution"))
    parts, strong = pool_parts(groups, owner, st, keys >> 32, by_occ, amount,
                               min_occasions=min_occasions, min_members=min_members,
                               usual=usual)
    out, evidence = [], []
    stream_gap = 2 * (window_days + 1)
    # a stream may take in bursts held by no pool, or by one too small to be a ring
    free = ~np.isin(owner[st["node"]], strong)
    by_host = HostDays(st["institution"], st["start"])
    streams = []
    for together in campaigns(parts, st, stream_gap=stream_gap, index=by_occ,
                              amount=amount):
        sub = {c: np.concatenate([parts[i][c] for i in together]) for c in st}
        for _ in range(3):
            grown = extend_stream(sub, st, free, stream_gap=stream_gap, index=by_host,
                                  amount=amount)
            if len(grown["row"]) == len(sub["row"]):
                break
            sub = grown
        streams.append(sub)
    # sub-pools too sparse to form a stream together may each have grown into one, and
    # be one campaign now
    groups, by_patient = [], None
    for together in campaigns(streams, st, stream_gap=stream_gap, index=by_occ,
                              amount=amount):
        sub = {c: np.concatenate([streams[i][c] for i in together]) for c in st}
        _, once = firsts(sub["row"])
        once = once[np.argsort(sub["occasion"][once], kind="stable")]
        sub = {c: v[once] for c, v in sub.items()}
        pieces = by_bill(sub, amount, min_members)
        # the pieces but the largest were another ring's members in this pool, on the
        # few of their own occasions the pool held; kinds as rejoin takes them
        main = int(np.argmax([len(sorted_unique(x["patient"])) for x in pieces]))
        if len(pieces) > 1 and by_patient is None:
            by_patient = StayIndex(st["patient"])
        groups += [(piece if k == main else regrown(piece, st, by_patient),
                    0 if len(pieces) == 1 else 2 if k == main else 1)
                   for k, piece in enumerate(pieces)]

    def finding(piece):
        return ring_finding(graph, piece, occasion_table(piece), rate, host_admissions,
                            usual_stay, cats, amount, by_doctor)

    def course(piece):   # a ward's course programme on its own
        return finding(piece)[0].details["routine"]

    for piece in rejoin(groups, amount, min_members, course):
        piece = sites_alike(piece, amount, usual)
        table = occasion_table(piece)
        if len(table["occasion"]) < min_occasions or \
                len(sorted_unique(piece["patient"])) < min_members:
            continue
        found, rows = finding(piece)
        if found.metrics["burst"] >= 1:   # its own admissions exceed the places' usual
            out.append(found)
            evidence.append(np.concatenate([rows, *(parts_of.get(r, ()) for r in
                                                    rows.tolist())]) if parts_of else rows)
    return with_claim_ids(graph, out, evidence)


def _groups(graph, codes: np.ndarray, cats: np.ndarray) -> np.ndarray:
    """ICD-10 category (first three characters, numbered in ``cats``) code per diagnosis
    code (-1 unknown)."""
    if "diagnosis_code" not in graph.claims or not len(codes):
        return np.full(len(codes), -1)
    first3 = graph.claims["diagnosis_code"].cat.categories.astype(str).str[:3]
    group = np.searchsorted(cats, np.asarray(first3))
    return np.where(codes >= 0, group[codes.clip(min=0)] if len(group) else -1, -1)

