"""Evidence packages: contents, verify, reproducibility, safe names.

Tests that need what the setup installs (poppler-utils' pdftotext and pdffonts, the CJK
font) skip on a bare machine but FAIL when CI=true, so CI cannot pass without them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import subprocess
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import networkx as nx
import pytest
from export_support import (  # noqa: F401 (fixtures used as arguments)
    HUGE_NAME,
    LONG_CODE,
    MATH_NAME,
    RLO_NAME,
    SAMPLE,
    case_of,
    copy,
    decide,
    hostile_run,
    need,
    need_font,
    package,
    pdf_text,
    problems,
    run,
)

from graphdetect import read_folder
from graphdetect.cells import read_cell
from graphdetect.export import ExportError, export_case, verify_package, zip_path
from graphdetect.export import package as package_module


def test_package_lists_every_file_and_verifies(package, run):
    names = {p.name for p in package.iterdir()}
    assert {"report.pdf", "claims.csv", "members.csv", "network.graphml", "network.json",
            "network.png", "amounts.png", "manifest.json"} <= names
    assert "timeline.png" in names or "timeline-01.png" in names  # 40 patients a page
    manifest = json.loads((package / "manifest.json").read_text(encoding="utf-8"))
    listed = {f["path"]: f for f in manifest["files"]}
    assert set(listed) == names - {"manifest.json"}
    for name, entry in listed.items():
        data = (package / name).read_bytes()
        assert entry == {"path": name, "sha256": hashlib.sha256(data).hexdigest(),
                         "size": len(data)}
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    assert manifest["run_id"] == summary["run_id"] and manifest["case_id"] == "R-0001"
    assert manifest["exported_by"] == {"user": "li", "role": "investigator"}
    assert manifest["review_status"] is None and manifest["signature"] is None
    datetime.fromisoformat(manifest["exported_at"])
    assert verify_package(package).ok
    assert zip_path(package).is_file() and verify_package(zip_path(package)).ok


def test_claims_csv_holds_every_source_column_of_every_evidence_claim(package, run):
    with open(SAMPLE / "claims.csv", encoding="utf-8", newline="") as f:
        source = list(csv.reader(f))
    text = (package / "claims.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == source[0]
    by_id = {r[0]: r for r in source[1:]}
    assert sorted(r[0] for r in rows[1:]) == sorted(case_of(run, "R-0001")["claim_ids"])
    assert all(r == by_id[r[0]] for r in rows[1:])


def test_network_files_hold_the_case_entities(package, run):
    doc = json.loads((package / "network.json").read_text(encoding="utf-8"))
    keys = {n["key"] for n in doc["nodes"]}
    for m in case_of(run, "R-0001")["members"]:
        assert f"{m['kind']}:{m['id']}" in keys
    assert doc["edges"] and all(isinstance(e["weight"], int) and e["weight"] > 0
                                for e in doc["edges"])
    G = nx.read_graphml(package / "network.graphml")
    assert set(G.nodes) == keys and G.number_of_edges() == len(doc["edges"])


def test_pdf_text_names_the_case_and_its_rules(package, run):
    text = pdf_text(package / "report.pdf")
    case = case_of(run, "R-0001")
    assert "R-0001" in text and case["rules"]
    for rule in case["rules"]:
        assert rule in text
    assert "未经复核" in text  # exported without a review database


def test_pdf_embeds_every_font(package):
    need("pdffonts")
    out = subprocess.run(["pdffonts", str(package / "report.pdf")], check=True,
                         capture_output=True, text=True).stdout.splitlines()[2:]
    assert out and any("WenQuanYi" in line for line in out)
    for line in out:  # name type encoding emb sub uni object ID
        assert line.split()[-5] == "yes", line


def test_package_is_private_to_its_owner(run, tmp_path):
    """Files 0600, folders 0700 (the exports folder too, when export makes it), zip
    entries 0600: evidence names real people."""
    import stat

    need_font()
    out = tmp_path / "exports"
    folder = export_case(run, "S-0001", out, user="li")
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for p in folder.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p.name
    assert stat.S_IMODE(zip_path(folder).stat().st_mode) == 0o600
    with zipfile.ZipFile(zip_path(folder)) as zf:
        assert {i.external_attr >> 16 for i in zf.infolist()} == {0o100600}
    again = export_case(run, "S-0001", out, user="li")  # replacing keeps the modes
    assert stat.S_IMODE(again.stat().st_mode) == 0o700
    assert stat.S_IMODE(zip_path(again).stat().st_mode) == 0o600


# -- verify -----------------------------------------------------------------------------
def test_verify_names_a_changed_byte(package, tmp_path):
    pkg = copy(package, tmp_path)
    data = bytearray((pkg / "claims.csv").read_bytes())
    data[len(data) // 2] ^= 1
    (pkg / "claims.csv").write_bytes(bytes(data))
    result = verify_package(pkg)
    assert not result.ok and problems(result) == {("changed", "claims.csv")}
    assert any("claims.csv" in line for line in result.lines())


def test_verify_names_a_missing_and_an_extra_file(package, tmp_path):
    pkg = copy(package, tmp_path)
    (pkg / "network.png").unlink()
    (pkg / "notes.txt").write_text("added later", encoding="utf-8")
    assert problems(verify_package(pkg)) == {("missing", "network.png"),
                                            ("extra", "notes.txt")}


def test_verify_checks_zips_too(package, tmp_path):
    src = zip_path(package)
    bad = tmp_path / src.name
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(bad, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.endswith("/members.csv"):
                data = data.replace(b"host", b"hosT", 1)
            if not info.filename.endswith("/amounts.png"):
                zout.writestr(info, data)
        zout.writestr(f"{package.name}/extra.txt", b"x")
    assert problems(verify_package(bad)) == {("changed", "members.csv"),
                                            ("missing", "amounts.png"), ("extra", "extra.txt")}


# -- reproducible -------------------------------------------------------------------------
def exported_at(monkeypatch, when: datetime) -> None:
    class Fixed(datetime):
        @classmethod
        def now(cls, tz=None):
            return when

    monkeypatch.setattr(package_module, "datetime", Fixed)


def test_reexport_is_byte_identical_but_for_the_manifest(run, tmp_path, monkeypatch):
    need_font()
    a = export_case(run, "S-0001", tmp_path / "a", user="li")
    exported_at(monkeypatch, datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC))
    b = export_case(run, "S-0001", tmp_path / "b", user="li")
    c = export_case(run, "S-0001", tmp_path / "c", user="li")
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    for name in names:
        if name != "manifest.json":
            assert (a / name).read_bytes() == (b / name).read_bytes(), name
    ma, mb = (json.loads((x / "manifest.json").read_text(encoding="utf-8")) for x in (a, b))
    assert ma["exported_at"] != mb["exported_at"]
    assert {k: v for k, v in ma.items() if k != "exported_at"} == \
        {k: v for k, v in mb.items() if k != "exported_at"}
    za, zb = zipfile.ZipFile(zip_path(a)), zipfile.ZipFile(zip_path(b))
    assert za.namelist() == zb.namelist() == sorted(za.namelist())
    for ia, ib in zip(za.infolist(), zb.infolist(), strict=True):
        assert ia.date_time == ib.date_time == (1980, 1, 1, 0, 0, 0)
        assert ia.external_attr == ib.external_attr == 0o100600 << 16
        if not ia.filename.endswith("/manifest.json"):
            assert (ia.CRC, ia.compress_size) == (ib.CRC, ib.compress_size)
            assert za.read(ia) == zb.read(ib)
    assert zip_path(a).read_bytes() != zip_path(b).read_bytes()
    assert zip_path(b).read_bytes() == zip_path(c).read_bytes()  # same manifest: same zip


# -- safe names ---------------------------------------------------------------------------
def test_file_names_are_safe_whatever_the_case_id(run, tmp_path):
    need_font()
    odd = ["../../escape", "nul\x00/..", "案件/一号", "x" * 300]
    crafted = Path(shutil.copytree(run, tmp_path / "run"))
    base = case_of(run, "S-0001")
    with open(crafted / "cases.jsonl", "a", encoding="utf-8") as f:
        for case_id in odd:
            f.write(json.dumps(dict(base, case_id=case_id), ensure_ascii=False) + "\n")
    out = tmp_path / "out" / "inner"
    folders = [export_case(crafted, case_id, out, user="li") for case_id in odd]
    assert len({p.name for p in folders}) == len(odd)
    for folder in folders:
        assert folder.parent == out and re.fullmatch(r"[A-Za-z0-9_-]{1,120}", folder.name)
        assert verify_package(folder).ok and verify_package(zip_path(folder)).ok
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [p.name for p in folders] + [zip_path(p).name for p in folders])
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["inner"]


def write_claims(folder: Path, rows: list[list[str]], encoding: str = "gb18030") -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "claims.csv").write_bytes(buf.getvalue().encode(encoding))


ODD_HEADER = ["结算流水号", "个人编号", "定点机构编码", "医师编码", "就诊类型", "入院时间",
              "出院时间", "医疗总费用", "统筹支付", "备注"]
ODD_PATIENTS = ["P/../1", "患者<&>\"'", "P\x00x", "Q" * 200]


def odd_run(tmp_path: Path) -> tuple[Path, Path]:
    """A data folder (GB18030, Chinese headers, an extra column, odd ids) and a run of it."""
    data = tmp_path / "data"
    rows = [ODD_HEADER] + [
        [f"C{i}", p, "H&1", "D<1>", "住院", f"2024-03-0{i + 1} 08:00", f"2024-03-0{i + 5} 10:00",
         f"{1000 + i}.50", "800", f"备注{i}，含逗号"] for i, p in enumerate(ODD_PATIENTS)]
    write_claims(data, rows)
    files = read_folder(data).files
    run = tmp_path / "run"
    run.mkdir()
    summary = {"run_id": "run-odd", "data_folder": str(data.resolve()), "graphdetect_version":
               "0.1.0", "parameters": {}, "inputs": files}
    (run / "summary.json").write_text(json.dumps(summary, ensure_ascii=False), encoding="utf-8")
    case = {"case_id": "R/奇怪<1>", "pattern": "collusion_ring", "score": 0.9,
            "members": [{"kind": "institution", "id": "H&1", "role": "host"},
                        {"kind": "doctor", "id": "D<1>", "role": "hub"}]
            + [{"kind": "patient", "id": p, "role": "member"} for p in ODD_PATIENTS],
            "claim_ids": [f"C{i}" for i in range(len(ODD_PATIENTS))], "rules": ["集中入院"],
            "explanation": f"患者{ODD_PATIENTS[0]}等{len(ODD_PATIENTS)}人集中入院。",
            "explanation_en": "Admitted together.", "metrics": {"occasions": 1}}
    (run / "cases.jsonl").write_text(json.dumps(case, ensure_ascii=False) + "\n",
                                     encoding="utf-8")
    return data, run


def test_odd_ids_chinese_headers_and_extra_columns(tmp_path):
    need_font()
    data, run = odd_run(tmp_path)
    folder = export_case(run, "R/奇怪<1>", tmp_path / "out", user="li")
    assert verify_package(folder).ok
    rows = list(csv.reader(io.StringIO((folder / "claims.csv").read_text(encoding="utf-8-sig"))))
    assert rows[0] == ODD_HEADER
    assert [r[1] for r in rows[1:]] == ODD_PATIENTS and rows[1][-1] == "备注0，含逗号"
    G = nx.read_graphml(folder / "network.graphml")
    assert "patient:P/../1" in G and "institution:H&1" in G
    text = pdf_text(folder / "report.pdf")
    assert "P/../1" in text and "患者<&>" in text and "R/奇怪<1>" in text


def test_changed_or_moved_data_is_caught(tmp_path):
    need_font()
    data, run = odd_run(tmp_path)
    moved = Path(shutil.move(data, tmp_path / "moved"))
    with pytest.raises(ExportError, match="--data"):
        export_case(run, "R/奇怪<1>", tmp_path / "out", user="li")
    assert verify_package(export_case(run, "R/奇怪<1>", tmp_path / "out", user="li",
                                      data=moved)).ok
    with open(moved / "claims.csv", "ab") as f:
        f.write("C9,P9,H&1,,门诊,2024-03-09,,1,1,\n".encode("gb18030"))
    with pytest.raises(ExportError, match="changed since run run-odd"):
        export_case(run, "R/奇怪<1>", tmp_path / "out", user="li", data=moved)


# -- roles and the review database ------------------------------------------------------


def test_every_pattern_exports_and_verifies(run, tmp_path):
    """One case of each pattern the sample run holds becomes a package that verifies, its
    report naming the pattern and its batch table the occasions the detector found."""
    need_font()
    first: dict[str, dict] = {}
    for line in (run / "cases.jsonl").read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        first.setdefault(case["pattern"], case)
    assert len(first) == 6, sorted(first)
    from graphdetect.explain import pattern_name
    for pattern, case in sorted(first.items()):
        pkg = export_case(run, case["case_id"], tmp_path / pattern, user="li")
        assert verify_package(pkg).ok, pattern
        text = pdf_text(pkg / "report.pdf")
        assert pattern_name(pattern) in text.replace("\n", ""), pattern
        if case["details"].get("occasions"):
            assert "按批次汇总" in text, pattern


# -- any value length (issue 10, findings 8 and 9) ------------------------------------------
def test_pdf_survives_any_value_length(run, tmp_path):
    """A 100 000-character institution name, a doctor name with a right-to-left override,
    one that matplotlib would read as mathematics, a 5 000-character diagnosis code and
    long notes: the export takes seconds (it took 207 s of CPU, then died of reportlab's
    LayoutError), the report shows each value cut and with no override, and the data
    files keep every value whole."""
    import time

    from graphdetect.review.store import ReviewStore

    need_font()
    hostile = hostile_run(run, tmp_path)
    case = case_of(hostile, "R-0001")
    host = next(m["id"] for m in case["members"] if m["kind"] == "institution")
    assert host == next(m["id"] for m in case_of(run, "R-0001")["members"]
                        if m["kind"] == "institution")
    store = ReviewStore(tmp_path / "review.sqlite")
    store.add_user("li", "investigator", "a long passphrase")
    decide(store, hostile, "R-0001", user="li", status="in_review", reason="\u202e开始" * 100)
    decide(store, hostile, "R-0001", user="li", status="confirmed", reason="吻合" * 250,
           body="病历雷同" * 1250)
    started = time.perf_counter()
    folder = export_case(hostile, "R-0001", tmp_path / "out", db=store, user="li")
    seconds = time.perf_counter() - started
    assert seconds < 60, f"export took {seconds:.1f} s"
    assert verify_package(folder).ok
    text = pdf_text(folder / "report.pdf")
    flat = text.replace("\n", "")
    assert "\u202e" not in text and "gpj.exe陈兰" in flat and MATH_NAME in flat
    assert "长溪镇卫生院甲甲甲" in flat and "…" in flat
    assert "甲" * 200 not in flat and "Z" * 200 not in flat
    assert "I67.Z" in flat
    assert "备注：病历雷同病历雷同" in flat and "病历雷同" * 600 not in flat
    members = list(csv.DictReader(io.StringIO(
        (folder / "members.csv").read_text(encoding="utf-8-sig"))))
    names = {m["id"]: read_cell(m["name"]) for m in members}
    assert names[host] == HUGE_NAME
    doc = json.loads((folder / "network.json").read_text(encoding="utf-8"))
    assert {n["name"] for n in doc["nodes"]} >= {HUGE_NAME, RLO_NAME, MATH_NAME}
    claims = (folder / "claims.csv").read_text(encoding="utf-8-sig")
    assert LONG_CODE in claims
