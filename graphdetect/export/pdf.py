"""The referral report (移送材料) as a PDF: Chinese text, the CJK font embedded.

The report is laid out with reportlab's platypus on A4 (the claims appendix on landscape
pages), numbered "第 n 页 / 共 m 页" on every page. It is reproducible: reportlab's
invariant mode (no random document id), creation and modification dates fixed to the
detection run's time, so the same case, run and review history give the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
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

from .. import __version__
from ..cells import shorten
from ._common import ExportError, printable
from ._fonts import reportlab_fonts
from ._history import CaseHistory

__all__ = ["ReportData", "write_report", "build_pdf", "styles", "PAGES"]

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
    parts : list of Part
        The case's outcomes from the review database (``_ledger``: the ledger entries),
        each a section after the review history.
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
    parts: list = field(default_factory=list)


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
    pages = "第 {n} 页 / 共 {total} 页"

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
        self.drawRightString(width - MARGIN, height - 1.1 * cm,
                             self.pages.format(n=number, total=total))
        self.setStrokeColor(colors.HexColor("#bbbbbb"))
        self.line(MARGIN, height - 1.25 * cm, width - MARGIN, height - 1.25 * cm)
        self.drawString(MARGIN, 0.9 * cm, self.footer)
        self.restoreState()


#: The page number of each page, per language.
PAGES = {"zh": "第 {n} 页 / 共 {total} 页", "en": "page {n} of {total}"}


def build_pdf(path: Path, story: Callable[[dict, float, float, float], list], *, title: str,
              subject: str, header: str, footer: str, created: datetime, what: str,
              lang: str = "zh", first: str = "portrait", version: str = __version__) -> Path:
    """Lay out a reproducible A4 PDF in the embedded CJK font and write it to ``path``.

    The shared frame of every PDF graphdetect writes (the referral report, the ledger's
    yearly report): a header and footer line and "page n of m" on every page,
    reportlab's invariant mode and ``created`` as its dates, so the same input gives the
    same bytes.

    Parameters
    ----------
    path : Path
        The PDF to write.
    story : callable
        ``story(styles, width, wide, height)``: the flowables, given :func:`styles`, the
        text width of a portrait page, that of a landscape page, and the portrait height.
        A ``NextPageTemplate("landscape")`` (or ``"portrait"``) switches the page shape.
    title, subject : str
        The PDF's metadata.
    header, footer : str
        The line atop and below every page (cut to fit, controls removed).
    created : datetime
        The PDF's creation and modification date.
    what : str
        What is laid out, for the error when it cannot be ("the report of case R-0001").
    lang : str
        ``"zh"`` or ``"en"``: the page numbers' words and the PDF's language.
    first : str
        ``"portrait"`` or ``"landscape"``: the shape of the first page.
    version : str
        The graphdetect version the PDF names as its creator (the referral report names
        the version that made the run).

    Raises
    ------
    ExportError
        When some part cannot be laid out on a page (never expected: every value is cut
        to fit; this turns reportlab's error into a clear one).
    """
    sans, _ = reportlab_fonts()
    version = _clip(version, 30)
    stamp = created.astimezone(UTC).strftime("D:%Y%m%d%H%M%S+00'00'")

    class Canvas_(_NumberedCanvas):
        pages = PAGES.get(lang, PAGES["zh"])

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.header = _clip(header, 120)
            self.footer = printable(footer)
            self.setDateFormatter(lambda *_: stamp)

    doc = BaseDocTemplate(
        str(path), pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=1.7 * cm,
        bottomMargin=1.5 * cm, invariant=True, initialFontName=sans,
        title=_clip(title, 120), author="graphdetect", subject=_clip(subject, 120),
        creator=f"graphdetect {version}", producer=f"graphdetect {version} (reportlab)",
        lang="zh-CN" if lang == "zh" else "en",
    )
    portrait = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="p")
    lw, lh = landscape(A4)
    wide = Frame(MARGIN, 1.5 * cm, lw - 2 * MARGIN, lh - 3.2 * cm, id="l")
    templates = [PageTemplate("portrait", [portrait], pagesize=A4),
                 PageTemplate("landscape", [wide], pagesize=landscape(A4))]
    doc.addPageTemplates(templates if first == "portrait" else templates[::-1])
    flowables = story(styles(), doc.width, lw - 2 * MARGIN, doc.height)
    a85, rl_config.useA85 = rl_config.useA85, 0  # binary streams: smaller, and 3x faster
    try:
        doc.build(flowables, canvasmaker=Canvas_)
    except LayoutError as exc:
        raise ExportError(f"{what} cannot be laid out: a part of it does not fit on a page "
                          f"({_clip(exc, 200)})") from None
    finally:
        rl_config.useA85 = a85
    return path


def write_report(data: ReportData, path: Path) -> Path:
    """Write the report PDF to ``path`` and return it.

    Raises
    ------
    ExportError
        When some part of the report cannot be laid out on a page (see :func:`build_pdf`).

    Examples
    --------
    See :func:`graphdetect.export.export_case`, which gathers the data and calls this.
    """
    from ._report import story

    case_id = _clip(data.case["case_id"], 60)
    run_id = _clip(data.summary.get("run_id", ""), 60)
    version = _clip(data.summary.get("graphdetect_version", ""), 30)
    return build_pdf(
        path, lambda st, width, wide, height: story(data, st, width, wide, height),
        title=f"案件 {case_id} 移送材料", subject=f"{run_id} / {case_id}",
        header=_clip(f"医保基金监管 · 案件 {case_id} · 检测运行 {run_id}", 90),
        footer=(f"graphdetect {version} 依检测运行 {run_id} 自动生成；检测结果为线索，"
                "须经调查核实。各文件的 SHA-256 见 manifest.json。"),
        created=data.created, what=f"the report of case {case_id}", version=version)


def _clip(text: object, n: int) -> str:
    """Text for the page header and the PDF's metadata: cut, no control characters."""
    return printable(shorten(text, n))
