"""The building blocks of the report's pages: paragraphs and tables of user text.

Every value from the data goes through :func:`graphdetect.cells.shorten` on its way in:
control and bidirectional-override characters go, and a value longer than its place
allows is cut with "…" (``CELL`` characters in a table cell, ``WIDE`` in a wide cell,
``TEXT`` in a paragraph), so that no value, however long, can stall the layout.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.units import cm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import CondPageBreak, Image, KeepTogether, Paragraph, Table, TableStyle

from ..cells import shorten
from ._common import printable
from ._fonts import reportlab_fonts

__all__ = ["CELL", "WIDE", "TEXT", "P", "money", "fit", "table", "image", "together", "kv",
           "beijing"]

_ROWS_KEPT = 40
_ROOM = 5 * cm
_TZ = ZoneInfo("Asia/Shanghai")
_GRID = colors.HexColor("#999999")
_HEAD = colors.HexColor("#e8e8e8")
#: The most characters of one value shown in a table cell, in a wide cell (a key-value
#: table's value, a note's reason), and in a paragraph (explanations, note bodies).
CELL = 80
WIDE = 300
TEXT = 2000


def P(text: object, style, limit: int = TEXT) -> Paragraph:  # noqa: N802 - reads like a tag
    """A paragraph of user text: cut to ``limit`` characters, controls removed, escaped
    for reportlab's markup.

    >>> from reportlab.lib.styles import ParagraphStyle
    >>> P("\u202egpj.exe " + "x" * 100, ParagraphStyle("s"), 12).text
    'gpj.exe xxx…'
    """
    text = printable(shorten(text, limit))
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def beijing(at: str) -> str:
    """A stored UTC time as Beijing time to the minute (the text as it is when unreadable).

    >>> beijing("2024-03-01T16:30:00+00:00"), beijing("soon")
    ('2024-03-02 00:30', 'soon')
    """
    try:
        return datetime.fromisoformat(at).astimezone(_TZ).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return str(at)


def money(x: float) -> str:
    return f"{x:,.2f}"


def fit(text: object, width: float, size: float) -> str:
    """Cut plain table text to a column's width (ids may be any length)."""
    sans, _ = reportlab_fonts()
    s = printable(shorten(text, CELL))
    if stringWidth(s, sans, size) <= width:
        return s
    while s and stringWidth(s + "…", sans, size) > width:
        s = s[:-1]
    return s + "…"


def table(header: list[str], rows: list[list], widths: list[float], *, size: float = 7.8,
          right: tuple[int, ...] = (), spans: frozenset[int] = frozenset()) -> list:
    """One table whose header row heads every page it runs over, and appears nowhere else
    (reportlab's ``repeatRows``: a table split in chunks would head each chunk, mid-page).

    A row whose index is in ``spans`` is one cell across the whole table, kept on the
    page of the row before it. Returned as a list, the shape :func:`together` takes.
    """
    sans, _ = reportlab_fonts()
    t = Table([header, *rows], colWidths=widths, repeatRows=1)
    cmds = [("FONT", (0, 0), (-1, -1), sans, size), ("GRID", (0, 0), (-1, -1), 0.3, _GRID),
            ("BACKGROUND", (0, 0), (-1, 0), _HEAD), ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3)]
    cmds += [("ALIGN", (c, 1), (c, -1), "RIGHT") for c in right]
    for i in sorted(spans):
        cmds += [("SPAN", (0, i + 1), (-1, i + 1)), ("NOSPLIT", (0, max(i, 1)), (-1, i + 1))]
    t.setStyle(TableStyle(cmds))
    return [t]


def image(path: Path, width: float, max_height: float) -> Image:
    from PIL import Image as PILImage

    with PILImage.open(path) as im:
        w, h = im.size
    scale = min(width / w, max_height / h)
    return Image(str(path), width=w * scale, height=h * scale)


def kv(rows, st, width, *, key_width: float = 3.2 * cm) -> Table:
    t = Table([[P(k, st["cell"], CELL), P(v, st["cell"], WIDE)] for k, v in rows],
              colWidths=[key_width, width - key_width])
    t.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), reportlab_fonts()[0], 7.8),
                           ("GRID", (0, 0), (-1, -1), 0.3, _GRID),
                           ("BACKGROUND", (0, 0), (0, -1), _HEAD),
                           ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return t


def together(heading, tables: list) -> list:
    """Headings kept with their table: a short table (40 rows or fewer) whole on one page
    with them, a longer one starting on a page with room for its first rows."""
    heading = heading if isinstance(heading, list) else [heading]
    if getattr(tables[0], "_nrows", 0) <= _ROWS_KEPT + 1:  # rows and the header
        return [KeepTogether([*heading, tables[0]]), *tables[1:]]
    return [CondPageBreak(_ROOM), *heading, *tables]
