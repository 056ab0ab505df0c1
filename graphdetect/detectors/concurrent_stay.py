"""concurrent_stay: one person billed as inpatient at two places at once (同一时间多家住院)."""

from __future__ import annotations

import numpy as np

from ..engines import engine_of
from ..graph import INPATIENT, VISITS
from ._base import Finding, Param, Pattern, detector, int_at_least
from ._stays import components, day_str, id_array, positions, resumed, stays, with_claim_ids

__all__ = ["concurrent_stay", "PATTERN"]

#: Places of the claims elsewhere an explanation names before it says how many more.
_SHOWN = 3


def _explain(case: dict, lang: str, name) -> str:
    m, d = case["metrics"], case["details"]
    patient = name("patient", d["patient"])
    # the claims elsewhere, each place once, first seen first (runs before they were named
    # in details give only their number)
    places = list(dict.fromkeys(e["institution"] for e in d.get("elsewhere", [])))
    shown = [name("institution", p) for p in places[:_SHOWN]]
    if lang == "zh":
        stays_zh = "、".join(f"{name('institution', s['institution'])}（{s['start']}至{s['end']}）"
                            for s in d["stays"])
        out = (f"患者{patient}同一时间在{m['institutions']}家机构住院：{stays_zh}，"
               f"重叠{m['overlap_days']}天，住院费用合计{m['total_amount']:,.2f}元")
        if m["claims_elsewhere"]:
            out += f"；住院期间另有{m['claims_elsewhere']}笔他处门诊或购药记录"
            if shown:
                more = f"等{len(places)}家机构" if len(places) > len(shown) else ""
                out += f"，在{'、'.join(shown)}{more}"
        return out + "。"
    stays_en = "; ".join(f"{name('institution', s['institution'])} ({s['start']} to {s['end']})"
                         for s in d["stays"])
    out = (f"Patient {patient} was billed as inpatient at {m['institutions']} institutions at "
           f"once: {stays_en}; the stays overlap by {m['overlap_days']} day(s), "
           f"{m['total_amount']:,.2f} yuan in all")
    if m["claims_elsewhere"]:
        out += f"; {m['claims_elsewhere']} other claim(s) elsewhere during the stays"
        if shown:
            more = f" and {len(places) - len(shown)} more places" \
                if len(places) > len(shown) else ""
            out += f", at {', '.join(shown)}{more}"
    return out + "."


PATTERN = Pattern(
    "concurrent_stay", prefix="C", zh="同一时间多家住院", en="Concurrent stays",
    rules={"同一时间多家住院": "inpatient at two places at once",
           "住院期间异地就医购药": "claims elsewhere during a stay"},
    explain=_explain, role_weights={"host": 0.3, "elsewhere": 0.3},
    needs={"claims.inpatient": "no stays to examine"},
    metrics={"stays": ("住院次数", "stays", "count"),
             "institutions": ("机构数", "institutions", "count"),
             "overlap_days": ("重叠天数", "overlap", "days"),
             "claims_elsewhere": ("住院期间他处记录", "claims elsewhere during the stays", "count"),
             "total_amount": ("金额合计", "total", "yuan")})


@detector(PATTERN, [
    Param("min_overlap_days", "Days two stays at different institutions must overlap.",
          "an int >= 1", int_at_least(1)),
])
def concurrent_stay(graph, *, min_overlap_days: int = 1) -> list[Finding]:
    """Find people billed as inpatient at two institutions over the same days.

    Two stays overlap by ``min(end) - max(start)`` days (discharge and admission days
    count as dates). Overlapping stays of one person form one finding; the person's
    other claims elsewhere during those stays are added as evidence.

    Parameters
    ----------
    graph : ClaimsGraph
    min_overlap_days : int, default 1

    Returns
    -------
    list of Finding
        One per group of overlapping stays, pattern ``concurrent_stay``.

    Examples
    --------
    >>> import pandas as pd
    >>> from graphdetect.graph import ClaimsGraph
    >>> claims = pd.DataFrame({"claim_id": ["A", "B"], "patient_id": pd.Categorical(["P", "P"]),
    ...     "institution_id": pd.Categorical(["H1", "H2"]), "visit_type": ["inpatient"] * 2,
    ...     "start_time": pd.to_datetime(["2024-01-01", "2024-01-05"]),
    ...     "end_time": pd.to_datetime(["2024-01-10", "2024-01-12"]),
    ...     "total_amount": [5000.0, 4000.0]})
    >>> [f.claim_ids for f in concurrent_stay(ClaimsGraph(claims))]
    [['A', 'B']]
    """
    s = stays(graph)
    s = s[s["patient"].duplicated(keep=False)].reset_index(drop=True)
    if not len(s):
        return []
    # the relational step is the engine's: the overlapping pairs, as claim rows
    a, b = engine_of(graph).overlapping_stays(graph, min_overlap_days=min_overlap_days)
    if not len(a):
        return []
    row = s["row"].to_numpy()
    a, b = positions(row, a), positions(row, b)
    linked = np.unique(np.concatenate([a, b]))
    # the parts of a stay cut on a settlement day are one stay
    first, then = (positions(row, x) for x in resumed(graph))
    label = components(len(s), np.concatenate([a, first]), np.concatenate([b, then]))
    # the stays of each group, in the table's order: one sort, then a slice per group
    order = np.argsort(label, kind="stable")
    cut = np.searchsorted(label[order], np.unique(label[linked]))
    cols = {c: s[c].to_numpy() for c in ("row", "patient", "institution", "start", "end")}
    out, evidence = [], []
    for lo, n in zip(cut, np.bincount(label)[label[order][cut]], strict=True):
        found, rows = _finding(graph, {c: v[order[lo:lo + n]] for c, v in cols.items()})
        out.append(found)
        evidence.append(rows)
    return with_claim_ids(graph, out, evidence)


def _finding(graph, group: dict) -> tuple[Finding, np.ndarray]:
    """The finding for one group of stays (arrays per column), without its claim ids, and
    its evidence rows in order."""
    rows = group["row"]
    patient = id_array(graph, "patient")[group["patient"][0]]
    places = [str(h) for h in id_array(graph, "institution")[group["institution"]]]
    lo, hi = int(group["start"].max()), int(group["end"].min())
    overlap = max(0, hi - lo)
    elsewhere = _claims_elsewhere(graph, group)
    amount = float(graph.amount[rows].sum())
    rules = ["同一时间多家住院"] + (["住院期间异地就医购药"] if len(elsewhere) else [])
    score = min(1.0, 0.7 + 0.02 * min(overlap, 10) + 0.03 * min(len(elsewhere), 3))
    members = [("patient", str(patient), "patient")]
    members += [("institution", p, "host") for p in sorted(set(places))]
    # where the claims during the stays were made: named, and each claim's place, day and
    # kind in time order
    ids = id_array(graph, "institution")
    by_day = elsewhere[np.argsort(graph.day[elsewhere], kind="stable")]
    there = [str(x) for x in ids[graph.codes("institution")[by_day]]]
    members += [("institution", p, "elsewhere") for p in sorted(set(there) - set(places))]
    details = {"patient": str(patient),
               "stays": [{"institution": p, "start": day_str(s), "end": day_str(e)}
                         for p, s, e in zip(places, group["start"], group["end"], strict=True)],
               "elsewhere": [{"institution": p, "day": day_str(d), "visit": VISITS[v]}
                             for p, d, v in zip(there, graph.day[by_day].tolist(),
                                                graph.visit[by_day].tolist(), strict=True)]}
    return Finding("concurrent_stay", round(score, 4), members, [], rules,
                   {"stays": len(rows), "institutions": len(set(places)),
                    "overlap_days": overlap, "claims_elsewhere": int(len(elsewhere)),
                    "total_amount": round(amount, 2)}, details), np.concatenate([rows, elsewhere])


def _claims_elsewhere(graph, group: dict) -> np.ndarray:
    """Rows of the person's non-inpatient claims at other places during any of the stays."""
    mine = graph.members("patient")
    p = int(group["patient"][0])
    rows = mine.indices[mine.indptr[p]:mine.indptr[p + 1]]
    rows = rows[graph.visit[rows] != INPATIENT]
    day, inst = graph.day[rows], graph.codes("institution")[rows]
    hit = np.zeros(len(rows), bool)
    for h, s, e in zip(group["institution"], group["start"], group["end"], strict=True):
        hit |= (day > s) & (day < e) & (inst != h)
    return np.sort(rows[hit])
