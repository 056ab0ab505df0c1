"""A hostile data folder: every text column of every table carries attack payloads.

The payloads are what a security test throws at a review UI and the files it writes:
markup and script (XSS), template syntax, path traversal, spreadsheet formulas, a
tab-leading value, a right-to-left override, control characters, a zero-width space,
a 100,000-character value and Chinese text. The claims are shaped so that detection
still finds cases naming hostile entities: every hostile patient is discharged from
and readmitted to one hostile hospital a day later, three times (split_stay).

Other tests import the fixtures::

    from hostile_support import hostile_data, hostile_run  # noqa: F401
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

__all__ = ["PAYLOADS", "LONG", "NOTES", "write_hostile", "hostile_data", "hostile_run",
           "hostile_ids"]

#: A 100,000-character value with no break opportunity (the worst case for a layout).
LONG = "L" + "x" * 99_998 + "L"

#: Every payload, each a value some column will hold as it stands.
PAYLOADS = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "{{7*7}}",
    "../../etc/passwd",
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil")',
    "+1+1",
    "@SUM(A1)",
    "-2+3",
    "\t=1+2",
    "\u202egpj.exe",
    "bell\x07esc\x1b[31mred",
    "zero\u200bwidth",
    "中文名称（测试）",
)

#: Notes the browser tests add to hostile cases (each within the 5,000-character limit).
NOTES = PAYLOADS + ("'\"><svg onload=alert(1)>", "N" + "n" * 4_998 + "N")

_DAY = 86_400


def _cycle(i: int) -> str:
    return PAYLOADS[i % len(PAYLOADS)]


def _write(path: Path, header: list[str], rows: list[list]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def _stamp(day: int, hour: int = 9) -> str:
    from datetime import datetime, timedelta

    t = datetime(2024, 3, 1) + timedelta(days=day, hours=hour)
    return t.strftime("%Y-%m-%d %H:%M:%S")


def write_hostile(folder: Path) -> Path:
    """Write the hostile data folder (claims, patients, institutions, doctors) and return it.

    Institutions, doctors, patients, diagnoses, terminals, operators and cards are named by
    payloads; claim ids are payloads with a serial (they must be unique). One institution
    and one doctor have the 100,000-character name, one card the 100,000-character id.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    hosts = [PAYLOADS[i] for i in (0, 5, 11, 14)]
    doctors = [PAYLOADS[i] for i in (1, 6, 12, 9)]
    _write(folder / "institutions.csv",
           ["institution_id", "name", "kind", "level", "ownership", "region_code"],
           [[h, LONG if k == 0 else _cycle(k + 3), "hospital", 2, "private", _cycle(k + 7)]
            for k, h in enumerate(hosts)])
    _write(folder / "doctors.csv", ["doctor_id", "name", "institution_id", "specialty"],
           [[d, LONG if k == 1 else _cycle(k + 2), hosts[k], _cycle(k + 8)]
            for k, d in enumerate(doctors)])
    patients = list(PAYLOADS) + [f"P{n:03d}" for n in range(30)]
    _write(folder / "patients.csv",
           ["patient_id", "birth_year", "sex", "region_code", "phone_hash", "address_hash"],
           [[p, 1950 + k % 40, "MF"[k % 2], _cycle(k + 1), _cycle(k + 2) + str(k),
             _cycle(k + 4) + str(k)] for k, p in enumerate(patients)])
    header = ["claim_id", "patient_id", "institution_id", "doctor_id", "visit_type",
              "start_time", "end_time", "total_amount", "fund_amount", "diagnosis_code",
              "terminal_id", "operator_id", "card_id"]
    rows, serial = [], 0

    def claim(**c) -> None:
        nonlocal serial
        cid = _cycle(serial) if serial < len(PAYLOADS) else f"{_cycle(serial)}#{serial}"
        serial += 1
        rows.append([cid] + [c.get(h, "") for h in header[1:]])

    for k, p in enumerate(PAYLOADS):  # three stays in a row, readmitted the next day
        host, doctor = hosts[k % len(hosts)], doctors[k % len(doctors)]
        day = 3 * k
        for stay in range(3):
            start = day + stay * 6
            claim(patient_id=p, institution_id=host, doctor_id=doctor, visit_type="inpatient",
                  start_time=_stamp(start), end_time=_stamp(start + 5, 10),
                  total_amount=f"{4800 + 10 * k + stay:.2f}", fund_amount="3000",
                  diagnosis_code=_cycle(k + 3), terminal_id=_cycle(k + 5),
                  operator_id=_cycle(k + 6), card_id=LONG if k == 2 else _cycle(k + 9))
    for n in range(30):  # ordinary outpatient visits around them
        for v in range(4):
            claim(patient_id=f"P{n:03d}", institution_id=hosts[(n + v) % len(hosts)],
                  doctor_id=doctors[(n + v) % len(doctors)], visit_type="outpatient",
                  start_time=_stamp(n + 9 * v, 8 + v), total_amount=f"{80 + n + v:.2f}",
                  diagnosis_code=_cycle(n + v), terminal_id=_cycle(n), operator_id=_cycle(v))
    _write(folder / "claims.csv", header, rows)
    return folder


_BUILT: dict[tuple[str, str], Path] = {}


def _once(factory, name: str, make) -> Path:
    """One folder per test session, even when several modules import the fixture."""
    key = (str(factory.getbasetemp()), name)
    if key not in _BUILT:
        _BUILT[key] = make(factory.mktemp(name))
    return _BUILT[key]


@pytest.fixture(scope="session")
def hostile_data(tmp_path_factory) -> Path:
    """The hostile data folder (:func:`write_hostile`), made once per session."""
    return _once(tmp_path_factory, "hostile", lambda d: write_hostile(d / "data"))


@pytest.fixture(scope="session")
def hostile_run(hostile_data, tmp_path_factory) -> Path:
    """The run folder of ``graphdetect detect`` on :func:`hostile_data`."""
    from graphdetect.run import detect_folder

    def make(d: Path) -> Path:
        detect_folder(hostile_data, d / "run")
        return d / "run"
    return _once(tmp_path_factory, "hostile_run", make)


def hostile_ids(run: Path) -> set[str]:
    """Every entity id and claim id that the run's cases name and that holds a payload."""
    import json

    out = set()
    with open(run / "cases.jsonl", encoding="utf-8") as f:
        for case in map(json.loads, f):
            for value in [m["id"] for m in case["members"]] + case["claim_ids"]:
                if any(p.strip() in value for p in PAYLOADS) or value == LONG:
                    out.add(value)
    return out
