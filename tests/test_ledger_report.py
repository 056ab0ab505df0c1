"""The ledger's yearly report (``graphdetect ledger report``: CSV and PDF) and the ledger
entries in the evidence package, on a real review database, the PDFs read back with
pdftotext."""

from __future__ import annotations

import csv
import io
import itertools
import json
import shutil
from pathlib import Path

import export_support
import pytest
from click.testing import CliRunner
from export_support import case_of, copy, need_font, pdf_text, problems

from graphdetect.cells import read_cell
from graphdetect.cli import main
from graphdetect.export import ExportError, export_case, verify_package
from graphdetect.ledger import Ledger, load_rules
from graphdetect.ledger.report import REPORT_COLUMNS, write_year_report, year_report
from graphdetect.lineage import with_keys
from graphdetect.review.store import ReviewStore

RULES = load_rules()
RUN_ID = "run-277ef379eb95"
_SEQ = itertools.count(1)
CARD, SPLIT = "card_pooling", "split_stay"
FRAUD = ("card_pooling", "虚假就诊")  # a pattern with a fraud category: the higher scores

#: Entities at the published tier boundaries, and the confirmed cases (pattern and rule
#: categories, severity) that give them those points with the shipped table.
BOUNDARIES = {
    ("institution", "INST-11", 11): [(SPLIT, "grave"), (CARD, "minor")],           # 8 + 3
    ("institution", "INST-12", 12): [(CARD, "grave")],                             # 12
    ("institution", "INST-19", 19): [(CARD, "grave"), (FRAUD, "minor"), (CARD, "minor")],
    ("institution", "INST-25", 25): [(CARD, "grave"), (SPLIT, "grave"), (CARD, "minor"),
                                     (SPLIT, "minor")],                            # 12+8+3+2
    ("institution", "INST-31", 31): [(CARD, "grave"), (CARD, "grave"), (FRAUD, "minor"),
                                     (CARD, "minor")],                             # 12+12+4+3
    ("pharmacy", "PHAR-13", 13): [(SPLIT, "grave"), (CARD, "minor"), (SPLIT, "minor")],
    ("pharmacy", "PHAR-19", 19): [(CARD, "grave"), (FRAUD, "minor"), (CARD, "minor")],
    ("pharmacy", "PHAR-25", 25): [(CARD, "grave"), (SPLIT, "grave"), (CARD, "minor"),
                                  (SPLIT, "minor")],
    ("doctor", "DOC-9", 9): [(CARD, "grave")],                                      # 9
    ("doctor", "DOC-12", 12): [(FRAUD, "grave")],                                   # 12
}
SANCTIONS = {"INST-11": "per-visit and total budget raised 1-5%",
             "INST-12": "interview; per-visit and total budget cut 2-5%",
             "INST-19": "designation suspended for 1 month",
             "INST-25": "designation suspended for 3 months",
             "INST-31": "designation cancelled",
             "PHAR-13": "designation suspended for 1 month",
             "PHAR-19": "designation suspended for 3 months",
             "PHAR-25": "designation cancelled",
             "DOC-9": "billing rights suspended for 1-6 months",
             "DOC-12": "billing rights ended"}


def cli(*args, lang: str = "en"):
    return CliRunner().invoke(main, ["--lang", lang, "ledger", *map(str, args)])


def score(store: ReviewStore, kind: str, entity: str, cases, reason: str = "核实属实") -> list:
    """Confirm one case per ``(pattern or (pattern, category), severity)`` naming only
    ``entity`` (a pharmacy is an institution scored as one) and record its points."""
    rows = []
    for what, severity in cases:
        pattern, *categories = (what,) if isinstance(what, str) else what
        n = next(_SEQ)
        case = {"case_id": f"K-{n:04d}", "case_key": f"277ef379-K-{n:04d}", "pattern": pattern,
                "rules": categories, "metrics": {},
                "members": [{"kind": "institution" if kind == "pharmacy" else kind,
                             "id": entity, "role": "host"}]}
        for status, why in (("in_review", ""), ("confirmed", reason)):
            store.decide(case["case_key"], run_id=RUN_ID, case_id=case["case_id"], user="li",
                         status=status, reason=why)
        rows += Ledger(store).record_confirmation(
            case, run_id=RUN_ID, severity=severity, user="admin", rules=RULES,
            pharmacies={entity} if kind == "pharmacy" else set())
    return rows


@pytest.fixture
def scored(review_db) -> int:
    """The review database with every entity of ``BOUNDARIES`` scored; the year."""
    store = ReviewStore(review_db)
    for (kind, entity, _), cases in BOUNDARIES.items():
        score(store, kind, entity, cases)
    return Ledger(store).entries()[0]["year"]


def read_report(csv_path: Path) -> list[dict]:
    text = csv_path.read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def flat(text: str) -> str:
    """PDF text without white space (pdftotext breaks lines where the layout did)."""
    return "".join(text.split())


# -- the report ---------------------------------------------------------------------------
def test_the_report_gives_the_published_tiers_with_the_cases(review_db, scored, tmp_path):
    need_font()
    res = cli("report", "--year", scored, "--db", review_db, "--out", tmp_path / "out")
    assert res.exit_code == 0, res.output
    n = sum(map(len, BOUNDARIES.values()))
    assert res.output.count("\n") == 1 and f"10 entities, {n} entries" in res.output
    rows = read_report(tmp_path / "out" / f"ledger-{scored}.csv")
    assert list(rows[0]) == list(REPORT_COLUMNS)
    entities = {}
    for r in rows:
        entities.setdefault(r["entity_id"], []).append(r)
    for (kind, entity, points), cases in BOUNDARIES.items():
        mine = entities[entity]
        assert len(mine) == len(cases)  # a row per case behind the points
        tier = RULES.tier(kind, points)
        for r in mine:
            assert (r["entity_kind"], int(r["total_points"]), int(r["tier"])) == \
                (kind, points, tier["n"])
            assert r["sanction_en"] == tier["en"] == SANCTIONS[entity]
            assert r["sanction_zh"] == tier["zh"]
            assert r["case_id"].startswith("K-") and r["run_id"] == RUN_ID
            assert (r["decided_by"], r["recorded_by"], r["reason"]) == ("li", "admin", "核实属实")
            assert r["severity"] in ("minor", "serious", "grave") and r["rule"] in RULES.table
        assert sum(int(r["points"]) for r in mine) == points
    # most points first, as `ledger show`
    order = list(dict.fromkeys(r["entity_id"] for r in rows))
    assert order[:2] == ["INST-31", "INST-25"]

    text = pdf_text(tmp_path / "out" / f"ledger-{scored}.pdf")
    assert f"Integrity ledger (医保诚信记分), {scored}" in text
    for _, entity, _ in BOUNDARIES:
        assert entity in text
    said = flat(text)
    assert flat("designated medical institution INST-31: 31 points, 31+ points: "
                "designation cancelled") in said
    assert flat("doctor DOC-9: 9 points, 9-11 points: billing rights suspended for 1-6 "
                "months") in said
    first = entities["INST-12"][0]
    assert first["case_id"] in text and RUN_ID in text


def test_the_report_in_chinese(review_db, scored, tmp_path):
    need_font()
    res = cli("report", "--year", scored, "--db", review_db, "--out", tmp_path, lang="zh")
    n = sum(map(len, BOUNDARIES.values()))
    assert res.exit_code == 0 and f"10 个主体，{n} 条记录" in res.output, res.output
    said = flat(pdf_text(tmp_path / f"ledger-{scored}.pdf"))
    assert f"{scored}年度医保诚信记分报告" in said
    assert "定点医疗机构INST-25：25分，25-30分，暂停医保定点服务3个月" in said
    assert "定点零售药店PHAR-13：13分，13-18分，暂停医保定点服务1个月" in said
    assert "医保医师DOC-12：12分，12+分，终止医保支付资格" in said
    assert "第1页/共" in said and "情节严重" in said


def test_a_revocation_reduces_the_points_and_shows_its_reason(review_db, scored, tmp_path):
    need_font()
    store = ReviewStore(review_db)
    grave = next(e for e in Ledger(store).entries() if e["entity_id"] == "INST-31")
    revocation = Ledger(store).revoke(grave["id"], user="admin", reason="复议撤销：证据不足")
    res = cli("report", "--year", scored, "--db", review_db, "--out", tmp_path, lang="zh")
    assert res.exit_code == 0, res.output
    rows = [r for r in read_report(tmp_path / f"ledger-{scored}.csv")
            if r["entity_id"] == "INST-31"]
    assert {int(r["total_points"]) for r in rows} == {19}  # 31 - 12
    assert {r["sanction_en"] for r in rows} == {"designation suspended for 1 month"}
    by_entry = {int(r["entry"]): r for r in rows}
    assert by_entry[grave["id"]]["revoked_by"] == str(revocation["id"])
    undo = by_entry[revocation["id"]]
    assert (undo["points"], undo["revokes"], undo["reason"]) == \
        ("-12", str(grave["id"]), "复议撤销：证据不足")
    said = flat(pdf_text(tmp_path / f"ledger-{scored}.pdf"))
    assert "定点医疗机构INST-31：19分，19-24分，暂停医保定点服务1个月" in said
    assert f"撤销第{grave['id']}条：复议撤销：证据不足" in said
    assert f"（已由第{revocation['id']}条撤销）" in said


def test_csv_cells_cannot_run_as_formulas(review_db, tmp_path):
    need_font()
    store = ReviewStore(review_db)
    hostile = ["=HYPERLINK(\"http://x\")", "+SUM(A1)", "-2+3*cmd", "@A1"]
    for entity in hostile:
        score(store, "doctor", entity, [(CARD, "minor")], reason="=1+2 核实")
    year = Ledger(store).entries()[0]["year"]
    csv_path, pdf = write_year_report(year_report(Ledger(store), year, RULES), tmp_path,
                                      year=year, rules=RULES)
    raw = list(csv.reader(io.StringIO(csv_path.read_text(encoding="utf-8-sig"))))
    for row in raw[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "@")) and not (
                cell.startswith("-") and not cell.lstrip("-").isdigit()), cell
    rows = read_report(csv_path)
    assert {read_cell(r["entity_id"]) for r in rows} == set(hostile)
    assert {read_cell(r["reason"]) for r in rows} == {"=1+2 核实"}
    assert "'=HYPERLINK" in csv_path.read_text(encoding="utf-8-sig")
    assert "@A1" in pdf_text(pdf)


def test_an_empty_year_says_so(review_db, tmp_path):
    need_font()
    for lang, said in (("en", "No ledger entries in 1999."), ("zh", "1999 年无诚信记分记录。")):
        res = cli("report", "--year", "1999", "--db", review_db, "--out", tmp_path / lang,
                  lang=lang)
        assert res.exit_code == 0, res.output
        assert res.output.count("\n") == 1
        assert "no ledger entries in 1999" in res.output or "1999 年无诚信记分记录" in res.output
        rows = list(csv.reader(io.StringIO(
            (tmp_path / lang / "ledger-1999.csv").read_text(encoding="utf-8-sig"))))
        assert rows == [list(REPORT_COLUMNS)]
        assert flat(said) in flat(pdf_text(tmp_path / lang / "ledger-1999.pdf"))


def test_one_kind_and_the_same_bytes_twice(review_db, scored, tmp_path):
    need_font()
    for out in ("a", "b"):
        res = cli("report", "--year", scored, "--db", review_db, "--out", tmp_path / out,
                  "--kind", "doctor")
        assert res.exit_code == 0, res.output
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == [f"ledger-{scored}-doctor.csv", f"ledger-{scored}-doctor.pdf"]
    rows = read_report(tmp_path / "a" / names[0])
    assert {r["entity_id"] for r in rows} == {"DOC-9", "DOC-12"}
    for name in names:  # the same ledger, the same bytes
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_a_failed_report_leaves_the_earlier_one(review_db, scored, tmp_path, monkeypatch):
    need_font()
    out = tmp_path / "out"
    assert cli("report", "--year", scored, "--db", review_db, "--out", out).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    score(ReviewStore(review_db), "doctor", "DOC-NEW", [(CARD, "minor")])

    def boom(*args, **kwargs):
        raise ExportError("the ledger report cannot be laid out")

    monkeypatch.setattr("graphdetect.export.pdf.build_pdf", boom)
    res = cli("report", "--year", scored, "--db", review_db, "--out", out)
    assert res.exit_code == 2 and res.output.count("\n") == 1, res.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # no temp left


@pytest.mark.parametrize("args, said", [
    (("--year", "2024", "--db", "{tmp}/none.sqlite"), "Error: {tmp}/none.sqlite: no review "
                                                      "database there"),
    (("--year", "20x4", "--db", "{db}"), "Error: --year 20x4: must be a year from 1900 to 2100"),
    (("--year", "99999", "--db", "{db}"), "Error: --year 99999: must be a year from 1900 to "
                                          "2100"),
    (("--year", "2024", "--db", "{db}", "--kind", "patient"),
     "Error: --kind patient: not a kind of the table (institution, pharmacy, doctor)"),
    (("--year", "2024", "--db", "{tmp}/junk.sqlite"), "Error: {tmp}/junk.sqlite: not a review "
                                                      "database (file is not a database)"),
])
def test_user_errors_are_one_line_and_exit_2(review_db, tmp_path, args, said):
    (tmp_path / "junk.sqlite").write_bytes(b"not sqlite at all, and long enough " * 40)
    fill = {"tmp": tmp_path, "db": review_db}
    res = cli("report", *(a.format(**fill) for a in args), "--out", tmp_path / "out")
    assert res.exit_code == 2, res.output
    assert res.output == said.format(**fill) + "\n"
    assert not (tmp_path / "out").exists() and not (tmp_path / "none.sqlite").exists()


def test_user_errors_in_chinese_and_out_not_a_folder(review_db, tmp_path):
    res = cli("report", "--year", "20x4", "--db", review_db, "--out", tmp_path, lang="zh")
    assert (res.exit_code, res.output) == (2, "错误：--year 20x4：应为 1900 至 2100 之间的年份\n")
    res = cli("report", "--year", "2024", "--db", tmp_path / "none.sqlite", "--out", tmp_path,
              lang="zh")
    assert (res.exit_code, res.output) == (2, f"错误：{tmp_path}/none.sqlite：没有复核数据库\n")
    afile = tmp_path / "afile"
    afile.write_text("x")
    res = cli("report", "--year", "2024", "--db", review_db, "--out", afile)
    assert (res.exit_code, res.output) == (2, f"Error: {afile}: not a folder\n")


# -- the evidence package -----------------------------------------------------------------
#: The sample's run, and a package of its case R-0001 exported without the review
#: database (fixtures of export_support, bound here as the package tests name them).
run, package = export_support.run, export_support.package


def scored_case(run: Path, db: Path, case_id: str = "R-0001") -> list[dict]:
    """Confirm case ``case_id`` of the sample run in ``db`` and record its points."""
    run_id = json.loads((run / "summary.json").read_text(encoding="utf-8"))["run_id"]
    case = with_keys([case_of(run, case_id)], run_id)[0]
    store = ReviewStore(db)
    for status, reason in (("in_review", ""), ("confirmed", "刷卡记录与住院记录冲突")):
        store.decide(case["case_key"], run_id=run_id, case_id=case_id, user="li",
                     status=status, reason=reason)
    return Ledger(store).record_confirmation(case, run_id=run_id, severity="serious",
                                             user="admin", rules=RULES)


def test_the_package_holds_the_case_ledger_entries_and_verifies(run, review_db, tmp_path):
    need_font()
    entries = scored_case(run, review_db)
    store = ReviewStore(review_db)
    revocation = Ledger(store).revoke(entries[0]["id"], user="admin", reason="申诉成立，撤销")
    folder = export_case(run, "R-0001", tmp_path / "pkg", db=review_db, user="li")
    rows = list(csv.DictReader(io.StringIO(
        (folder / "ledger.csv").read_text(encoding="utf-8-sig"))))
    assert [int(r["entry"]) for r in rows] == [*(e["id"] for e in entries), revocation["id"]]
    assert {(r["entity_kind"], r["entity_id"]) for r in rows} == \
        {(e["entity_kind"], e["entity_id"]) for e in entries}
    assert rows[0]["revoked_by"] == str(revocation["id"])
    assert (rows[-1]["points"], rows[-1]["reason"]) == (str(-entries[0]["points"]),
                                                        "申诉成立，撤销")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert "ledger.csv" in {f["path"] for f in manifest["files"]}
    said = flat(pdf_text(folder / "report.pdf"))
    assert "诚信记分" in said and f"本案件在诚信记分台账中的{len(rows)}条记录" in said
    assert "申诉成立，撤销" in said and entries[-1]["entity_id"] in said
    assert "七、复核记录" in said and "八、检测方法与数据来源" in said
    assert verify_package(folder).ok
    assert verify_package(folder.with_name(folder.name + ".zip")).ok


def test_a_changed_ledger_file_fails_verify(run, review_db, tmp_path):
    need_font()
    scored_case(run, review_db)
    folder = export_case(run, "R-0001", tmp_path / "pkg", db=review_db, user="li")
    bad = copy(folder, tmp_path / "bad")
    text = (bad / "ledger.csv").read_text(encoding="utf-8-sig")
    (bad / "ledger.csv").write_text(text.replace("刷卡记录与住院记录冲突", "无", 1),
                                    encoding="utf-8-sig")
    assert text != (bad / "ledger.csv").read_text(encoding="utf-8-sig")
    result = verify_package(bad)
    assert not result.ok and problems(result) == {("changed", "ledger.csv")}
    res = CliRunner().invoke(main, ["verify", str(bad)])
    assert res.exit_code == 1 and "ledger.csv" in res.output
    (bad / "ledger.csv").unlink()
    assert problems(verify_package(bad)) == {("missing", "ledger.csv")}


def test_a_package_without_entries_says_so(run, review_db, tmp_path, package):
    need_font()
    store = ReviewStore(review_db)
    run_id = json.loads((run / "summary.json").read_text(encoding="utf-8"))["run_id"]
    key = with_keys([case_of(run, "R-0001")], run_id)[0]["case_key"]
    for status in ("in_review", "confirmed"):
        store.decide(key, run_id=run_id, case_id="R-0001", user="li", status=status,
                     reason="核实")
    folder = export_case(run, "R-0001", tmp_path / "pkg", db=review_db, user="li")
    header = (folder / "ledger.csv").read_text(encoding="utf-8-sig")
    assert header.splitlines() == [",".join(("entry", "entity_kind", "entity_id", "year",
                                             "points", "case_id", "case_key", "run_id",
                                             "rule", "severity", "decided_by", "decided_at",
                                             "recorded_by", "recorded_at", "revokes",
                                             "revoked_by", "reason"))]
    assert "本案件无诚信记分记录（noledgerentries）" in flat(pdf_text(folder / "report.pdf"))
    assert verify_package(folder).ok
    # exported without the review database, as packages were before: no ledger.csv, the
    # report says the ledger was not consulted, and the package verifies
    assert not (package / "ledger.csv").exists()
    assert "未查阅诚信记分台账" in flat(pdf_text(package / "report.pdf"))
    assert verify_package(package).ok


def test_a_package_made_before_the_ledger_still_verifies(package, tmp_path):
    """A package of the earlier format (no ledger.csv, no ledger section) verifies, and
    its zip too: verify checks what the manifest lists."""
    old = copy(package, tmp_path)
    manifest = json.loads((old / "manifest.json").read_text(encoding="utf-8"))
    assert all(f["path"] != "ledger.csv" for f in manifest["files"])
    assert verify_package(old).ok
    shutil.make_archive(str(tmp_path / "old"), "zip", tmp_path, old.name)
    assert verify_package(tmp_path / "old.zip").ok


def test_a_masked_package_masks_patient_ids_in_ledger_reasons(run, review_db, tmp_path):
    need_font()
    run_id = json.loads((run / "summary.json").read_text(encoding="utf-8"))["run_id"]
    case = with_keys([case_of(run, "R-0001")], run_id)[0]
    patient = next(m["id"] for m in case["members"] if m["kind"] == "patient")
    store = ReviewStore(review_db)
    for status, reason in (("in_review", ""), ("confirmed", f"患者{patient}住院期间被刷卡")):
        store.decide(case["case_key"], run_id=run_id, case_id="R-0001", user="li",
                     status=status, reason=reason)
    Ledger(store).record_confirmation(case, run_id=run_id, severity="minor", user="admin",
                                      rules=RULES)
    folder = export_case(run, "R-0001", tmp_path, db=review_db, user="li", mask_ids=True)
    text = (folder / "ledger.csv").read_text(encoding="utf-8-sig")
    assert "住院期间被刷卡" in text and patient not in text
    assert patient not in pdf_text(folder / "report.pdf")
