"""The sections of the referral report, as reportlab flowables (see ``pdf.py``).

Every value from the data is cut and cleaned for display on its way in (``_flow``), so
that no value, however long, can stall the layout or fail to fit a page. The data files
of the package keep every value whole.
"""

from __future__ import annotations

import json

from reportlab.lib import colors
from reportlab.lib.units import cm
from reportlab.platypus import CondPageBreak, NextPageTemplate, PageBreak, Spacer, Table, TableStyle

from ..cells import shorten
from ..explain import metric_label, metric_value, pattern_name
from ..statuses import status_word
from ._flow import CELL, WIDE, P, beijing, fit, image, kv, money, table, together
from ._fonts import reportlab_fonts
from ._tables import KIND_ZH, ROLE_ZH, SEX_ZH, STATUS_ZH, VISIT_ZH

_ROLE_USER = {"investigator": "调查员", "reviewer": "复核员", "admin": "管理员"}
_LINEAGE_ZH = {"new": "新出现", "recurring": "持续", "grown": "扩大", "shrunk": "缩小"}
_MAX_DAYS = 40
_STAYS_TEXT = ("每条泳道为一次住院，标明所在机构；横条自入院至出院。同一患者两次住院时间重叠之处以"
               "黄色标出，出院至再入院的间隔以紫色标出；圆点为门诊，三角为购药。")
_SWIPES_TEXT = ("横轴为日期，纵轴为一天中的刷卡时刻，每一点为一次结算；黄色方框为检测识别的集中刷卡"
                "时段（同一终端短时间内多张医保卡连续结算）。")
#: What the timeline figure shows, per pattern (the same views as the review UI).
_TIMELINE_TEXT = {
    "concurrent_stay": _STAYS_TEXT, "split_stay": _STAYS_TEXT,
    "card_pooling": _SWIPES_TEXT, "outpatient_gathering": _SWIPES_TEXT,
    None: "每行一名患者；横条为住院（入院至出院），圆点为门诊，三角为购药；黄色竖带为检测识别的"
          "同批就诊（批次）。",
}


def story(d, st: dict, width: float, wide: float, height: float) -> list:
    """All flowables of the report, in order."""
    out = _summary(d, st, width)
    out += _figures(d, st, width, height)
    out += _members(d, st, width)
    out += _runs(d, st, width)
    out += _history(d, st, width)
    out += _method(d, st, width)
    out += _claims(d, st, wide)
    out += _signature(d, st, wide)
    return out


def _summary(d, st, width) -> list:
    case, s = d.case, d.summary
    claims = d.claims
    total = float(claims["total_amount"].sum())
    fund = float(claims["fund_amount"].fillna(0).sum())
    status = ("未经复核：导出时未提供复核数据库，本案件尚无复核结论。" if d.status is None
              else STATUS_ZH.get(d.status, d.status))
    first, last = claims["day"].min(), claims["day"].max()
    rows = [
        ("案件编号", case["case_id"]), ("检测运行编号", s.get("run_id", "")),
        ("线索类型", f"{pattern_name(case['pattern'])}（{case['pattern']}）"),
        ("风险评分", f"{case.get('score', '')}（同类线索内可比，1 为最高）"),
        ("规则类别", "、".join(case.get("rules", []))),
        ("证据结算", f"{len(claims)} 笔，{first} 至 {last}"),
        ("涉及金额", f"医疗总费用 {money(total)} 元，其中统筹基金支付 {money(fund)} 元"),
        ("涉及人员与机构", "、".join(f"{KIND_ZH.get(k, k)} {n} 个" for k, n in
                              _count_kinds(case["members"]))),
        ("复核状态", status),
        ("导出人", f"{d.user}（{_ROLE_USER.get(d.role, d.role)}）"),
    ]
    if d.masked:
        rows.append(("身份信息", "应导出人要求，患者编号与医保卡号已脱敏（仅保留首尾）。"))
    pattern = shorten(pattern_name(case["pattern"]), CELL)
    out = [P("医保基金欺诈线索移送材料", st["title"]),
           P(f"涉嫌{pattern} · 案件 {shorten(case['case_id'], CELL)}", st["subtitle"]),
           P("一、案件概要", st["h1"])]
    out.append(kv(rows, st, width))
    out += [P("情况说明", st["h2"]), P(case.get("explanation", ""), st["body"])]
    if case.get("explanation_en"):
        out += [P("Summary (English)", st["h2"]), P(case["explanation_en"], st["body"])]
    metrics = [(metric_label(case["pattern"], k), metric_value(case["pattern"], k, v))
               for k, v in (case.get("metrics") or {}).items()]
    if metrics:
        out += [P("主要指标", st["h2"]), kv(metrics, st, width, key_width=5 * cm)]
    out.append(P("说明：本材料由数据分析自动生成，所列为可疑线索及其结算证据，不构成违法事实"
                 "认定；结算明细的全部原始字段见附件 claims.csv。", st["note"]))
    return out


def _count_kinds(members: list[dict]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for m in members:
        counts[m["kind"]] = counts.get(m["kind"], 0) + 1
    order = list(KIND_ZH)
    return sorted(counts.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99)


def _figures(d, st, width, height) -> list:
    out = [PageBreak(), P("二、关系网络", st["h1"]),
           P("图中每个点是一名患者、医师、机构、医保卡或结算终端，连线表示它们出现在同一笔"
             "证据结算中，线越粗共同结算越多；黑色描边为案件成员。完整网络见 network.graphml"
             " 与 network.json。", st["body"])]
    hidden = d.figures.get("network_hidden", 0)
    if hidden:
        out.append(P(f"为便于阅读，图中略去了 {hidden} 个非案件成员的结算终端、操作员或医保卡；"
                     "仅由本人使用的医保卡画在持卡人节点中。", st["small"]))
    if d.figures.get("network"):
        out.append(image(d.figures["network"], width, height * 0.72))
    out += [PageBreak(), P("三、证据时间线", st["h1"]),
            P(_TIMELINE_TEXT.get(d.case["pattern"], _TIMELINE_TEXT[None]), st["body"])]
    for path in d.figures.get("timeline", []):
        out += [image(path, width, height * 0.85), Spacer(1, 0.3 * cm)]
    out += [CondPageBreak(9 * cm), P("四、金额", st["h1"])]
    if d.figures.get("amounts"):
        out.append(image(d.figures["amounts"], width, height * 0.3))
    cash = (5, 6)
    if d.occasions:
        rows = [[o["occasion"], o["first_day"], o["last_day"], o["claims"], o["admissions"],
                 money(o["total_amount"]), money(o["fund_amount"])] for o in d.occasions]
        rows.append(_total(d.days, 3, 4))
        w = [1.4, 2.6, 2.6, 1.6, 1.6, 3.3, 3.3]
        out += together(
            P("按批次汇总（批次为检测识别的集中就诊时段）", st["h2"]),
            table(["批次", "起", "止", "笔数", "入院", "医疗总费用（元）", "统筹支付（元）"],
                   rows, [x * width / sum(w) for x in w], right=(0, 3, 4, *cash)))
    if len(d.days) > _MAX_DAYS and d.occasions:
        return out + [P("按日汇总", st["h2"]), P(
            f"共 {len(d.days)} 个就诊日，逐日明细见附件 amounts_by_day.csv。", st["body"])]
    rows = [[r["day"], r["claims"], r["patients"], r["admissions"],
             f"{r['first_time']}–{r['last_time']}" if r["first_time"] else "",
             money(r["total_amount"]), money(r["fund_amount"])] for r in d.days]
    rows.append(_total(d.days, 1, 3))
    w = [2.6, 1.6, 1.8, 1.8, 2.6, 3.2, 3.2]
    return out + together(P("按日汇总", st["h2"]), table(
        ["日期", "笔数", "患者数", "入院", "时段", "医疗总费用（元）", "统筹支付（元）"], rows,
        [x * width / sum(w) for x in w], right=(1, 2, 3, *cash)))


def _total(days: list[dict], claims_col: int, admissions_col: int) -> list:
    row: list = ["合计", "", "", "", "", money(sum(r["total_amount"] for r in days)),
                 money(sum(r["fund_amount"] for r in days))]
    row[claims_col] = sum(r["claims"] for r in days)
    row[admissions_col] = sum(r["admissions"] for r in days)
    return row


def _members(d, st, width) -> list:
    out = [PageBreak(), P("五、涉案人员与机构", st["h1"]),
           P("证据结算中涉及的案件成员及各自的笔数与金额（完整数据见 members.csv）。", st["body"])]
    w = [0.9, 1.2, 3.7, 4.6, 1.8, 1.0, 2.5, 2.1, 2.1]
    cols = [x * width / sum(w) for x in w]
    rows = []
    for i, m in enumerate(d.members, start=1):
        rows.append([i, fit(KIND_ZH.get(m["kind"], m["kind"]), cols[1] - 6, 7.8),
                     fit(m["id"], cols[2] - 6, 7.8), _about(m, st, cols[3] - 6),
                     fit(ROLE_ZH.get(m["role"], m["role"]), cols[4] - 6, 7.8),
                     m["claims"], money(m["total_amount"]), m["first_day"], m["last_day"]])
    out += table(["序号", "类别", "编号", "名称 / 性别 出生 区划", "角色", "笔数", "金额（元）",
                   "首次", "末次"], rows, cols, right=(0, 5, 6))
    return out


def _about(m: dict, st: dict, width: float) -> list:
    """A member's name, or sex and birth year, and its region code on a line of its own,
    cut to the column rather than wrapped, so that a code never breaks mid-number."""
    about = shorten(m["name"], CELL) or " ".join(shorten(x, 20) for x in (
        SEX_ZH.get(m["sex"], m["sex"]), f"{m['birth_year']}年生" if m["birth_year"] else "")
        if x)
    out = [P(about, st["cell"], CELL)] if about else []
    if m.get("region"):
        out.append(P(shorten(m["region"], CELL), st["cell"], CELL))
    if m["region_code"]:
        out.append(P(fit(f"区划 {m['region_code']}", width, 7.8), st["code"], CELL))
    return out or ""


def _runs(d, st, width) -> list:
    """六、案件历次批次: the case in each run that held it, and the runs' hash chain."""
    h = d.history
    if h is None:
        return []
    out = [CondPageBreak(6 * cm), P("六、案件历次批次", st["h1"]),
           P(f"案件标识 {h.case_key}：本案件出现于以下 {len(h.rows)} 个检测批次（由早到晚），"
             "变化为与上一批次相比（完整数据见 history.json）。", st["body"], WIDE)]
    if not h.complete:
        out.append(P("更早批次的检测运行导出时未找到，以下历史自最早找到的批次起。", st["note"]))
    w = [3.0, 1.7, 1.2, 1.1, 1.1, 2.4, 6.9]
    cols = [x * width / sum(w) for x in w]
    rows = [[fit(r["run_id"], cols[0] - 6, 7.8), fit(r["case_id"], cols[1] - 6, 7.8),
             "" if r["score"] is None else fit(r["score"], cols[2] - 6, 7.8), r["members"],
             r["claims"], money(r["total_amount"]), P(_changed(r), st["cell"], WIDE)]
            for r in h.rows]
    out += together(P("历次批次", st["h2"]), table(
        ["检测批次", "案件编号", "评分", "成员", "笔数", "金额（元）", "变化"], rows, cols,
        right=(2, 3, 4, 5)))
    links = [[fit(e["run_id"], width * 0.3 - 6, 7.8), str(e["cases_sha256"])[:12],
              fit(_previous(e.get("previous_run")), width * 0.5 - 6, 7.8)] for e in h.chain]
    return out + together(
        [P("检测批次哈希链", st["h2"]),
         P("各批次 cases.jsonl 的 SHA-256（前 12 位）；每一批次生成时记录其所接上一批次的"
           "哈希，完整哈希见 chain.json，可用 graphdetect verify --runs 核对。", st["body"])],
        table(["检测批次", "cases.jsonl SHA-256", "所接上一批次及其哈希"], links,
               [width * 0.3, width * 0.2, width * 0.5]))


def _previous(link: dict | None) -> str:
    """A run's recorded link: the earlier run's id and the first 12 hex of its hash."""
    if not link:
        return "（无）"
    return f"{link.get('run_id')} {str(link.get('cases_sha256'))[:12]}"


def _changed(r: dict) -> str:
    """A history row's change since the run before, in words."""
    parts = [_LINEAGE_ZH.get(r["state"], str(r["state"]))]
    delta = r.get("delta") or {}
    if delta.get("members") or delta.get("lost_members"):
        parts.append(f"成员 +{delta.get('members', 0)} / -{delta.get('lost_members', 0)}")
    if delta.get("claims"):
        parts.append(f"新证据 {delta['claims']} 笔")
    if delta.get("amount"):
        parts.append(f"金额 {delta['amount']:+,.2f} 元")
    if r.get("merged_from"):
        parts.append("由 " + "、".join(map(str, r["merged_from"])) + " 合并")
    if r.get("split_from"):
        parts.append(f"自 {r['split_from']} 分出")
    return "；".join(parts)


def _history(d, st, width) -> list:
    """七、复核记录: the review history, then each outcome the review database holds
    (``d.parts``: the ledger entries)."""
    out = [CondPageBreak(6 * cm), P("七、复核记录", st["h1"]), *_notes(d, st, width)]
    for part in d.parts:
        out += part.section(st, width)
    return out


def _notes(d, st, width) -> list:
    if d.status is None:
        return [P("导出时未提供复核数据库：本案件尚未经过复核，以下无复核记录。", st["note"])]
    if not d.notes:
        return [P(f"当前状态：{STATUS_ZH.get(d.status, d.status)}；尚无复核记录。", st["body"])]
    w = [2.7, 1.8, 2.7, 1.8, 8.4]
    cols = [x * width / sum(w) for x in w]
    rows, spans = [], set()
    for n in d.notes:  # the note itself on a row of its own, the table's whole width
        rows.append([P(beijing(n["created_at"]), st["cell"]), P(n["author"], st["cell"], CELL),
                     P(_change(n), st["cell"]), P(n.get("assignee") or "", st["cell"], CELL),
                     P(n.get("reason") or "", st["cell"], WIDE)])
        if (n.get("body") or "").strip():
            spans.add(len(rows))
            rows.append([P(f"备注：{n['body']}", st["cell"]), "", "", "", ""])
    return [P(f"当前状态：{STATUS_ZH.get(d.status, d.status)}。时间为北京时间。", st["body"]),
            *table(["时间", "操作人", "状态变化", "指派", "理由"], rows, cols,
                   spans=frozenset(spans))]


def _change(n: dict) -> str:
    a, b = n.get("status_from"), n.get("status_to")
    if not b or a == b:
        return "（备注）"
    return f"{status_word(a)} → {status_word(b)}"


def _method(d, st, width) -> list:
    s = d.summary
    out = [CondPageBreak(12 * cm), P("八、检测方法与数据来源", st["h1"]),
           P(f"检测软件 graphdetect {s.get('graphdetect_version', '')}；检测运行编号 "
             f"{s.get('run_id', '')}（由输入文件哈希、参数与版本计算，可复现）。", st["body"]),
           P("输入文件", st["h2"])]
    files = [[P(name, st["cell"], CELL), P(info.get("table", ""), st["cell"], CELL),
              P(info.get("encoding") or "", st["cell"], CELL),
              f"{info.get('rows_read', '')}", P(info.get("sha256", ""), st["mono"], CELL)]
             for name, info in sorted((s.get("inputs") or {}).items())]
    w = [3.0, 1.8, 1.6, 1.6, 9.4]
    out += table(["文件", "数据表", "编码", "行数", "SHA-256"], files,
                  [x * width / sum(w) for x in w], right=(3,))
    params = [[P(k, st["mono"], CELL), P(json.dumps(v, ensure_ascii=False), st["mono"], WIDE)]
              for k, v in sorted((s.get("parameters") or {}).items())]
    out += [P("检测参数", st["h2"]), *table(["参数", "取值"], params, [width * 0.6, width * 0.4])]
    for note in s.get("not_checked") or []:
        out.append(P(f"未能检查：{shorten(note, WIDE)}", st["small"]))
    att = [[P(n, st["cell"], CELL), f"{size:,}", P(h, st["mono"], CELL)]
           for n, h, size in d.attachments]
    return out + together(
        [P("附件清单", st["h2"]),
         P("证据包内各文件及其 SHA-256；manifest.json 列出全部文件的哈希，可用 "
           "graphdetect verify 或任何 SHA-256 工具核对。", st["body"])],
        table(["文件", "字节", "SHA-256"], att, [width * 0.3, width * 0.12, width * 0.58],
               right=(1,)))


def _signature(d, st, wide) -> list:
    """九、签字确认: lines for the handling officer (the exporting user, printed), the
    reviewer, their dates and the unit's seal."""
    line = 7 * cm
    rows = [["承办人：", P(d.user, st["body"], CELL), "日期：", ""],
            ["审核人：", "", "日期：", ""],
            ["单位盖章：", "", "", ""]]
    t = Table(rows, colWidths=[2.6 * cm, line, 1.6 * cm, 5 * cm],
              rowHeights=[1.3 * cm, 1.3 * cm, 3.2 * cm], hAlign="LEFT")
    t.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), reportlab_fonts()[0], 10.5),
        ("VALIGN", (0, 0), (-1, -1), "BOTTOM"), ("VALIGN", (0, 2), (0, 2), "TOP"),
        ("LINEBELOW", (1, 0), (1, 1), 0.6, colors.black),
        ("LINEBELOW", (3, 0), (3, 1), 0.6, colors.black),
        ("BOX", (1, 2), (1, 2), 0.6, colors.black)]))
    return [CondPageBreak(9 * cm), P("九、签字确认", st["h1"]),
            P("承办人、审核人核对上述材料后签字，并加盖单位公章。", st["body"]), t]


def _claims(d, st, wide) -> list:
    c = d.claims
    w = [3.2, 2.8, 2.8, 3.2, 2.6, 3.2, 2.6, 3.6, 1.1, 1.5, 2.2, 2.2]
    cols = [x * wide / sum(w) for x in w]
    size = 7.0
    rows = []
    for r in c.itertuples(index=False):
        end = r.end_time.strftime("%Y-%m-%d %H:%M") if r.end_time == r.end_time else ""
        inst = d.names.get(r.institution_id) or r.institution_id
        rows.append([fit(x, cols[i] - 6, size) for i, x in enumerate((
            r.claim_id, r.start_time.strftime("%Y-%m-%d %H:%M"), end, r.patient_id,
            r.card_id or "", inst, r.doctor_id or "",
            " / ".join(x for x in (r.terminal_id, r.operator_id) if x),
            VISIT_ZH.get(r.visit_type, r.visit_type), r.diagnosis_code or "",
            money(r.total_amount),
            money(r.fund_amount) if r.fund_amount == r.fund_amount else ""))])
    head = [NextPageTemplate("landscape"), PageBreak(), P("附：证据结算明细", st["h1"]),
            P(f"共 {len(rows)} 笔，按时间排序；全部原始字段见 claims.csv。", st["body"])]
    return head + table(["结算流水号", "开始时间", "出院时间", "患者编号", "医保卡号", "机构",
                         "医师", "终端 / 操作员", "类别", "诊断", "总费用", "统筹支付"], rows,
                        cols, size=size, right=(10, 11))
