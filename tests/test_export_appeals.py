"""Committees and appeals in the evidence package (issue 15): ``committees.csv``,
``committee_votes.csv``, ``appeals.csv``, ``appeal_files.csv``, the attachments under
``appeals/`` and the report's section, on a real review database, the PDF read back with
pdftotext."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sqlite3
from pathlib import Path

import export_support
import pytest
from export_support import case_of, copy, need_font, pdf_text, problems

from graphdetect.export import ExportError, export_case, verify_package
from graphdetect.ledger import Ledger, load_rules
from graphdetect.ledger.appeals import Appeals
from graphdetect.lineage import with_keys
from graphdetect.review.committee import Committees
from graphdetect.review.store import ReviewStore

run, package = export_support.run, export_support.package
SCAN = b"%PDF-1.4 scanned letter of authorisation\n" + bytes(range(256))
MEMBERS = ["rev", "rev2", "rev3"]


@pytest.fixture
def store(review_db) -> ReviewStore:
    """The review database with three reviewers, enough for a committee's majority."""
    s = ReviewStore(review_db)
    for name in MEMBERS[1:]:
        s.add_user(name, "reviewer", "blind reading passphrase")
    return s


def the_case(run: Path, case_id: str = "R-0001") -> dict:
    run_id = json.loads((run / "summary.json").read_text(encoding="utf-8"))["run_id"]
    return dict(with_keys([case_of(run, case_id)], run_id)[0], run_id=run_id)


def decide(store: ReviewStore, case: dict, status: str, reason: str = "") -> None:
    store.decide(case["case_key"], run_id=case["run_id"], case_id=case["case_id"], user="li",
                 status=status, reason=reason)


def vote_all(store: ReviewStore, committee: dict, votes) -> dict:
    cs = Committees(store)
    for member, vote in zip(committee["members"], votes, strict=True):
        out = cs.vote(committee["id"], member=member, vote=vote, reason=f"{member}的意见")
    return out


def open_committee(store: ReviewStore, case: dict, **kw) -> dict:
    return Committees(store).open(case, case_key=case["case_key"], run_id=case["run_id"],
                                  by="admin", members=MEMBERS, role="admin", **kw)


def appealed(store: ReviewStore, case: dict, text: str = "刷卡为患者本人授权，附授权书") -> dict:
    """Case ``case`` confirmed by a committee (2 : 1), scored, appealed with an attachment
    and the appeal upheld by a second committee (3 : 0). The appeal."""
    decide(store, case, "in_review")
    confirmed = vote_all(store, open_committee(store, case), ["confirm", "confirm", "dismiss"])
    assert confirmed["outcome"]["outcome"] == "confirm"
    Ledger(store).record_confirmation(case, run_id=case["run_id"], severity="serious",
                                      user="admin", rules=load_rules())
    a = Appeals(store).file(case, case_key=case["case_key"], run_id=case["run_id"],
                            appellant="长溪镇卫生院", text=text, by="li",
                            attachments=[("授权书.pdf", SCAN)], role="investigator")
    c = open_committee(store, case, appeal_id=a["id"])
    vote_all(store, c, ["uphold", "uphold", "uphold"])
    return Appeals(store).get(a["id"])


def rows(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def flat(text: str) -> str:
    return "".join(text.split())


def test_the_package_holds_the_committees_and_the_upheld_appeal(run, store, tmp_path):
    need_font()
    case = the_case(run)
    appeal = appealed(store, case)
    assert appeal["outcome"]["outcome"] == "upheld"
    folder = export_case(run, "R-0001", tmp_path / "a", db=store, user="admin")

    (row,) = rows(folder / "appeals.csv")
    assert (row["id"], row["appellant"], row["outcome"], row["filed_by"]) == \
        (str(appeal["id"]), "长溪镇卫生院", "upheld", "li")
    committee = appeal["outcome"]["committee_id"]
    assert row["committee"] == str(committee) and row["decided_by"] == f"committee #{committee}"
    assert row["revocations"] == appeal["outcome"]["revocations"] != ""
    assert row["text"] == "刷卡为患者本人授权，附授权书"

    (f,) = rows(folder / "appeal_files.csv")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    listed = {e["path"]: e for e in manifest["files"]}
    assert f["path"].startswith(f"appeals/{appeal['id']}/") and f["path"].endswith(".pdf")
    assert (folder / f["path"]).read_bytes() == SCAN  # the bytes filed
    assert f["sha256"] == appeal["files"][0]["sha256"] == listed[f["path"]]["sha256"] == \
        hashlib.sha256(SCAN).hexdigest()
    assert (f["name"], f["size"]) == ("授权书.pdf", str(len(SCAN)))

    committees = rows(folder / "committees.csv")
    assert [(c["subject"], c["outcome"], c["votes_for"], c["votes_against"], c["agreement"])
            for c in committees] == [("case", "confirm", "2", "1", "0.6667"),
                                     ("appeal", "uphold", "3", "0", "1.0")]
    assert committees[1]["appeal"] == str(appeal["id"])
    assert committees[0]["members"] == "rev;rev2;rev3" and committees[0]["quorum"] == "2"
    votes = rows(folder / "committee_votes.csv")
    assert len(votes) == 6 and votes[2]["vote"] == "dismiss"
    assert votes[2]["reason"] == "rev3的意见"

    said = flat(pdf_text(folder / "report.pdf"))
    assert "会审与申诉" in said and "诚信记分" in said
    assert said.index("诚信记分台账中的") < said.index("会审与申诉")  # after the ledger part
    assert f"申诉#{appeal['id']}：申诉成立" in said
    assert "确认案件" in said and "67%" in said and "100%" in said and "一致率" in said
    assert "刷卡为患者本人授权，附授权书" in said and "授权书.pdf" in said
    assert hashlib.sha256(SCAN).hexdigest() in said
    assert "rev3的意见" in said

    assert verify_package(folder).ok
    assert verify_package(folder.with_name(folder.name + ".zip")).ok
    # the same review history, the same bytes (but for the manifest's export time)
    again = export_case(run, "R-0001", tmp_path / "b", db=store, user="admin")
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again).as_posix() for p in again.rglob("*")
                           if p.is_file())
    for name in files:
        if name != "manifest.json":
            assert (folder / name).read_bytes() == (again / name).read_bytes(), name


def test_a_changed_attachment_fails_verify(run, store, tmp_path):
    need_font()
    appealed(store, the_case(run))
    folder = export_case(run, "R-0001", tmp_path / "pkg", db=store, user="admin")
    path = rows(folder / "appeal_files.csv")[0]["path"]
    bad = copy(folder, tmp_path / "bad")
    (bad / path).write_bytes(SCAN.replace(b"authorisation", b"authorization"))
    result = verify_package(bad)
    assert not result.ok and problems(result) == {("changed", path)}
    (bad / path).unlink()
    assert problems(verify_package(bad)) == {("missing", path)}


def test_an_attachment_changed_in_the_database_stops_the_export(run, store, tmp_path):
    need_font()
    appealed(store, the_case(run))
    with sqlite3.connect(store.path) as db:  # behind the append-only triggers
        db.execute("DROP TRIGGER appeal_files_no_update")
        db.execute("UPDATE appeal_files SET content = x'00'")
    with pytest.raises(ExportError, match="does not match its SHA-256.*no package"):
        export_case(run, "R-0001", tmp_path / "pkg", db=store, user="admin")
    assert not (tmp_path / "pkg").exists() or not any((tmp_path / "pkg").iterdir())


def test_an_open_committee_keeps_its_votes(run, store, tmp_path):
    need_font()
    case = the_case(run)
    decide(store, case, "in_review")
    c = open_committee(store, case)
    Committees(store).vote(c["id"], member="rev", vote="dismiss", reason="秘密理由ZQX")
    folder = export_case(run, "R-0001", tmp_path, db=store, user="admin")
    (row,) = rows(folder / "committees.csv")
    assert (row["id"], row["outcome"], row["votes_for"], row["agreement"], row["closed_at"]) \
        == (str(c["id"]), "", "", "", "")
    assert rows(folder / "committee_votes.csv") == []
    for p in folder.rglob("*"):
        if p.is_file():
            assert "秘密理由ZQX".encode() not in p.read_bytes(), p.name
    said = flat(pdf_text(folder / "report.pdf"))
    assert "秘密理由ZQX" not in said and "不予确认" not in said
    assert "进行中（表决保密，不予导出）" in said and "本案件无申诉记录" in said
    assert verify_package(folder).ok


def test_a_package_without_committees_or_appeals_says_so(run, store, tmp_path, package):
    need_font()
    case = the_case(run)
    for status in ("in_review", "confirmed"):
        decide(store, case, status, "核实")
    folder = export_case(run, "R-0001", tmp_path, db=store, user="li")
    for name, head in (("appeals.csv", "id,appellant,filed_by"),
                       ("committees.csv", "id,subject,appeal,members")):
        text = (folder / name).read_text(encoding="utf-8-sig")
        assert len(text.splitlines()) == 1 and text.startswith(head)
    assert not (folder / "appeals").exists()
    assert "本案件无会审与申诉记录（nocommitteesorappeals）" in flat(
        pdf_text(folder / "report.pdf"))
    assert verify_package(folder).ok
    # without the review database: no such files, and the report says it was not consulted
    assert not (package / "appeals.csv").exists() and not (package / "committees.csv").exists()
    assert "未查阅会审与申诉记录" in flat(pdf_text(package / "report.pdf"))


def test_a_masked_package_masks_ids_and_leaves_the_attachments_out(run, store, tmp_path):
    need_font()
    case = the_case(run)
    patient = next(m["id"] for m in case["members"] if m["kind"] == "patient")
    appeal = appealed(store, case, text=f"患者{patient}本人授权刷卡")
    folder = export_case(run, "R-0001", tmp_path, db=store, user="admin", mask_ids=True)
    (row,) = rows(folder / "appeals.csv")
    assert "本人授权刷卡" in row["text"] and patient not in row["text"]
    (f,) = rows(folder / "appeal_files.csv")
    assert f["path"] == "" and f["sha256"] == appeal["files"][0]["sha256"]
    assert not (folder / "appeals").exists()
    text = pdf_text(folder / "report.pdf")
    assert patient not in text and "未收入证据包" in flat(text)
    assert verify_package(folder).ok
