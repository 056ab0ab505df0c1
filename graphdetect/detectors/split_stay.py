"""split_stay: discharge and readmission to one place within days, same diagnosis (分解住院).

Without diagnosis codes in the data, the same doctor admitting both stays stands in for
the diagnosis; without doctor ids either, the readmission within days is all there is to
go on. The case then says what was not checked, and scores lower.
"""

from __future__ import annotations

import numpy as np

from ..engines import engine_of
from ._base import Finding, Param, Pattern, detector, int_at_least
from ._stays import continued, day_str, id_array, positions, stays_by_place, with_claim_ids

__all__ = ["split_stay", "PATTERN"]


def _explain(case: dict, lang: str, name) -> str:
    m, d = case["metrics"], case["details"]
    patient = name("patient", d["patient"])
    place = name("institution", d["institution"])
    dx, doctor = d.get("diagnosis"), d.get("doctor")
    codes = d.get("diagnoses")      # one ICD-10 category under several codes
    if lang == "zh":
        same = (f"以同类诊断（{'、'.join(codes)}）" if codes else
                f"以相同诊断{dx}" if dx is not None else
                f"由同一医生{name('doctor', doctor)}" if doctor is not None else "")
        unchecked = "" if dx is not None else "（数据无诊断编码，未核对诊断）"
        parts = (f"（其中{d['settled_in_parts']}次住院在结算日分段结算，按一次计）"
                 if d.get("settled_in_parts") else "")
        return (f"患者{patient}于{d['first_discharge']}从{place}出院，{d['first_gap_days']}天后"
                f"（{d['readmitted']}）{same}再次入院{unchecked}；同一机构连续{m['stays']}次"
                f"住院{parts}、间隔最短{m['min_gap_days']}天，疑似分解住院，"
                f"合计{m['total_amount']:,.2f}元。")
    same = (f" with diagnoses of one category ({', '.join(codes)})" if codes else
            f" with the same diagnosis {dx}" if dx is not None else
            f" by the same doctor {name('doctor', doctor)}" if doctor is not None else "")
    unchecked = "" if dx is not None else " (the data has no diagnosis codes: not checked)"
    n = d.get("settled_in_parts")
    parts = (f" ({n} of them settled in parts on a settlement day, each counted once)"
             if n else "")
    return (f"Patient {patient} was discharged from {place} on {d['first_discharge']} and "
            f"readmitted {d['first_gap_days']} day(s) later ({d['readmitted']}){same}"
            f"{unchecked}; {m['stays']} stays in a row at one institution{parts}, shortest "
            f"gap {m['min_gap_days']} day(s), {m['total_amount']:,.2f} yuan in all.")


PATTERN = Pattern(
    "split_stay", prefix="S", zh="分解住院", en="Split admissions",
    rules={"分解住院": "split admission"}, explain=_explain,
    role_weights={"host": 0.5, "doctor": 0.5},
    needs={"claims.inpatient": "no stays to examine",
           "claims.diagnosis_code": "readmissions were matched on the doctor admitting both "
                                    "stays instead (on nothing but the gap without doctor "
                                    "ids), and their cases score lower"},
    metrics={"stays": ("住院次数", "stays", "count"),
             "min_gap_days": ("最短间隔天数", "shortest gap", "days"),
             "total_amount": ("金额合计", "total", "yuan")})


@detector(PATTERN, [
    Param("max_gap_days", "Days between discharge and readmission that count as a split.",
          "an int >= 0", int_at_least(0)),
    Param("diagnosis_prefix", "Characters of an ICD-10 diagnosis code that must match "
          "(3 = its category; 0 = the whole code); other codes match whole.",
          "an int >= 0", int_at_least(0)),
])
def split_stay(graph, *, max_gap_days: int = 2, diagnosis_prefix: int = 3) -> list[Finding]:
    """Find readmissions to the same institution soon after discharge, for the same diagnosis.

    Consecutive inpatient stays of one patient at one institution form a split when the
    readmission day is 0..``max_gap_days`` days after the discharge day and both stays
    carry the same diagnosis: by default the same ICD-10 category (J18.900 and the
    insurance edition's J18.000x001 are one pneumonia, as two coders, or one who wants the
    second stay to look new, may write it). Chains of splits become one finding.

    Data without diagnosis codes (none in any claim) cannot show the diagnosis: both
    stays must then have been admitted by the same doctor, or, without doctor ids either,
    the gap alone makes the split. Such findings score 0.9 (same doctor) or 0.8 (gap
    alone) of what a matched diagnosis would, and say in their explanation that the
    diagnoses were not checked.

    Parameters
    ----------
    graph : ClaimsGraph
    max_gap_days : int, default 2
    diagnosis_prefix : int, default 3
        Compare only the first characters of ICD-10 codes (3 = the category; 0 = whole
        codes); codes of another form are compared whole
        (:func:`._stays.diagnosis_keys`).

    Returns
    -------
    list of Finding
        One per chain of split stays, pattern ``split_stay``.

    Examples
    --------
    >>> import pandas as pd
    >>> from graphdetect.graph import ClaimsGraph
    >>> claims = pd.DataFrame({"claim_id": ["A", "B"], "patient_id": pd.Categorical(["P", "P"]),
    ...     "institution_id": pd.Categorical(["H", "H"]), "visit_type": ["inpatient"] * 2,
    ...     "start_time": pd.to_datetime(["2024-01-01", "2024-01-11"]),
    ...     "end_time": pd.to_datetime(["2024-01-10", "2024-01-20"]),
    ...     "total_amount": [5000.0, 4000.0], "diagnosis_code": pd.Categorical(["I63", "I63"])})
    >>> [f.claim_ids for f in split_stay(ClaimsGraph(claims))]
    [['A', 'B']]
    """
    s = stays_by_place(graph)
    if len(s) < 2:
        return []
    # the relational step is the engine's: the readmissions, as claim rows
    same = _matched_on(graph)
    earlier, _ = engine_of(graph).readmissions(graph, max_gap_days=max_gap_days,
                                               diagnosis_prefix=diagnosis_prefix, same=same)
    if not len(earlier):
        return []
    # a readmission joins a stay to the next in this table: the link after the earlier
    link = np.zeros(len(s) - 1, bool)
    link[positions(s["row"].to_numpy(), earlier)] = True
    # a stay settled on a settlement day and resumed is one stay, not a readmission: its
    # pieces join a chain but do not make one
    resumed = continued(graph)
    link &= ~resumed
    joined = link | resumed
    start, end = s["start"].to_numpy(), s["end"].to_numpy()
    gap = start[1:] - end[:-1]
    # links join consecutive stays, so a chain is a run of them: from a link with none
    # before it to the stay after the last link of the run
    first = np.flatnonzero(joined & ~np.concatenate([[False], joined[:-1]]))
    last = np.flatnonzero(joined & ~np.concatenate([joined[1:], [False]])) + 1
    cols = {c: s[c].to_numpy()
            for c in ("row", "patient", "institution", "start", "end", "diagnosis")}
    chains = [({c: v[a:b + 1] for c, v in cols.items()}, gap[a:b], link[a:b])
              for a, b in zip(first, last, strict=True) if link[a:b].any()]
    found = [_finding(graph, *chain, max_gap_days, same) for chain in chains]
    return with_claim_ids(graph, found, [chain["row"] for chain, _, _ in chains])


def _matched_on(graph) -> str:
    """What a readmission's two stays must share: ``"diagnosis"``, else (no diagnosis
    code in the data) ``"doctor"``, else (no doctor ids either) ``"nothing"``."""
    if graph.claims["diagnosis_code"].notna().any():
        return "diagnosis"
    return "doctor" if graph.n("doctor") else "nothing"


#: How much of a matched diagnosis's score a split has, by what its stays shared.
_WEIGHT = {"diagnosis": 1.0, "doctor": 0.9, "nothing": 0.8}


def _finding(graph, chain: dict, gaps: np.ndarray, split: np.ndarray, max_gap: int,
             same: str) -> Finding:
    """The finding for one chain of stays (arrays per column), without its claim ids:
    ``gaps`` between consecutive stays, ``split`` whether each is a readmission (else a
    stay resumed after a settlement day)."""
    rows = chain["row"]
    patient = id_array(graph, "patient")[chain["patient"][0]]
    host = id_array(graph, "institution")[chain["institution"][0]]
    amount = float(graph.amount[rows].sum())
    codes = graph.claims["diagnosis_code"].cat.categories
    dx = str(codes[chain["diagnosis"][0]]) if same == "diagnosis" else None
    doctors = graph.ids("doctor", rows)
    k, g, j = int(split.sum()) + 1, int(gaps[split].min()), int(np.argmax(split))
    score = min(1.0, 0.55 + 0.25 * (max_gap + 1 - g) / (max_gap + 1) + 0.1 * (k - 2))
    score *= _WEIGHT[same]
    members = [("patient", str(patient), "patient"), ("institution", str(host), "host")]
    members += [("doctor", d, "doctor") for d in doctors]
    details = {"patient": str(patient), "institution": str(host),
               "first_discharge": day_str(chain["end"][j]),
               "readmitted": day_str(chain["start"][j + 1]), "first_gap_days": int(gaps[j]),
               "diagnosis": dx}
    if same == "doctor":
        details["doctor"] = str(doctors[0])
    elif len(set(chain["diagnosis"][np.r_[split, False] | np.r_[False, split]])) > 1:
        # one category under several codes: each readmission's two codes
        linked = np.flatnonzero(np.r_[split, False] | np.r_[False, split])
        details["diagnoses"] = list(dict.fromkeys(str(codes[c])
                                                  for c in chain["diagnosis"][linked]))
    if not split.all():   # stays in parts: runs of resumed links
        details["settled_in_parts"] = int(np.sum(~split & np.r_[True, split[:-1]]))
    return Finding("split_stay", round(score, 4), members, [], ["分解住院"],
                   {"stays": k, "min_gap_days": g, "total_amount": round(amount, 2)}, details)
