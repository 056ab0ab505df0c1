"""One policy for every cell graphdetect writes to a CSV file, and for text it shows.

Spreadsheets (Excel, WPS, LibreOffice) run a cell that begins with ``=``, ``+``, ``-``
or ``@`` as a formula, and tab or carriage return can hide one (OWASP, *CSV Injection*).
Claims data is written by other people, so every CSV cell goes through
:func:`safe_cell`:

- a text cell that begins with one of ``= + - @``, a tab or a carriage return gets a
  leading apostrophe (``'=1+2``), which a spreadsheet shows as text; so does a cell that
  already begins with an apostrophe, so that the rule can be undone exactly;
- a plain number (``-12.50``, ``+86``, ``1e5``) is left alone: it is not a formula;
- bidirectional controls (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C) are
  removed, so that ``\\u202egpj.exe`` cannot pass for ``exe.jpg``.

A machine reader undoes the first rule with :func:`read_cell`. Bidirectional controls
are gone for good: no real identifier holds one, and the source file (whose SHA-256 the
run records) keeps the bytes as they came.

For pages and PDFs, :func:`plain` removes the same controls and shows other control
characters as U+FFFD, and :func:`shorten` cuts long values for display.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = ["safe_cell", "read_cell", "csv_bytes", "write_csv", "plain", "shorten", "BIDI"]

#: Bidirectional embedding, override and isolate controls, and the implicit marks.
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
_BIDI = re.compile(f"[{BIDI}]")
_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_FIRST = frozenset(("'", *_TRIGGERS))     # first characters that may call for an apostrophe
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def safe_cell(value):
    """A value as it may go into a CSV cell: formulas neutralised, bidi controls removed.

    Non-text values (numbers, None) pass unchanged.

    Examples
    --------
    >>> safe_cell('=HYPERLINK("http://evil")')
    '\\'=HYPERLINK("http://evil")'
    >>> safe_cell("-12.50"), safe_cell(-3), safe_cell("P-12")
    ('-12.50', -3, 'P-12')
    >>> safe_cell("\\u202egpj.exe")
    'gpj.exe'
    """
    if not isinstance(value, str) or not value:
        return value
    if not value.isascii():     # only non-ASCII text can hold a bidi control
        value = _BIDI.sub("", value)
    if value[:1] in _FIRST and (value[0] == "'" or not _NUMBER.fullmatch(value)):
        return "'" + value
    return value


def read_cell(text: str) -> str:
    """Undo :func:`safe_cell`'s apostrophe: the value as the source held it.

    >>> read_cell("'=1+2"), read_cell("''quoted"), read_cell("it's")
    ('=1+2', "'quoted", "it's")
    """
    if text.startswith("'") and text[1:2] in ("'", *_TRIGGERS):
        return text[1:]
    return text


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence], *, bom: bool = True) -> bytes:
    """A whole CSV file (UTF-8, with a BOM by default so that Excel reads Chinese) whose
    every cell went through :func:`safe_cell`."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([safe_cell(h) for h in header])
    w.writerows(map(safe_cell, row) for row in rows)
    return buf.getvalue().encode("utf-8-sig" if bom else "utf-8")


def write_csv(path: str | Path, header: Sequence[str], rows: Iterable[Sequence], *,
              bom: bool = False) -> Path:
    """Write :func:`csv_bytes` to ``path``."""
    path = Path(path)
    path.write_bytes(csv_bytes(header, rows, bom=bom))
    return path


def plain(text) -> str:
    """Text safe to show: bidi controls removed, other control characters (but newline
    and tab) shown as U+FFFD.

    >>> plain("\\u202egpj.exe\\x07")
    'gpj.exe\\ufffd'
    """
    text = "" if text is None else str(text)
    return _CONTROL.sub("\ufffd", _BIDI.sub("", text))


def shorten(text, limit: int = 200) -> str:
    """:func:`plain` text cut to ``limit`` characters, with ``…`` when it was cut.

    >>> shorten("x" * 300, 10)
    'xxxxxxxxx…'
    """
    text = plain(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
