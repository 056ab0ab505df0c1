"""The CJK font of the report and figures: found once, embedded in every PDF.

The setup installs Debian's ``fonts-wqy-microhei`` (TrueType outlines, which reportlab can
embed); ``$GRAPHDETECT_CJK_FONT`` may name another TrueType ``.ttf``/``.ttc`` file.
OpenType/CFF fonts such as Noto Sans CJK cannot be embedded by reportlab and are refused.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from ._common import ExportError

#: Registered reportlab font names: proportional text and monospaced ids and hashes.
SANS = "GD-CJK"
MONO = "GD-CJK-Mono"
FONT_ENV = "GRAPHDETECT_CJK_FONT"
CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
)
INSTALL_HINT = ("install a CJK TrueType font: apt-get install -y fonts-wqy-microhei "
                f"(or set {FONT_ENV} to a TrueType .ttf/.ttc file)")


def font_path() -> Path:
    """The CJK font file to use; ``ExportError`` naming the install step when none is found.

    Examples
    --------
    >>> font_path().suffix in (".ttc", ".ttf")
    True
    """
    wanted = os.environ.get(FONT_ENV)
    for candidate in ([wanted] if wanted else []) + list(CANDIDATES):
        p = Path(candidate)
        if p.is_file():
            return p
    if wanted:
        raise ExportError(f"{wanted}: no such font file ({FONT_ENV}); {INSTALL_HINT}")
    raise ExportError(f"no CJK font found for the report; {INSTALL_HINT}")


@cache
def reportlab_fonts() -> tuple[str, str]:
    """Register the font with reportlab (once); return the (sans, mono) font names."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    path = font_path()
    try:
        pdfmetrics.registerFont(TTFont(SANS, str(path), subfontIndex=0))
    except TTFError as exc:
        raise ExportError(f"{path}: cannot embed this font ({exc}); {INSTALL_HINT}") from None
    try:  # WenQuanYi's collection carries a monospaced face second
        pdfmetrics.registerFont(TTFont(MONO, str(path), subfontIndex=1))
    except (TTFError, IndexError, KeyError):
        pdfmetrics.registerFont(TTFont(MONO, str(path), subfontIndex=0))
    return SANS, MONO


@cache
def matplotlib_family() -> str:
    """Add the font to matplotlib's font manager (once); return its family name."""
    from matplotlib import font_manager

    path = font_path()
    font_manager.fontManager.addfont(str(path))
    names = {f.name for f in font_manager.fontManager.ttflist if f.fname == str(path)}
    return sorted(names, key=lambda n: ("Mono" in n, n))[0]
