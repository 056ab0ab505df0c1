"""The tables of a package: members with their amounts, amounts per day, masking of ids.

Everything here is plain rows of text and numbers, shared by the CSV files, the PDF and
the figures, so that all of them show the same (masked or not) identifiers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

from ..review.roles import mask_id
from ..statuses import STATUS_WORDS, status_word

KIND_ZH = {"patient": "患者", "doctor": "医师", "institution": "机构", "card": "医保卡",
           "terminal": "结算终端", "operator": "操作员"}
ROLE_ZH = {"host": "涉案机构", "hub": "主要医师", "member": "成员患者", "holder": "持卡人",
           "card": "被刷卡", "terminal": "结算终端", "operator": "操作员", "patient": "当事患者",
           "doctor": "医师", "elsewhere": "住院期间他处就医机构"}
VISIT_ZH = {"outpatient": "门诊", "inpatient": "住院", "pharmacy": "购药"}
#: The review UI's status words (:mod:`graphdetect.statuses`), one vocabulary.
STATUS_ZH = {s: status_word(s) for s in STATUS_WORDS}
SEX_ZH = {"M": "男", "F": "女"}
#: Columns of members.csv, in order.
MEMBER_COLUMNS = ("kind", "id", "name", "role", "claims", "total_amount", "fund_amount",
                  "first_day", "last_day", "sex", "birth_year", "region_code", "region")
DAY_COLUMNS = ("day", "claims", "patients", "admissions", "first_time", "last_time",
               "total_amount", "fund_amount")
_MASKED_KINDS = ("patient", "card")


class Masker:
    """Shows patient and card ids masked, when the package is to mask them.

    Parameters
    ----------
    active : bool
        Whether to mask (``export_case(..., mask_ids=True)``); inactive, ids pass as they are.
    ids : iterable of str
        Every patient and card id the package names; masked forms are kept distinct.

    Examples
    --------
    >>> m = Masker(True, ["3399023155820225", "P12"])
    >>> m.id("patient", "3399023155820225"), m.id("doctor", "D07")
    ('3399********0225', 'D07')
    >>> m.text("患者3399023155820225于2024-02-14出院")
    '患者3399********0225于2024-02-14出院'
    >>> Masker(False, ["P12"]).id("patient", "P12")
    'P12'
    """

    def __init__(self, active: bool, ids: Iterable[str] = ()):
        self.active = bool(active)
        self._map: dict[str, str] = {}
        if not self.active:
            return
        taken: set[str] = set()
        for value in sorted({str(v) for v in ids if v is not None and str(v) != ""}):
            shown, n = mask_id(value), 1
            while shown in taken:
                n += 1
                shown = f"{mask_id(value)}#{n}"
            taken.add(shown)
            self._map[value] = shown
        words = sorted(self._map, key=lambda s: (-len(s), s))
        self._pattern = re.compile("|".join(re.escape(w) for w in words)) if words else None

    def id(self, kind: str, value: object) -> str:
        """An id as shown: masked for patients and cards when the masker is active."""
        value = "" if value is None or value is pd.NA else str(value)
        if not self.active or kind not in _MASKED_KINDS or value == "":
            return value
        return self._map.get(value) or self._map.get(value.strip()) or mask_id(value)

    def text(self, text: str) -> str:
        """Free text (explanations, notes) with every known patient and card id masked."""
        if not self.active or not text or self._pattern is None:
            return text
        return self._pattern.sub(lambda m: self._map[m.group()], text)


def claim_frame(claims: pd.DataFrame) -> pd.DataFrame:
    """The typed evidence claims with plain string ids, sorted by time then claim id."""
    df = claims.copy()
    for col in ("claim_id", "patient_id", "institution_id", "doctor_id", "terminal_id",
                "operator_id", "card_id", "diagnosis_code", "visit_type"):
        if col in df:
            df[col] = pd.Series([None if pd.isna(v) else str(v) for v in df[col]],
                                index=df.index, dtype=object)
    df["day"] = df["start_time"].dt.strftime("%Y-%m-%d")
    df["card_id"] = [c if c is not None else p for c, p in
                     zip(df["card_id"], df["patient_id"], strict=True)]
    return df.sort_values(["start_time", "claim_id"], kind="stable").reset_index(drop=True)


def members_table(case: dict, df: pd.DataFrame, ev, masker: Masker) -> list[dict]:
    """One row per case member: who, role, evidence claims, amounts, first and last day."""
    rows = []
    for m in case["members"]:
        kind, ident = m["kind"], str(m["id"])
        col = f"{kind}_id"
        sub = df[df[col] == ident] if col in df else df.iloc[:0]
        row = {"kind": kind, "id": masker.id(kind, ident), "name": name_of(ev, kind, ident),
               "role": m.get("role", ""), "claims": len(sub),
               "total_amount": round(float(sub["total_amount"].sum()), 2),
               "fund_amount": round(float(sub["fund_amount"].fillna(0).sum()), 2),
               "first_day": sub["day"].min() if len(sub) else "",
               "last_day": sub["day"].max() if len(sub) else "",
               "sex": "", "birth_year": "", "region_code": "", "region": ""}
        if kind == "patient" and ev.patients is not None and ident in ev.patients.index:
            p = ev.patients.loc[ident]
            row["sex"] = _text(p.get("sex"))
            birth = p.get("birth_date")
            row["birth_year"] = (str(birth.year) if pd.notna(birth) else
                                 _text(p.get("birth_year")))
            row["region_code"] = _text(p.get("region_code"))
            row["region"] = ev.regions.get(row["region_code"], "")
        rows.append(row)
    return rows


def days_table(df: pd.DataFrame) -> list[dict]:
    """Amounts per day of the evidence claims (a day is one occasion of a batch)."""
    out = []
    for day, sub in df.groupby("day", sort=True):
        timed = sub[sub["has_time"]] if "has_time" in sub else sub.iloc[:0]
        out.append({
            "day": day, "claims": len(sub), "patients": int(sub["patient_id"].nunique()),
            "admissions": int((sub["visit_type"] == "inpatient").sum()),
            "first_time": timed["start_time"].min().strftime("%H:%M") if len(timed) else "",
            "last_time": timed["start_time"].max().strftime("%H:%M") if len(timed) else "",
            "total_amount": round(float(sub["total_amount"].sum()), 2),
            "fund_amount": round(float(sub["fund_amount"].fillna(0).sum()), 2),
        })
    return out


def occasions_table(days: list[dict], occasions: list[dict]) -> list[dict]:
    """Sum the evidence days into the occasions the detector found (``details.occasions``:
    each with ``first_day`` and ``last_day``, or one ``day``).

    A ring admits its members in batches, a gathering brings its people in on set days;
    one row per occasion, as the detector cut them, reads better than one per day.

    >>> days = [{"day": d, "claims": 1, "patients": 1, "admissions": 1, "total_amount": 1.0,
    ...          "fund_amount": 0.5} for d in ("2024-01-01", "2024-01-03", "2024-02-01")]
    >>> found = [{"first_day": "2024-01-01", "last_day": "2024-01-03"},
    ...          {"first_day": "2024-02-01", "last_day": "2024-02-01"}]
    >>> [(o["first_day"], o["last_day"], o["claims"]) for o in occasions_table(days, found)]
    [('2024-01-01', '2024-01-03', 2), ('2024-02-01', '2024-02-01', 1)]
    """
    spans = sorted((o.get("first_day", o.get("day")), o.get("last_day", o.get("day")))
                   for o in occasions)
    out = []
    for k, (first, last) in enumerate(spans):
        row = {"occasion": k + 1, "first_day": first, "last_day": last,
               "claims": 0, "admissions": 0, "total_amount": 0.0, "fund_amount": 0.0}
        for d in days:
            if first <= d["day"] <= last:
                for key in ("claims", "admissions", "total_amount", "fund_amount"):
                    row[key] = round(row[key] + d[key], 2)
        out.append(row)
    return out


def name_of(ev, kind: str, ident: str) -> str:
    """An institution's or doctor's name from the side tables, else ``""``."""
    table = {"institution": ev.institutions, "doctor": ev.doctors}.get(kind)
    if table is None or "name" not in table or ident not in table.index:
        return ""
    return _text(table.loc[ident, "name"])


def _text(value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value)
