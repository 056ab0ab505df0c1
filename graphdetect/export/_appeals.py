"""The committees and appeals of a case, in its evidence package (a :class:`Part`).

:func:`read_procedure` reads from the review database what a package may carry: every
appeal of the case with its attachments, each read back through
:meth:`graphdetect.ledger.appeals.Appeals.attachment` and so checked against the SHA-256
stored when it was filed (a changed attachment stops the export: a package never carries
bytes other than those filed), and every committee of the case and of its appeals, an
open committee without its votes (blind until it closes: they never leave the system).

:func:`appeal_part` makes the part: ``appeals.csv`` (one row per appeal and its outcome),
``appeal_files.csv`` (one row per attachment: its name, SHA-256, size and file in the
package), each attachment as ``appeals/<appeal>/<file>_<name>``, ``committees.csv`` (one
row per committee: subject, members, quorum, outcome, votes, agreement),
``committee_votes.csv`` (each vote and its reason, of closed committees only) and the
report's section "会审与申诉". A masked package masks patient and card ids in the free
text, and leaves the attachments out (their content cannot be masked), listing their
names and SHA-256 only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..cells import csv_bytes
from ..errors import ProcedureError
from ..ledger.appeals import Appeals
from ..review.committee import Committees
from ..review.store import ReviewStore
from ._common import ExportError, safe_name
from ._flow import CELL, WIDE, P, beijing, fit, kv, table, together
from ._ledger import Part
from ._tables import Masker

__all__ = ["APPEALS", "APPEAL_FILES", "COMMITTEES", "VOTES", "Procedure", "appeal_part",
           "attachment_path", "read_procedure"]

APPEALS = "appeals.csv"
APPEAL_FILES = "appeal_files.csv"
COMMITTEES = "committees.csv"
VOTES = "committee_votes.csv"
APPEAL_COLUMNS = ("id", "appellant", "filed_by", "filed_at", "text", "outcome", "reason",
                  "decided_by", "decided_at", "committee", "revocations")
FILE_COLUMNS = ("appeal", "file", "name", "sha256", "size", "path")
COMMITTEE_COLUMNS = ("id", "subject", "appeal", "members", "quorum", "opened_by",
                     "opened_at", "outcome", "votes_for", "votes_against", "agreement",
                     "closed_by", "closed_at")
VOTE_COLUMNS = ("committee", "member", "vote", "reason", "at")

_APPEAL_ZH = {"upheld": "申诉成立", "rejected": "申诉驳回", None: "尚未决定"}
_VOTE_ZH = {"confirm": "确认", "dismiss": "不予确认", "uphold": "支持申诉", "reject": "驳回申诉"}
_OUTCOME_ZH = {"confirm": "确认案件", "dismiss": "不予确认", "uphold": "申诉成立",
               "reject": "驳回申诉", "tied": "票数相同，未形成结论",
               "no_quorum": "未达法定人数，未形成结论"}
_EXT = re.compile(r"[A-Za-z0-9]{1,10}")


@dataclass(frozen=True)
class Procedure:
    """What the review database holds on a case's committees and appeals.

    Attributes
    ----------
    appeals : list of dict
        As :meth:`Appeals.of_case` gives them, oldest first.
    committees : list of dict
        As :meth:`Committees.of_case` gives them, oldest first; an open one's ``votes``
        empty.
    attachments : dict
        Attachment id -> its content, checked against its stored SHA-256.
    """

    appeals: list[dict] = field(default_factory=list)
    committees: list[dict] = field(default_factory=list)
    attachments: dict[int, bytes] = field(default_factory=dict)


def read_procedure(store: ReviewStore, case_key: str) -> Procedure:
    """The case's appeals (attachments read and checked) and committees from ``store``.

    Raises
    ------
    ExportError
        When an attachment's content no longer matches the SHA-256 stored on filing.
    """
    books = Appeals(store)
    appeals = books.of_case(case_key)
    contents = {}
    for a in appeals:
        for f in a["files"]:
            try:
                meta, contents[f["id"]] = books.attachment(f["id"])
            except ProcedureError as exc:
                raise ExportError(f"appeal #{a['id']}: {exc}; the review database no longer "
                                  "holds the attachment as filed, so no package was "
                                  "written") from None
            if meta["sha256"] != f["sha256"]:  # read between two writes: never mixed
                raise ExportError(f"appeal #{a['id']}: attachment {f['name']} changed while "
                                  "the package was made; export again")
    committees = [c if c["outcome"] is not None else {**c, "votes": []}
                  for c in Committees(store).of_case(case_key)]
    return Procedure(appeals, committees, contents)


def attachment_path(appeal_id: int, file_id: int, name: str) -> str:
    """An attachment's file in the package: safe on any file system, one per attachment.

    >>> attachment_path(1, 3, "授权书.pdf")
    'appeals/1/3_x-b7961e87.pdf'
    >>> attachment_path(2, 4, "contract")
    'appeals/2/4_contract'
    """
    stem, dot, ext = str(name).rpartition(".")
    if not dot or not stem or not _EXT.fullmatch(ext):
        stem, ext = str(name), ""
    return f"appeals/{int(appeal_id)}/{int(file_id)}_{safe_name(stem)}" + (
        f".{ext}" if ext else "")


def appeal_part(procedure: Procedure | None, masker: Masker | None = None) -> Part:
    """The case's committees and appeals as the package's files and a report section.

    Parameters
    ----------
    procedure : Procedure or None
        From :func:`read_procedure`; None when the package was exported without the
        review database (no files, and the report says so).
    masker : Masker, optional
        Masks patient and card ids in the free text; when active, the attachments are
        left out of the package (their names and SHA-256 stay listed).

    Examples
    --------
    >>> part = appeal_part(Procedure())
    >>> sorted(part.files)
    ['appeal_files.csv', 'appeals.csv', 'committee_votes.csv', 'committees.csv']
    >>> appeal_part(None).files
    {}
    """
    if procedure is None:
        return Part(section=lambda st, width: _section(None, st, width))
    text = masker.text if masker is not None else (lambda s: s)
    withheld = masker is not None and masker.active
    appeals, files, blobs = [], [], {}
    for a in procedure.appeals:
        out = a["outcome"] or {}
        appeals.append({"id": a["id"], "appellant": text(a["appellant"]),
                        "filed_by": a["filed_by"], "filed_at": a["filed_at"],
                        "text": text(a["text"]), "outcome": out.get("outcome", ""),
                        "reason": text(out.get("reason") or ""),
                        "decided_by": out.get("decided_by", ""),
                        "decided_at": out.get("decided_at", ""),
                        "committee": out.get("committee_id") or "",
                        "revocations": out.get("revocations", ""),
                        "files": []})
        for f in a["files"]:
            path = "" if withheld else attachment_path(a["id"], f["id"], f["name"])
            if path:
                blobs[path] = procedure.attachments[f["id"]]
            row = {"appeal": a["id"], "file": f["id"], "name": text(f["name"]),
                   "sha256": f["sha256"], "size": f["size"], "path": path}
            files.append(row)
            appeals[-1]["files"].append(row)
    committees, votes = [], []
    for c in procedure.committees:
        out = c["outcome"] or {}
        committees.append({"id": c["id"], "subject": c["subject"],
                           "appeal": c["appeal_id"] or "", "members": ";".join(c["members"]),
                           "quorum": c["quorum"], "opened_by": c["opened_by"],
                           "opened_at": c["opened_at"], "outcome": out.get("outcome", ""),
                           "votes_for": out.get("votes_for", ""),
                           "votes_against": out.get("votes_against", ""),
                           "agreement": out.get("agreement", ""),
                           "closed_by": out.get("closed_by", ""),
                           "closed_at": out.get("closed_at", "")})
        if out:  # an open committee's votes never leave the system
            votes += [{"committee": c["id"], "member": v["member"], "vote": v["vote"],
                       "reason": text(v["reason"]), "at": v["at"]} for v in c["votes"]]
    data = {APPEALS: _csv(APPEAL_COLUMNS, appeals), APPEAL_FILES: _csv(FILE_COLUMNS, files),
            COMMITTEES: _csv(COMMITTEE_COLUMNS, committees), VOTES: _csv(VOTE_COLUMNS, votes),
            **blobs}
    return Part(data, lambda st, width: _section((appeals, committees, votes, withheld),
                                                 st, width))


def _csv(columns: tuple[str, ...], rows: list[dict]) -> bytes:
    return csv_bytes(columns, ([r[c] for c in columns] for r in rows))


def _section(shown, st: dict, width: float) -> list:
    head = P("会审与申诉", st["h2"])
    if shown is None:
        return [head, P("导出时未提供复核数据库：未查阅会审与申诉记录。", st["body"])]
    appeals, committees, votes, withheld = shown
    if not appeals and not committees:
        return [head, P("本案件无会审与申诉记录（no committees or appeals）：复核数据库中没有"
                        "本案件的会审或申诉；附件 committees.csv、appeals.csv 仅有表头。",
                        st["body"])]
    out = [head]
    if committees:
        out += _committees(committees, votes, st, width)
    else:
        out.append(P("本案件无会审记录。", st["body"]))
    if appeals:
        out += _appeals(appeals, withheld, st, width)
    else:
        out.append(P("本案件无申诉记录。", st["body"]))
    return out


def _subject(c: dict) -> str:
    return "案件认定" if c["subject"] == "case" else f"申诉 #{c['appeal']}"


def _committees(committees: list[dict], votes: list[dict], st: dict, width: float) -> list:
    w = [1.2, 2.0, 3.4, 1.4, 3.2, 1.8, 1.4, 2.6]
    cols = [x * width / sum(w) for x in w]
    rows = []
    for c in committees:
        closed = c["closed_at"] != ""
        rows.append([f"#{c['id']}", fit(_subject(c), cols[1] - 6, 7.8),
                     P(c["members"].replace(";", "、"), st["cell"], CELL),
                     str(c["quorum"]),
                     P(_OUTCOME_ZH.get(c["outcome"], c["outcome"]) if closed
                       else "进行中（表决保密，不予导出）", st["cell"], CELL),
                     f"{c['votes_for']} : {c['votes_against']}" if closed else "",
                     f"{c['agreement']:.0%}" if closed else "",
                     beijing(c["closed_at"]) if closed else ""])
    intro = P(f"本案件的 {len(committees)} 次会审（双盲表决；票数为赞成 : 反对，一致率为与多数"
              "意见一致的票数占所投票数的比例；完整数据见 committees.csv，各成员的表决及理由"
              "见 committee_votes.csv，仅列已结束的会审）。时间为北京时间。", st["body"], WIDE)
    out = together([P("会审", st["h2"]), intro],
                   table(["会审", "审议对象", "成员", "法定人数", "结论", "票数", "一致率",
                          "结束时间"], rows, cols, right=(3,)))
    if votes:
        w = [1.2, 2.0, 1.8, 8.0, 2.6]
        cols = [x * width / sum(w) for x in w]
        body = [[f"#{v['committee']}", P(v["member"], st["cell"], CELL),
                 _VOTE_ZH.get(v["vote"], v["vote"]), P(v["reason"], st["cell"], WIDE),
                 beijing(v["at"])] for v in votes]
        out += together(P("会审表决（会审结束后公开）", st["small"]),
                        table(["会审", "成员", "表决", "理由", "时间"], body, cols))
    return out


def _appeals(appeals: list[dict], withheld: bool, st: dict, width: float) -> list:
    out = [P("申诉", st["h2"]),
           P(f"本案件的 {len(appeals)} 项申诉（完整数据见 appeals.csv；附件清单及其 SHA-256 见 "
             "appeal_files.csv，提交时记录的 SHA-256 与 manifest.json 所列一致）。"
             + ("应导出人要求本证据包已脱敏：附件原件可能含患者身份信息，未收入证据包，"
                "仅列名称与 SHA-256。" if withheld else "附件原件见 appeals/ 文件夹。"),
             st["body"], WIDE)]
    for a in appeals:
        decided = a["outcome"] != ""
        rows = [("申诉方", a["appellant"]),
                ("提交", f"{a['filed_by']}，{beijing(a['filed_at'])}"),
                ("申诉内容", a["text"]),
                ("结论", _APPEAL_ZH.get(a["outcome"] or None, a["outcome"]))]
        if decided:
            rows += [("决定理由", a["reason"]),
                     ("决定", f"{a['decided_by']}，{beijing(a['decided_at'])}"
                              + (f"（会审 #{a['committee']}）" if a["committee"] else ""))]
            if a["revocations"]:
                rows.append(("撤销记分", "诚信记分台账第 " + "、".join(
                    a["revocations"].split(",")) + " 条（撤销记录）"))
        block = [P(f"申诉 #{a['id']}：{_APPEAL_ZH.get(a['outcome'] or None, a['outcome'])}",
                   st["small"]), kv(rows, st, width)]
        if a["files"]:
            w = [5.0, 1.6, 8.4]
            cols = [x * width / sum(w) for x in w]
            att = [[P(f["name"] + (f"\n{f['path']}" if f["path"] else ""), st["cell"], WIDE),
                    f"{f['size']:,}", P(f["sha256"], st["mono"], CELL)] for f in a["files"]]
            out += together(block, table(["附件", "字节", "SHA-256"], att, cols, right=(1,)))
        else:
            out += block + [P("无附件。", st["small"])]
    return out
