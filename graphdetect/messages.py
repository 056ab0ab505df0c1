"""The command line's words in English and Chinese, and the language a user reads.

Messages are looked up by key and filled with named arguments, so that code deep in the
library raises a key (:class:`graphdetect.errors.DataError`) and the command line renders
it in the user's language. Reject reasons are written in English in ``rejects.csv`` and
``summary.json`` (a stable vocabulary for machines); :func:`reason` renders one for a person.

>>> text("summary.run_folder", "zh", folder="run")
'运行目录：run'
>>> reason("claims: negative amount", "zh")
'claims：金额为负数'
>>> language(None, {"LANG": "zh_CN.UTF-8"})
'zh'
"""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["LANGUAGES", "MESSAGES", "REASONS", "language", "text", "join", "reason"]

LANGUAGES = ("en", "zh")

MESSAGES: dict[str, dict[str, str]] = {
    # the CLI's frame
    "cli.error": {"en": "Error: {message}", "zh": "错误：{message}"},
    "cli.interrupted": {"en": "Interrupted: nothing was written.",
                        "zh": "已中断：没有写入任何文件。"},
    "data.in_file": {"en": "{file}: {problem}", "zh": "{file}：{problem}"},
    # data errors (a file cannot be read at all)
    "data.not_folder": {"en": "not a folder", "zh": "不是文件夹"},
    "data.missing_columns": {
        "en": "missing required column {missing}; headers found: {found}",
        "zh": "缺少必需的列 {missing}；文件中的列：{found}"},
    "data.missing_column": {"en": "{column} (accepted names: {names})",
                            "zh": "{column}（可用列名：{names}）"},
    "data.no_headers": {"en": "none", "zh": "无"},
    "data.unknown_encoding": {"en": "unknown text encoding (not UTF-8 or GB18030/GBK)",
                              "zh": "无法识别的文本编码（不是 UTF-8 或 GB18030/GBK）"},
    "data.bad_header": {"en": "cannot read the header row ({detail})",
                        "zh": "无法读取表头行（{detail}）"},
    "data.empty": {"en": "empty file: no header row", "zh": "空文件：没有表头行"},
    # run folders
    "run.not_target": {"en": "{path}: exists and is not a graphdetect run folder; choose "
                             "another --out",
                       "zh": "{path}：已存在且不是 graphdetect 运行目录；请另选 --out"},
    "run.no_cases": {"en": "{path}: not a graphdetect run folder (no cases.jsonl)",
                     "zh": "{path}：不是 graphdetect 运行目录（没有 cases.jsonl）"},
    "run.no_summary": {"en": "{path}: not a graphdetect run folder (no summary.json)",
                       "zh": "{path}：不是 graphdetect 运行目录（没有 summary.json）"},
    "run.previous_is_out": {"en": "{path}: the previous run cannot be the run folder being "
                                  "written",
                            "zh": "{path}：上一次运行不能是正在写入的运行目录"},
    "run.no_runs_here": {"en": "{path}: no graphdetect run folders here (none holds "
                               "summary.json)",
                         "zh": "{path}：此处没有 graphdetect 运行目录（都没有 summary.json）"},
    "run.not_runs": {"en": "{path}: not a run folder nor a folder of run folders",
                     "zh": "{path}：既不是运行目录，也不是存放运行目录的文件夹"},
    # the Spark engine (graphdetect detect --engine spark)
    "engine.no_pyspark": {
        "en": "the Spark engine needs PySpark: pip install 'graphdetect[spark]' (or make setup)",
        "zh": "Spark 引擎需要 PySpark：pip install 'graphdetect[spark]'（或 make setup）"},
    "engine.no_java": {
        "en": "the Spark engine needs Java 17 or later: apt-get install openjdk-17-jre-headless "
              "(or make system-deps), or set JAVA_HOME",
        "zh": "Spark 引擎需要 Java 17 或更高版本：apt-get install openjdk-17-jre-headless"
              "（或 make system-deps），或设置 JAVA_HOME"},
    "engine.bad_master": {
        "en": "--master {master}: not a Spark master URL (local[*], local[N], spark://HOST:PORT, "
              "yarn, k8s://HOST:PORT)",
        "zh": "--master {master}：不是 Spark 主节点地址（local[*]、local[N]、spark://主机:端口、"
              "yarn、k8s://主机:端口）"},
    "engine.bad_conf": {"en": "--spark-conf {value}: expected KEY=VALUE (spark.executor.memory=4g)",
                        "zh": "--spark-conf {value}：应为 键=值（spark.executor.memory=4g）"},
    "engine.no_session": {"en": "cannot start Spark on {master}: {detail}",
                          "zh": "无法在 {master} 上启动 Spark：{detail}"},
    "engine.job_failed": {"en": "the Spark job failed ({detail}); nothing was written",
                          "zh": "Spark 作业失败（{detail}）；没有写入任何文件"},
    "engine.out_of_memory": {
        "en": "Spark ran out of memory ({detail}): the driver collects the claims, so give "
              "it more with --spark-conf spark.driver.memory=16g (on a local master it runs "
              "the tasks too), or the executors with spark.executor.memory=…; nothing was "
              "written",
        "zh": "Spark 内存不足（{detail}）：驱动程序要收集全部结算记录，可用 --spark-conf "
              "spark.driver.memory=16g 加大其内存（local 模式下任务也在驱动程序中运行），"
              "或用 spark.executor.memory=… 加大执行器内存；没有写入任何文件"},
    "engine.no_reader": {"en": "cannot read {uri}: the executors read each file through "
                               "pyarrow.fs, which cannot open it there ({said}); hdfs:// needs "
                               "Hadoop's libhdfs (HADOOP_HOME or ARROW_LIBHDFS_DIR, JAVA_HOME "
                               "and the Hadoop CLASSPATH), s3a:// the AWS credentials pyarrow "
                               "reads",
                         "zh": "无法读取 {uri}：执行器通过 pyarrow.fs 读取每个文件，但在执行器上"
                               "无法打开它（{said}）；hdfs:// 需要 Hadoop 的 libhdfs（HADOOP_HOME "
                               "或 ARROW_LIBHDFS_DIR、JAVA_HOME 和 Hadoop 的 CLASSPATH），s3a:// "
                               "需要 pyarrow 可读取的 AWS 凭据"},
    "engine.no_listing": {"en": "cannot list {uri}: {detail}",
                          "zh": "无法列出 {uri} 中的文件：{detail}"},
    "data.not_csv": {"en": "not a comma-separated table", "zh": "不是逗号分隔的表格"},
    "data.bad_parquet": {"en": "not a readable Parquet file ({detail})",
                         "zh": "无法读取的 Parquet 文件（{detail}）"},
    "data.bad_parquet_rows": {"en": "cannot read Parquet rows ({detail})",
                              "zh": "无法读取 Parquet 数据行（{detail}）"},
    "data.cannot_decode": {"en": "cannot decode as {encoding} ({detail})",
                           "zh": "无法按 {encoding} 解码（{detail}）"},
    "data.invalid_text": {"en": "not a readable table: invalid {encoding} text ({detail})",
                          "zh": "无法读取的表格：{encoding} 文本无效（{detail}）"},
    "data.not_a_table": {"en": "not a readable table: {detail}", "zh": "无法读取的表格：{detail}"},
    "data.both_exist": {"en": "both {first} and {second} exist; keep one",
                        "zh": "{first} 和 {second} 同时存在；只保留一个"},
    "data.no_table": {"en": "no {table}.csv or {table}.parquet (or {table}/ folder) in {folder}",
                      "zh": "{folder} 中没有 {table}.csv、{table}.parquet（或 {table}/ 文件夹）"},
    "data.not_table_file": {
        "en": "not a .csv or .parquet file; a table folder holds table files only "
              "(names beginning with '.' or '_' are skipped)",
        "zh": "不是 .csv 或 .parquet 文件；表格文件夹只能放表格文件"
              "（以 '.' 或 '_' 开头的名称会被跳过）"},
    "data.empty_folder": {"en": "no .csv or .parquet file in {folder}",
                          "zh": "{folder} 中没有 .csv 或 .parquet 文件"},
    "data.not_a_file": {"en": "exists but is not a readable file (a folder, a broken link or "
                              "a link loop)",
                        "zh": "存在但不是可读取的文件（是文件夹、失效链接或循环链接）"},
    # a Parquet column whose Arrow type cannot hold its values
    "data.column_type": {"en": "column {column} is of type {type}, which cannot hold {what}",
                         "zh": "列 {column} 的类型为 {type}，不能存放{what}"},
    "data.column_not_utf8": {"en": "column {column} is of type {type} and holds bytes that "
                                   "are not UTF-8 text",
                             "zh": "列 {column} 的类型为 {type}，其中的字节不是 UTF-8 文本"},
    "data.column_holds.time": {"en": "dates or times", "zh": "日期或时间"},
    "data.column_holds.amount": {"en": "amounts", "zh": "金额"},
    "data.column_holds.int": {"en": "whole numbers", "zh": "整数"},
    "data.column_holds.text": {"en": "text", "zh": "文本"},
    # the summary of 'graphdetect detect'
    "summary.rows": {
        "en": "graphdetect {version}: {read:,} rows read, {accepted:,} accepted, "
              "{rejected:,} rejected",
        "zh": "graphdetect {version}：读取 {read:,} 行，接受 {accepted:,} 行，"
              "拒收 {rejected:,} 行"},
    "summary.rejected": {"en": "  rejected  {n:>8,}  {reason}", "zh": "  拒收  {n:>8,}  {reason}"},
    "summary.unclosed_quote": {
        "en": "  {file}: a quote opened on line {line:,} is never closed; the {lines:,} lines "
              "after it were read into that one rejected row",
        "zh": "  {file}：第 {line:,} 行的引号没有闭合；其后 {lines:,} 行都被读进了这一个拒收行"},
    "summary.window": {"en": "  {n:,} outside the window {since} to {until}",
                       "zh": "  {n:,} 行不在时间窗口 {since} 至 {until} 内"},
    "summary.graph": {"en": "graph: {entities}", "zh": "图：{entities}"},
    "summary.entity": {"en": "{n:,} {kind}s", "zh": "{kind} {n:,}"},
    "summary.cases": {"en": "cases: {n:,}{patterns}", "zh": "案件：{n:,}{patterns}"},
    "summary.not_checked": {"en": "not checked: {note}", "zh": "未检查：{note}"},
    "summary.time": {"en": "time: {stages}", "zh": "用时：{stages}"},
    "summary.continues": {"en": "continues: {run_id} ({folder})",
                          "zh": "接续：{run_id}（{folder}）"},
    "summary.run_folder": {"en": "run folder: {folder}", "zh": "运行目录：{folder}"},
    # the integrity ledger (graphdetect ledger)
    "ledger.not_confirmed": {"en": "{case_id}: only a confirmed case scores; its status is "
                                   "{status}",
                             "zh": "{case_id}：只有已确认的案件才能记分；其状态为{status}"},
    "ledger.already": {"en": "{case_id}: the case already has points in the ledger (revoke "
                             "them first)",
                       "zh": "{case_id}：该案件已在诚信记分台账中记分（须先撤销）"},
    "ledger.no_targets": {"en": "{case_id}: the case names no entity the table gives points "
                                "to ({kinds})",
                          "zh": "{case_id}：该案件没有记分表给分的主体（{kinds}）"},
    "ledger.needs_reason": {"en": "entry {entry}: a revocation needs a reason",
                            "zh": "第 {entry} 条：撤销须写明理由"},
    "ledger.no_entry": {"en": "no ledger entry {entry}", "zh": "台账中没有第 {entry} 条"},
    "ledger.is_revocation": {"en": "entry {entry} is a revocation; it cannot be revoked",
                             "zh": "第 {entry} 条是撤销记录，不能撤销"},
    "ledger.revoked_already": {"en": "entry {entry} was revoked already",
                               "zh": "第 {entry} 条已被撤销"},
    "ledger.not_admin": {"en": "{name} is not an enabled admin of {db}",
                         "zh": "{name} 不是 {db} 中已启用的管理员"},
    "ledger.no_case": {"en": "{run}: no case {case_id}", "zh": "{run}：没有案件 {case_id}"},
    "ledger.bad_kind": {"en": "--kind {kind}: not a kind of the table ({kinds})",
                        "zh": "--kind {kind}：记分表中没有此类主体（{kinds}）"},
    "ledger.needs_committee": {
        "en": "{case_id}: the bureau's rules score a case only after a committee confirmed it",
        "zh": "{case_id}：按本局规则，案件须经认定会审确认后才能记分"},
    # the review procedure: committees, random draws, affiliations, appeals
    "procedure.no_user": {"en": "no user {name}", "zh": "没有用户 {name}"},
    "procedure.needs_reason": {"en": "a reason is needed", "zh": "须写明理由"},
    "procedure.affiliation_fields": {"en": "an affiliation needs an institution and a relation",
                                     "zh": "关联申报须写明机构和关系"},
    "procedure.not_affiliated": {"en": "{name} declared no tie to {institution}",
                                 "zh": "{name} 未申报与 {institution} 的关联"},
    "procedure.too_few": {"en": "{case_id}: {n} eligible {role}s, {k} needed (after recusal)",
                          "zh": "{case_id}：回避后可抽取的{role}只有 {n} 人，需要 {k} 人"},
    "procedure.members": {"en": "a committee needs {size} distinct enabled reviewers (blind "
                                "review); not: {names}",
                          "zh": "会审须由 {size} 名不同的、已启用的评审员组成（双盲）；"
                                "不符合：{names}"},
    "procedure.member_tied": {"en": "{name} is tied to {institution}, named in the case, and "
                                    "must recuse",
                              "zh": "{name} 与案件中的 {institution} 有关联，应当回避"},
    "procedure.quorum": {"en": "the quorum must be 1 to {size}; got {quorum}",
                         "zh": "法定票数应为 1 至 {size}；实际为 {quorum}"},
    "procedure.not_in_review": {"en": "{case_id}: only a case in review goes to a committee; "
                                      "its status is {status}",
                                "zh": "{case_id}：只有核查中的案件才能提交会审；其状态为{status}"},
    "procedure.open_already": {"en": "{subject} has an open committee (#{committee})",
                               "zh": "{subject} 已有进行中的会审（#{committee}）"},
    "procedure.no_committee": {"en": "no committee #{committee}", "zh": "没有会审 #{committee}"},
    "procedure.closed": {"en": "committee #{committee} is closed",
                         "zh": "会审 #{committee} 已结束"},
    "procedure.not_member": {"en": "committee #{committee}: {name} is not a member",
                             "zh": "会审 #{committee}：{name} 不是成员"},
    "procedure.voted_already": {"en": "committee #{committee}: {name} has voted already",
                                "zh": "会审 #{committee}：{name} 已投票"},
    "procedure.bad_vote": {"en": "a vote is one of {choices}; got {vote}",
                           "zh": "票只能是 {choices} 之一；实际为 {vote}"},
    "procedure.no_appeal": {"en": "no appeal #{appeal}", "zh": "没有申诉 #{appeal}"},
    "procedure.appeal_status": {"en": "{case_id}: only a confirmed or referred case can be "
                                      "appealed; its status is {status}",
                                "zh": "{case_id}：只有已确认或已移送的案件才能申诉；"
                                      "其状态为{status}"},
    "procedure.appeal_open": {"en": "{case_id}: appeal #{appeal} is still open",
                              "zh": "{case_id}：申诉 #{appeal} 尚未处理完毕"},
    "procedure.appeal_fields": {"en": "an appeal needs the appellant and its text",
                                "zh": "申诉须写明申诉方和申诉内容"},
    "procedure.appeal_decided": {"en": "appeal #{appeal} was decided already",
                                 "zh": "申诉 #{appeal} 已有结论"},
    "procedure.attachment": {"en": "attachment {name}: {problem}",
                             "zh": "附件 {name}：{problem}"},
    # the ledger's scoring table (rules.toml): "file: entry: problem"
    "rules.in_entry": {"en": "{file}: {entry}: {problem}", "zh": "{file}：{entry}：{problem}"},
    "rules.cannot_read": {"en": "cannot read ({detail})", "zh": "无法读取（{detail}）"},
    "rules.not_toml": {"en": "not TOML ({detail})", "zh": "不是 TOML 文件（{detail}）"},
    "rules.unknown_section": {"en": "unknown section", "zh": "未知的节"},
    "rules.procedure_keys": {"en": "may hold only committee_required and committee_size",
                             "zh": "只能有 committee_required 和 committee_size"},
    "rules.bool": {"en": "must be true or false; got {got}",
                   "zh": "应为 true 或 false；实际为 {got}"},
    "rules.missing": {"en": "missing or empty", "zh": "缺失或为空"},
    "rules.words": {"en": 'must be {{ zh = "...", en = "..." }} with both words',
                    "zh": '应为 {{ zh = "…", en = "…" }}，两种文字都要有'},
    "rules.int": {"en": "must be a whole number {span}; got {got}",
                  "zh": "应为整数 {span}；实际为 {got}"},
    "rules.not_rule": {"en": "not a pattern name or rule category of graphdetect",
                       "zh": "不是 graphdetect 的模式名或规则类别"},
    "rules.each_severity": {"en": "must give each severity: {names}",
                            "zh": "须列出每个情节：{names}"},
    "rules.each_kind": {"en": "must give points to each kind: {names}",
                        "zh": "须为每类主体给分：{names}"},
    "rules.band_keys": {"en": "may hold from_yuan and {names} only",
                        "zh": "只能包含 from_yuan 和 {names}"},
    "rules.bands_up": {"en": "bands must go up in amount", "zh": "金额档须按金额递增"},
    "rules.tiers_each_kind": {"en": "must give tiers for each kind: {names}",
                              "zh": "须为每类主体列出档次：{names}"},
    "rules.tiers_list": {"en": "must be a list of [[tiers.KIND]] tables",
                         "zh": "应为 [[tiers.主体类别]] 表的列表"},
    "rules.tier_keys": {"en": "must hold min, max (not on the last), zh and en, and may hold "
                              "months",
                        "zh": "须包含 min、max（最后一档不设）、zh 和 en，可另设 months"},
    "rules.tier_min": {"en": "must be {expect} (tiers follow on from 0 without gaps); got {got}",
                       "zh": "应为 {expect}（各档从 0 起连续相接）；实际为 {got}"},
    "rules.last_no_max": {"en": "the last tier has no max", "zh": "最后一档不设 max"},
    "rules.no_severity": {"en": "no severity {severity} (one of {names})",
                          "zh": "没有情节 {severity}（可选：{names}）"},
    "rules.no_entry": {"en": "no entry for pattern {pattern} or its rule categories {rules}",
                       "zh": "模式 {pattern} 及其规则类别 {rules} 都没有记分项"},
    "kind.patient": {"en": "patient", "zh": "参保人"},
    "kind.doctor": {"en": "doctor", "zh": "医师"},
    "kind.institution": {"en": "institution", "zh": "机构"},
    "kind.card": {"en": "card", "zh": "医保卡"},
    "kind.terminal": {"en": "terminal", "zh": "终端"},
    "kind.operator": {"en": "operator", "zh": "操作员"},
}

#: Reject reasons: the English written to rejects.csv (``{column}`` a canonical column name)
#: and the Chinese a person reads.
REASONS: dict[str, str] = {
    "missing required value": "缺少必填值",
    "unreadable date/time": "无法识别的日期/时间",
    "unreadable amount": "无法识别的金额",
    "unreadable number": "无法识别的数字",
    "unknown {column} value": "{column} 的值无法识别",
    "negative amount": "金额为负数",
    "implausible amount (over 10 million yuan)": "金额不合理（超过 1000 万元）",
    "implausible date (before 1950 or after 2100)": "日期不合理（早于 1950 年或晚于 2100 年）",
    "implausible date (before 1900 or after 2100)": "日期不合理（早于 1900 年或晚于 2100 年）",
    "level must be 0-3": "等级必须为 0-3",
    "inpatient claim needs an end_time": "住院结算需要 end_time（出院时间）",
    "end_time precedes start_time": "end_time（出院时间）早于 start_time",
    "repeated {column}; the first row is kept": "{column} 重复；保留第一行",
    "wrong number of fields": "字段个数不对",
    "undecodable text": "文本无法按文件的编码解码",
    "unclosed quote": "引号未闭合",
}


def language(option: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The language to speak: ``option``, else ``GRAPHDETECT_LANG``, else the locale.

    The locale is the first set of ``LC_ALL``, ``LC_MESSAGES`` and ``LANG`` (POSIX order);
    one that begins with ``zh`` gives Chinese, any other English.
    """
    env = os.environ if environ is None else environ
    chosen = option or env.get("GRAPHDETECT_LANG", "")
    if chosen in LANGUAGES:
        return chosen
    locale = next((env[k] for k in ("LC_ALL", "LC_MESSAGES", "LANG") if env.get(k)), "")
    return "zh" if locale.lower().startswith("zh") else "en"


def command_language() -> str:
    """The language of the ``graphdetect`` command being run: its ``--lang``, else as
    :func:`language` finds it."""
    import click

    ctx = click.get_current_context(silent=True)
    return language(ctx.find_root().params.get("lang") if ctx else None)


def text(key: str, lang: str = "en", **args) -> str:
    """The message ``key`` in ``lang`` (English when ``lang`` is unknown), filled with ``args``."""
    words = MESSAGES[key]
    return words.get(lang, words["en"]).format(**args)


def join(items: list[str], lang: str = "en") -> str:
    """Items of a list in a sentence: ``a, b`` in English, ``a、b`` in Chinese."""
    return ("、" if lang == "zh" else ", ").join(items)


def _reason_lookup() -> dict[str, str]:
    from .schema import TABLES

    columns = {c.name for t in TABLES.values() for c in t.columns}
    out = {}
    for en, zh in REASONS.items():
        for column in sorted(columns) if "{column}" in en else [""]:
            out[en.format(column=column)] = zh.format(column=column)
    return out


_ZH_REASONS: dict[str, str] = {}


def reason(words: str, lang: str = "en") -> str:
    """A reject reason (``"table: reason"`` or bare, as rejects.csv has it) in ``lang``.

    A reason not in :data:`REASONS` is shown as it is.
    """
    if lang != "zh":
        return words
    if not _ZH_REASONS:
        _ZH_REASONS.update(_reason_lookup())
    table, sep, rest = words.partition(": ")
    if sep and rest in _ZH_REASONS:
        return f"{table}：{_ZH_REASONS[rest]}"
    return _ZH_REASONS.get(words, words)
