"""The command line speaks the user's language and says what it found (issue 12)."""

from __future__ import annotations

import csv
import json
import string

import pytest
from click.testing import CliRunner
from conftest import HEADER, good_row, write_csv

from graphdetect.cli import main
from graphdetect.messages import MESSAGES, REASONS, language, reason, text
from graphdetect.schema import TABLES

ZH = {"LANG": "zh_CN.UTF-8", "LC_ALL": None, "LC_MESSAGES": None, "GRAPHDETECT_LANG": None}
EN = {"LANG": "en_US.UTF-8", "LC_ALL": None, "LC_MESSAGES": None, "GRAPHDETECT_LANG": None}
#: The claims header as a Chinese export writes it (入院时间 for start_time).
CHINESE = {c.name: c.aliases[0] for c in TABLES["claims"].columns} | {"start_time": "入院时间"}


def run(args, env, **kw):
    return CliRunner(env=env).invoke(main, [str(a) for a in args], **kw)


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_every_message_has_both_languages_with_the_same_arguments(key):
    words = MESSAGES[key]
    assert set(words) == {"en", "zh"} and all(w.strip() for w in words.values())
    assert fields(words["en"]) == fields(words["zh"])
    assert words["zh"] != words["en"]  # Chinese words or Chinese punctuation


@pytest.mark.parametrize("en", sorted(REASONS))
def test_every_reject_reason_has_chinese_words(en):
    assert fields(en) == fields(REASONS[en]) <= {"column"}
    shown = en.format(column="visit_type")
    zh = reason(f"claims: {shown}", "zh")
    assert zh.startswith("claims：") and zh != f"claims：{shown}"
    assert reason(f"claims: {shown}", "en") == f"claims: {shown}"


@pytest.mark.parametrize("env, option, expected", [
    ({"LANG": "zh_CN.UTF-8"}, None, "zh"),
    ({"LC_ALL": "zh_TW.UTF-8", "LANG": "en_US.UTF-8"}, None, "zh"),
    ({"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}, None, "en"),
    ({"LC_MESSAGES": "zh_CN", "LANG": "C"}, None, "zh"),
    ({"LANG": "C.UTF-8"}, None, "en"),
    ({}, None, "en"),
    ({"LANG": "zh_CN.UTF-8", "GRAPHDETECT_LANG": "en"}, None, "en"),
    ({"LANG": "C", "GRAPHDETECT_LANG": "zh"}, None, "zh"),
    ({"LANG": "C", "GRAPHDETECT_LANG": "fr"}, None, "en"),
    ({"LANG": "zh_CN.UTF-8", "GRAPHDETECT_LANG": "zh"}, "en", "en"),
])
def test_language_from_option_environment_and_locale(env, option, expected):
    assert language(option, env) == expected


def _no_start_time(folder):
    write_csv(folder / "claims.csv", [good_row(1)],
              header=[CHINESE[h] for h in HEADER if h != "start_time"])


def test_header_error_lists_the_headers_found_and_the_accepted_names(folder, tmp_path):
    _no_start_time(folder)
    zh = run(["detect", folder, "--out", tmp_path / "run"], ZH)
    assert zh.exit_code == 2 and len(zh.output.strip().splitlines()) == 1, zh.output
    assert zh.output.startswith("错误：claims.csv：缺少必需的列 'start_time'")
    assert "可用列名：start_time、就诊时间、入院时间、结算时间" in zh.output
    assert "文件中的列：'结算流水号'、'个人编号'" in zh.output and "'出院时间'" in zh.output
    en = run(["detect", folder, "--out", tmp_path / "run"], EN)
    assert en.exit_code == 2 and len(en.output.strip().splitlines()) == 1, en.output
    assert en.output.startswith("Error: claims.csv: missing required column 'start_time' "
                                "(accepted names: start_time, 就诊时间, 入院时间, 结算时间)")
    assert "headers found: '结算流水号', '个人编号'" in en.output
    assert not (tmp_path / "run").exists()


def test_lang_option_overrides_the_locale_and_the_environment(folder, tmp_path):
    _no_start_time(folder)
    args = ["detect", folder, "--out", tmp_path / "run"]
    assert run(["--lang", "en", *args], ZH).output.startswith("Error: claims.csv: missing")
    assert run(["--lang", "zh", *args], EN).output.startswith("错误：claims.csv：缺少")
    assert run(args, EN | {"GRAPHDETECT_LANG": "zh"}).output.startswith("错误：")
    assert run(["--lang", "en", *args], EN | {"GRAPHDETECT_LANG": "zh"}).output.startswith(
        "Error: ")


def _two_bad_fields(folder):
    rows = [good_row(1), good_row(2, start_time="2024-13-01", total_amount="-5"), good_row(3)]
    write_csv(folder / "claims.csv", rows, header=[CHINESE[h] for h in HEADER])


def test_a_row_with_two_bad_fields_reports_both_by_the_files_own_headers(folder, tmp_path):
    _two_bad_fields(folder)
    out = tmp_path / "run"
    res = run(["detect", folder, "--out", out], EN)
    assert res.exit_code == 0, res.output
    with open(out / "rejects.csv", encoding="utf-8") as f:
        rejects = list(csv.DictReader(f))
    assert [(r["file"], r["line"], r["column"], r["reason"], r["value"]) for r in rejects] == [
        ("claims.csv", "3", "入院时间", "unreadable date/time", "2024-13-01"),
        ("claims.csv", "3", "医疗总费用", "negative amount", "-5")]
    assert json.loads(rejects[0]["row"]) == json.loads(rejects[1]["row"])
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["rows"] == {"read": 3, "accepted": 2, "rejected": 1}  # rows, not problems
    assert summary["inputs"]["claims.csv"]["rejected"] == 1
    assert summary["rejected_by_reason"] == {"claims: negative amount": 1,
                                             "claims: unreadable date/time": 1}
    assert "3 rows read, 2 accepted, 1 rejected" in res.output
    assert "claims: unreadable date/time" in res.output


def test_detect_summary_in_chinese(folder, tmp_path):
    _two_bad_fields(folder)
    out = tmp_path / "run"
    res = run(["detect", folder, "--out", out, "--since", "2024-03-01"], ZH)
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].endswith("读取 3 行，接受 2 行，拒收 1 行")
    assert "  拒收         1  claims：金额为负数" in lines
    assert "  拒收         1  claims：无法识别的日期/时间" in lines
    assert "  0 行不在时间窗口 2024-03-01 至 … 内" in lines
    assert any(line.startswith("图：参保人 2、医师 2、机构 2") for line in lines), lines
    assert any(line.startswith("案件：0") for line in lines)
    assert any(line.startswith("用时：read ") for line in lines)
    assert lines[-1] == f"运行目录：{out}"
    # what rejects.csv and summary.json say stays English, for machines
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert "claims: negative amount" in summary["rejected_by_reason"]
    assert "negative amount" in (out / "rejects.csv").read_text(encoding="utf-8")


def test_not_checked_in_both_languages(folder, tmp_path):
    write_csv(folder / "claims.csv", [good_row(1)],
              header=[h for h in HEADER if h not in ("terminal_id", "operator_id")])
    zh = run(["detect", folder, "--out", tmp_path / "zh"], ZH)
    en = run(["detect", folder, "--out", tmp_path / "en"], EN)
    assert zh.exit_code == en.exit_code == 0, zh.output + en.output
    assert any(line.startswith("未检查：") for line in zh.output.splitlines()), zh.output
    assert any(line.startswith("not checked: ") for line in en.output.splitlines()), en.output
    assert "Error" not in zh.output and "rows read" not in zh.output


@pytest.mark.parametrize("make, zh, en", [
    (lambda d: (d / "claims.csv").write_bytes(b""), "空文件：没有表头行", "empty file"),
    (lambda d: (d / "claims.csv").write_bytes(b"just some words\n"), "不是逗号分隔的表格",
     "not a comma-separated table"),
    (lambda d: (d / "claims.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe\xfd"),
     "无法识别的文本编码", "unknown text encoding"),
    (lambda d: (d / "claims.parquet").write_bytes(b"PAR1 not really"),
     "无法读取的 Parquet 文件", "not a readable Parquet file"),
    (lambda d: None, "中没有 claims.csv、claims.parquet", "no claims.csv or claims.parquet"),
    (lambda d: (d / "claims").mkdir(), "中没有 .csv 或 .parquet 文件", "no .csv or .parquet file"),
    (lambda d: [(d / "claims").mkdir(), (d / "claims" / "a.txt").write_text("x")],
     "claims/a.txt：不是 .csv 或 .parquet 文件", "claims/a.txt: not a .csv or .parquet file"),
    (lambda d: [write_csv(d / "claims.csv", [good_row(1)]),
                write_csv(d / "claims" / "a.csv", [good_row(2)])],
     "claims.csv 和 claims/ 同时存在", "both claims.csv and claims/ exist"),
])
def test_each_data_error_in_both_languages(folder, tmp_path, make, zh, en):
    make(folder)
    args = ["detect", folder, "--out", tmp_path / "run"]
    for env, prefix, words in ((ZH, "错误：", zh), (EN, "Error: ", en)):
        res = run(args, env)
        assert res.exit_code == 2 and "Traceback" not in res.output, res.output
        assert res.output.startswith(prefix) and words in res.output, res.output
        assert len(res.output.strip().splitlines()) == 1


def test_not_a_folder_and_an_untranslated_error_keep_the_frame(tmp_path):
    res = run(["detect", tmp_path / "nowhere", "--out", tmp_path / "run"], ZH)
    assert res.exit_code == 2 and res.output.strip() == f"错误：{tmp_path / 'nowhere'}：不是文件夹"
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "x").write_text("x")
    res = run(["detect", tmp_path / "nowhere", "--out", tmp_path / "plain"], ZH)
    assert res.exit_code == 2 and res.output.startswith("错误：")


def test_interrupt_message_in_both_languages():
    assert text("cli.interrupted", "zh") == "已中断：没有写入任何文件。"
    assert text("cli.interrupted", "en") == "Interrupted: nothing was written."
    assert text("cli.interrupted", "fr") == "Interrupted: nothing was written."


def test_run_folder_errors_in_both_languages(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    for env, words in ((EN, "not a graphdetect run folder (no summary.json)"),
                       (ZH, "不是 graphdetect 运行目录（没有 summary.json）")):
        res = run(["export", tmp_path / "empty", "R-0001", "--out", tmp_path / "x"], env)
        assert res.exit_code == 2 and words in res.output, res.output
    res = run(["detect", "datasets/sample", "--out", tmp_path / "taken"], ZH)
    assert res.exit_code == 2 and "已存在且不是 graphdetect 运行目录" in res.output, res.output
    assert res.output.startswith("错误：")
