"""The referral report (移送材料) as a PDF: Chinese text, the CJK font embedded.

The report is laid out with reportlab's platypus on A4 (the claims appendix on landscape
pages), numbered "第 n 页 / 共 m 页" on every page. It is reproducible: reportlab's
invariant mode (no random document id), creation and modification dates fixed to the
detection run's time, so the same case, run and review history give the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate
from reportlab.platypus.doctemplate import LayoutError

from ..cells import shorten
from ._common import ExportError, printable
from ._fonts import reportlab_fonts
from ._history import CaseHistory

__all__ = ["ReportData", "write_report"]

MARGIN = 1.8 * cm


@dataclass
class ReportData:
    """Everything the report shows, ids already masked when the package masks them.

    Values may be of any length and hold any characters: the report cuts each for
    display and removes control characters (see ``_flow``).

    Attributes
    ----------
    case : dict
        The case as in ``cases.jsonl``, its explanations masked.
    summary : dict
        The run's ``summary.json``.
    user, role : str
        Who exports, and their role.
    status : str or None
        The review status, or None when no review database was given.
    members, days : list of dict
        Rows of ``members.csv`` and the amounts per day.
    claims : pandas.DataFrame
        The evidence claims, typed, ids already shown as the role may see them.
    notes : list of dict
        The review history (masked), oldest first.
    figures : dict
        ``"network"``, ``"amounts"``: a PNG path; ``"timeline"``: a list of PNG paths;
        ``"network_hidden"``: nodes the network figure leaves out.
    attachments : list of tuple
        ``(file name, sha256, size)`` of the package's other files.
    masked : bool
        Whether patient and card ids are masked.
    names : dict
        Institution id -> name, for the claims appendix.
    created : datetime
        The date written into the PDF (the run's time, for reproducible bytes).
    history : CaseHistory or None
        The case across runs and the runs' hash chain (``_history``); None: no section.
    """

    case: dict
    summary: dict
    user: str
    role: str
    status: str | None
    members: list[dict]
    days: list[dict]
    claims: object
    notes: list[dict] = field(default_factory=list)
    occasions: list[dict] = field(default_factory=list)
    figures: dict = field(default_factory=dict)
    attachments: list[tuple[str, str, int]] = field(default_factory=list)
    masked: bool = False
    names: dict[str, str] = field(default_factory=dict)
    created: datetime = datetime(2000, 1, 1, tzinfo=UTC)
    history: CaseHistory | None = None


def styles() -> dict[str, ParagraphStyle]:
    """The report's paragraph styles, in the embedded CJK font."""
    sans, mono = reportlab_fonts()
    base = ParagraphStyle("body", fontName=sans, fontSize=9.5, leading=14, wordWrap="CJK",
                          spaceAfter=4)
    return {
        "body": base,
        "title": ParagraphStyle("title", parent=base, fontSize=19, leading=26, alignment=1,
                                spaceAfter=4, textColor=colors.HexColor("#1a1a1a")),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontSize=10.5, leading=15,
                                   alignment=1, textColor=colors.HexColor("#444444"),
                                   spaceAfter=12),
        "h1": ParagraphStyle("h1", parent=base, fontSize=13.5, leading=19, spaceBefore=10,
                             spaceAfter=6, textColor=colors.HexColor("#8b0000")),
        "h2": ParagraphStyle("h2", parent=base, fontSize=10.5, leading=15, spaceBefore=6,
                             spaceAfter=3),
        "cell": ParagraphStyle("cell", parent=base, fontSize=7.8, leading=10, spaceAfter=0),
        "small": ParagraphStyle("small", parent=base, fontSize=7.5, leading=10,
                                textColor=colors.HexColor("#555555")),
        "code": ParagraphStyle("code", parent=base, fontSize=7.8, leading=10, spaceAfter=0,
                               wordWrap=None),
        "mono": ParagraphStyle("mono", parent=base, fontName=mono, fontSize=6.5, leading=8.5,
                               spaceAfter=0, wordWrap="CJK"),
        "note": ParagraphStyle("note", parent=base, fontSize=9, leading=13, borderPadding=6,
                               backColor=colors.HexColor("#fff6e0"), spaceBefore=4,
                               spaceAfter=8),
    }


class _NumberedCanvas(Canvas):
    """Defers every page to the end so each can say how many pages there are in all."""

    header = ""
    footer = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pages: list[dict] = []

    def showPage(self):  # noqa: N802 - reportlab's name
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._pages)
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self._decorate(number, total)
            super().showPage()
        super().save()

    def _decorate(self, number: int, total: int) -> None:
        sans, _ = reportlab_fonts()
        width, height = self._pagesize
        self.saveState()
        self.setFont(sans, 7.5)
        self.setFillColor(colors.HexColor("#555555"))
        self.drawString(MARGIN, height - 1.1 * cm, self.header)
        self.drawRightString(width - MARGIN, height - 1.1 * cm, f"第 {number} 页 / 共 {total} 页")
        self.setStrokeColor(colors.HexColor("#bbbbbb"))
        self.line(MARGIN, height - 1.25 * cm, width - MARGIN, height - 1.25 * cm)
        self.drawString(MARGIN, 0.9 * cm, self.footer)
        self.restoreState()


def write_report(data: ReportData, path: Path) -> Path:
    """Write the report PDF to ``path`` and return it.

    Raises
    ------
    ExportError
        When some part of the report cannot be laid out on a page (never expected: every
        value is cut to fit; this turns reportlab's error into a clear one).

    Examples
    --------
    See :func:`graphdetect.export.export_case`, which gathers the data and calls this.
    """
    from ._report import story

    sans, _ = reportlab_fonts()
    case_id = _clip(data.case["case_id"], 60)
    run_id = _clip(data.summary.get("run_id", ""), 60)
    version = _clip(data.summary.get("graphdetect_version", ""), 30)
    stamp = data.created.astimezone(UTC).strftime("D:%Y%m%d%H%M%S+00'00'")

    class Canvas_(_NumberedCanvas):
        header = _clip(f"医保基金监管 · 案件 {case_id} · 检测运行 {run_id}", 90)
        footer = (f"graphdetect {version} 依检测运行 {run_id} 自动生成；检测结果为线索，"
                  "须经调查核实。各文件的 SHA-256 见 manifest.json。")

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.setDateFormatter(lambda *_: stamp)

    doc = BaseDocTemplate(
        str(path), pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=1.7 * cm,
        bottomMargin=1.5 * cm, invariant=True, initialFontName=sans,
        title=f"案件 {case_id} 移送材料", author="graphdetect",
        subject=f"{run_id} / {case_id}", creator=f"graphdetect {version}",
        producer=f"graphdetect {version} (reportlab)", lang="zh-CN",
    )
    portrait = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="p")
    lw, lh = landscape(A4)
    wide = Frame(MARGIN, 1.5 * cm, lw - 2 * MARGIN, lh - 3.2 * cm, id="l")
    doc.addPageTemplates([PageTemplate("portrait", [portrait], pagesize=A4),
                          PageTemplate("landscape", [wide], pagesize=landscape(A4))])
    flowables = story(data, styles(), doc.width, lw - 2 * MARGIN, doc.height)
    a85, rl_config.useA85 = rl_config.useA85, 0  # binary streams: smaller, and 3x faster
    try:
        doc.build(flowables, canvasmaker=Canvas_)
    except LayoutError as exc:
        raise ExportError(f"the report of case {case_id} cannot be laid out: a part of it "
                          f"does not fit on a page ({_clip(exc, 200)})") from None
    finally:
        rl_config.useA85 = a85
    return path


def _clip(text: object, n: int) -> str:
    """Text for the page header and the PDF's metadata: cut, no control characters."""
    return printable(shorten(text, n))
