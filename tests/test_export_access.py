"""Evidence packages: who may export, masking, audit, signatures and the CLI."""


from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json

import pytest
from click.testing import CliRunner
from export_support import (  # noqa: F401 (fixtures used as arguments)
    case_of,
    decide,
    need_font,
    package,
    pdf_text,
    problems,
    run,
)

from graphdetect.export import KEY_ENV, ExportError, export_case, verify_package, zip_path
from graphdetect.export.cli import export_command, register, verify_command
from graphdetect.review.roles import mask_id
from graphdetect.review.store import ReviewStore


@pytest.fixture
def store(tmp_path) -> ReviewStore:
    s = ReviewStore(tmp_path / "review.sqlite")
    s.add_user("li", "investigator", "a long passphrase")
    s.add_user("wang", "reviewer", "another passphrase")
    return s


def confirm(run, store, case_id: str, *, body: str = "") -> str:
    """Take a case through review to confirmed, as li; return the run id."""
    run_id = json.loads((run / "summary.json").read_text(encoding="utf-8"))["run_id"]
    decide(store, run, case_id, user="li", status="in_review", reason="开始核查")
    decide(store, run, case_id, user="li", status="confirmed", reason="出入院记录吻合", body=body)
    return run_id


def test_masked_export_masks_ids_in_every_file_and_is_audited(run, store, tmp_path):
    need_font()
    case = case_of(run, "S-0001")
    patient = next(m["id"] for m in case["members"] if m["kind"] == "patient")
    confirm(run, store, "S-0001", body=f"已调取患者{patient}的病历")
    folder = export_case(run, "S-0001", tmp_path / "out", db=store.path, user="li",
                         mask_ids=True)
    texts = {p.name: p.read_bytes().decode("utf-8-sig") for p in folder.iterdir()
             if p.suffix in (".csv", ".json", ".graphml", ".txt")}
    texts["report.pdf"] = pdf_text(folder / "report.pdf")
    for name, text in texts.items():
        assert patient not in text, name
    members = list(csv.DictReader(io.StringIO(texts["members.csv"])))
    assert {m["id"] for m in members if m["kind"] == "patient"} == {mask_id(patient)}
    assert mask_id(patient) in texts["report.pdf"]
    assert "出入院记录吻合" in texts["report.pdf"] and "已确认" in texts["report.pdf"]
    assert "已脱敏" in texts["report.pdf"]
    manifest = json.loads(texts["manifest.json"])
    assert manifest["exported_by"] == {"user": "li", "role": "investigator"}
    assert manifest["review_status"] == "confirmed" and manifest["masked_ids"] is True
    rows, total = store.audit_log(action="export")
    assert total == 1 and rows[0]["user"] == "li" and rows[0]["target"] == "S-0001"
    detail = json.loads(rows[0]["detail"])
    assert detail["manifest_sha256"] == hashlib.sha256(
        (folder / "manifest.json").read_bytes()).hexdigest()
    assert detail["package"] == str(folder.resolve()) and detail["masked_ids"] is True


def test_unmasked_export_shows_real_ids(package, run):
    patient = next(m["id"] for m in case_of(run, "R-0001")["members"] if m["kind"] == "patient")
    assert patient in (package / "members.csv").read_text(encoding="utf-8-sig")
    manifest = json.loads((package / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["masked_ids"] is False


def test_reviewer_cannot_export_and_the_refusal_is_audited(run, store, tmp_path):
    """Blind review happens on screen; a package carries real identities for referral."""
    confirm(run, store, "S-0001")
    for masked in (False, True):
        with pytest.raises(ExportError, match="wang \\(reviewer\\) may not export.*review blind"):
            export_case(run, "S-0001", tmp_path / "out", db=store, user="wang", mask_ids=masked)
    with pytest.raises(ExportError, match="may not export"):
        export_case(run, "S-0001", tmp_path / "out", user="wang", role="reviewer")
    assert not (tmp_path / "out").exists()
    rows, total = store.audit_log(action="export_denied")
    assert total == 2 and {r["user"] for r in rows} == {"wang"}
    assert {r["target"] for r in rows} == {"S-0001"}


def test_cli_refuses_a_reviewer_in_one_line(run, store, tmp_path):
    confirm(run, store, "S-0001")
    result = CliRunner().invoke(export_command, [str(run), "S-0001", "--out", str(tmp_path / "o"),
                                                 "--db", str(store.path), "--user", "wang"])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "wang (reviewer) may not export" in lines[0]
    assert not (tmp_path / "o").exists()
    rows, total = store.audit_log(action="export_denied")
    assert total == 1 and rows[0]["user"] == "wang"


def test_cli_mask_ids(run, tmp_path):
    need_font()
    patient = next(m["id"] for m in case_of(run, "S-0001")["members"] if m["kind"] == "patient")
    result = CliRunner().invoke(export_command, [str(run), "S-0001", "--out", str(tmp_path / "o"),
                                                 "--user", "li", "--mask-ids"])
    assert result.exit_code == 0, result.output
    assert "ids masked" in result.output
    folder = next(p for p in (tmp_path / "o").iterdir() if p.is_dir())
    assert json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["masked_ids"]
    assert patient not in (folder / "members.csv").read_text(encoding="utf-8-sig")
    assert verify_package(folder).ok


def test_investigator_cannot_export_a_new_case(run, store, tmp_path):
    with pytest.raises(ExportError, match="li \\(investigator\\) may not export case R-0001"):
        export_case(run, "R-0001", tmp_path / "out", db=store.path, user="li")
    assert not (tmp_path / "out").exists()
    rows, total = store.audit_log(action="export_denied")
    assert total == 1 and rows[0]["target"] == "R-0001"


def test_a_review_database_needs_a_known_user(run, store, tmp_path):
    with pytest.raises(ExportError, match="'zhao' is not a user"):
        export_case(run, "R-0001", tmp_path, db=store.path, user="zhao")
    with pytest.raises(ExportError, match="needs --user"):
        export_case(run, "R-0001", tmp_path, db=store.path)
    with pytest.raises(ExportError, match="no review database"):
        export_case(run, "R-0001", tmp_path, db=tmp_path / "nope.sqlite", user="li")
    with pytest.raises(ExportError, match="li has the role investigator"):
        export_case(run, "R-0001", tmp_path, db=store.path, user="li", role="admin")


# -- signature --------------------------------------------------------------------------
def test_signed_package(run, tmp_path, monkeypatch):
    need_font()
    monkeypatch.setenv(KEY_ENV, "bureau secret")
    folder = export_case(run, "S-0001", tmp_path / "out", user="li")
    sig = (folder / "manifest.sig").read_text(encoding="ascii").strip()
    raw = (folder / "manifest.json").read_bytes()
    assert sig == hmac.new(b"bureau secret", raw, hashlib.sha256).hexdigest()
    assert verify_package(folder).signature == "valid" and verify_package(zip_path(folder)).ok
    monkeypatch.setenv(KEY_ENV, "another key")
    assert problems(verify_package(folder)) == {("signature", "manifest.sig")}
    monkeypatch.delenv(KEY_ENV)
    result = verify_package(folder)
    assert not result.ok and "cannot check the signature" in result.problems[0][2]
    (folder / "manifest.json").write_bytes(raw.replace(b'"li"', b'"lu"'))
    assert problems(verify_package(folder, key="bureau secret")) == {("signature",
                                                                     "manifest.sig")}
    (folder / "manifest.sig").unlink()
    assert ("missing", "manifest.sig") in problems(verify_package(folder))


def test_key_set_but_package_unsigned_fails(package):
    result = verify_package(package, key="bureau secret")
    assert problems(result) == {("signature", "manifest.json")}


# -- command line ---------------------------------------------------------------------------
def test_cli_export_and_verify(run, tmp_path, package):
    need_font()
    runner = CliRunner()
    result = runner.invoke(export_command, [str(run), "S-0001", "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    folder = next(p for p in (tmp_path / "o").iterdir() if p.is_dir())
    assert str(folder) in result.output
    ok = runner.invoke(verify_command, [str(zip_path(folder))])
    assert ok.exit_code == 0 and ok.output.startswith("OK:")
    (folder / "members.csv").write_text("kind,id\n", encoding="utf-8")
    bad = runner.invoke(verify_command, [str(folder)])
    assert bad.exit_code == 1 and "CHANGED   members.csv" in bad.output


@pytest.mark.parametrize("args", [
    ["export", "{run}", "NO-SUCH-CASE", "--out", "{tmp}"],
    ["export", "{run}", "R-0001", "--out", "{tmp}", "--db", "{tmp}/none.sqlite", "--user", "x"],
    ["export", "{tmp}/not-a-run", "R-0001", "--out", "{tmp}"],
    ["verify", "{tmp}/missing.zip"],
])
def test_cli_user_errors_are_one_line_and_exit_2(run, tmp_path, args):
    group = register_into_group()
    args = [a.format(run=run, tmp=tmp_path) for a in args]
    result = CliRunner().invoke(group, args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output


def register_into_group():
    import click

    @click.group()
    def group() -> None:
        """A stand-in for graphdetect's main group."""

    register(group)
    assert set(group.commands) == {"export", "verify"}
    return group
