"""A CSV file's text: its encoding, decided on the whole file; the byte where its rows
begin; and, for a file that is not all valid UTF-8, its text as UTF-8 for Arrow with the
lines that do not decode noted (:class:`Recoded`).

A file that is valid UTF-8 (nearly every file) costs one validation pass here and is read
by Arrow as it is. Lines are ended by ``\\n``, ``\\r\\n`` or ``\\r``, as Arrow and Python's
``csv`` end them; a blank line is a line (and no record).

A UTF-8 file with a row from a GBK system stays UTF-8; a GBK file is GB18030:

>>> choose(Evidence(lines=100, utf8_wide=60, gb_only=1), bom=False)
'utf-8'
>>> choose(Evidence(lines=100, utf8_wide=3, gb_only=88), bom=False)
'gb18030'
"""

from __future__ import annotations

import codecs
import csv
import io
import mmap
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from ..errors import DataError

#: Bytes read at a time when a file's text is scanned.
SCAN_BYTES = 16 << 20
#: The header row must end within the first this many bytes.
HEADER_BYTES = 1 << 20
#: Bytes decoded at a time by :class:`Recoded`.
RECODE_BYTES = 4 << 20
#: Lines weighed per block of a file that is not all valid UTF-8.
SAMPLE_LINES = 1024
#: Lines that tell UTF-8 from GB18030 a sample must hold to be weighed alone.
ENOUGH = 64
ENCODINGS = ("utf-8", "gb18030")
#: Replace one undecodable byte and decode on from the next (see :func:`_one_byte`).
REPLACE = "graphdetect.replace"

_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # never in text
_WIDE = re.compile(rb"[\xe0-\xf4]")  # lead byte of a 3- or 4-byte UTF-8 character (CJK)


def _one_byte(err: UnicodeError) -> tuple[str, int]:
    """An error handler: U+FFFD for the first undecodable byte, then decode on from the next.

    GB18030's own ``replace`` may take a line break into a broken four-byte character
    (``b"\\x81\\x30\\n"``), joining two lines; this never does.
    """
    if not isinstance(err, UnicodeDecodeError):
        raise err
    return "\ufffd", err.start + 1


codecs.register_error(REPLACE, _one_byte)


def blocks(path: Path, size: int = SCAN_BYTES) -> Iterator[bytes]:
    """The file's bytes in blocks that end with a ``\\n`` (the last one where the file ends)."""
    with open(path, "rb") as f:
        rest = b""
        while chunk := f.read(size):
            block = rest + chunk
            cut = block.rfind(b"\n") + 1
            rest = block[cut:]
            if cut:
                yield block[:cut]
        if rest:
            yield rest


def _valid_utf8(block: bytes | pa.Buffer) -> bool:
    """Whether ``block`` is valid UTF-8 (Arrow's validation: many times Python's speed)."""
    data = block if isinstance(block, pa.Buffer) else pa.py_buffer(block)
    offsets = pa.py_buffer(np.array([0, data.size], np.int64))
    text = pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, data])
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


@dataclass
class Evidence:
    """What a sample of a file's lines says about its encoding.

    ``utf8_wide`` counts lines that are valid UTF-8 and hold a character of three or four
    bytes (Chinese in UTF-8; GBK text seldom forms one by chance), ``gb_only`` lines that
    are GB18030 and not UTF-8; lines valid in both with no such character say nothing.
    ``not_text`` counts, per encoding, the lines that do not decode in it or hold control
    bytes (which no text has).
    """

    lines: int = 0
    utf8_wide: int = 0
    gb_only: int = 0
    not_text: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ENCODINGS, 0))


def gather(path: Path) -> Evidence:
    """Weigh an even sample of the file's lines (:data:`SAMPLE_LINES` for every
    :data:`SCAN_BYTES`), so that the whole file speaks at a cost that does not grow with
    its rows; where the sample holds too few lines that tell (:data:`ENOUGH`, as when
    text other than ASCII is rare), weigh every line."""
    ev = _weigh(_sample(path))
    return ev if ev.utf8_wide + ev.gb_only >= ENOUGH else _weigh(
        line for block in blocks(path) for line in block.splitlines())


def _weigh(lines: Iterator[bytes]) -> Evidence:
    ev = Evidence()
    for line in lines:
        if not line:
            continue
        ev.lines += 1
        control = _CONTROL.search(line) is not None
        u = line.isascii() or _decodes(line, "utf-8")
        g = line.isascii() or _decodes(line, "gb18030")
        ev.utf8_wide += u and _WIDE.search(line) is not None
        ev.gb_only += g and not u
        ev.not_text["utf-8"] += control or not u
        ev.not_text["gb18030"] += control or not g
    return ev


def _sample(path: Path) -> Iterator[bytes]:
    """Lines of the file, evenly spread, each once: found around evenly spread bytes of
    the mapped file, not split from it (a file of lines ended by ``\\r`` alone is split)."""
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        size = len(data)
        if data.find(b"\n") < 0:
            lines = data[:].splitlines()
            yield from lines[::max(1, len(lines) // SAMPLE_LINES)]
            return
        n = SAMPLE_LINES * (1 + size // SCAN_BYTES)
        done = -1
        for at in range(0, size, max(1, size // n)):
            start = data.rfind(b"\n", 0, at) + 1
            if start > done:
                done = start
                end = data.find(b"\n", start)
                yield data[start:size if end < 0 else end].rstrip(b"\r")


def choose(ev: Evidence, bom: bool) -> str:
    """The encoding the evidence speaks for: UTF-8 unless more lines are GB18030 only than
    are UTF-8 with Chinese-width characters (a BOM says UTF-8 outright).

    Raises
    ------
    ValueError
        When more than half the lines are not text in it.
    """
    encoding = "gb18030" if not bom and ev.gb_only > ev.utf8_wide else "utf-8"
    if 2 * ev.not_text[encoding] > ev.lines:
        raise ValueError("not text")
    return encoding


def count_lines(block: bytes) -> int:
    """The lines in ``block`` (a last one unended counts)."""
    if b"\r" in block:
        return len(block.splitlines())
    return block.count(b"\n") + (not block.endswith(b"\n"))


def decide_encoding(path: Path, name: str) -> tuple[str, bool]:
    """The file's encoding (``utf-8`` or ``gb18030``), and whether the file is all valid
    UTF-8 (so Arrow reads it as it is; any other file is read through :class:`Recoded`).

    A file that is all valid UTF-8 is UTF-8, after one fast pass; any other file is
    weighed on a sample of lines from all through it (:func:`gather`, :func:`choose`).

    Raises
    ------
    DataError
        When the file is not text in either encoding.
    """
    if path.stat().st_size == 0:
        return "utf-8", True
    with pa.memory_map(str(path)) as mapped:  # the file as it is, not copied
        data = mapped.read_buffer()
        if _valid_utf8(data):
            return "utf-8", True
        bom = data[:3].to_pybytes() == codecs.BOM_UTF8
    try:
        return choose(gather(path), bom), False
    except ValueError:
        raise DataError(name, "data.unknown_encoding") from None


def read_header(path: Path, encoding: str, name: str) -> tuple[list[str], int]:
    """The header record's cells (as ``csv`` reads them: a quoted name may hold a line
    break) and the byte where the rows begin.

    Raises
    ------
    DataError
        When the header does not decode or does not end within :data:`HEADER_BYTES`.
    """
    with open(path, "rb") as f:
        head = f.read(HEADER_BYTES)
        more = bool(f.read(1))
    lines = head.splitlines(keepends=True)
    if more and lines and not lines[-1].endswith((b"\n", b"\r")):
        lines.pop()  # cut short by the read
    used = 0

    def feed() -> Iterator[str]:
        nonlocal used
        for line in lines:
            used += len(line)
            yield line.decode(encoding)

    try:
        row = next(csv.reader(feed()), None)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataError(name, "data.bad_header", detail=str(exc)) from None
    if more and used == sum(map(len, lines)):
        raise DataError(name, "data.bad_header",
                        detail=f"it does not end within the first {HEADER_BYTES:,} bytes")
    return row or [], used


class Recoded(io.RawIOBase):
    """A file's bytes from ``offset`` (a line's start) to ``end`` (default: the file's
    end), decoded from ``encoding`` and given as UTF-8; each undecodable byte becomes
    U+FFFD, so a damaged row reaches Arrow as text, and its line is added to ``bad_lines``
    (1-based file lines) as it is read.

    The file is decoded a block of whole lines at a time: once, as Arrow's own transcoding
    would, and line by line only in a block that does not decode whole.
    """

    def __init__(self, path: Path, encoding: str, offset: int, end: int | None = None,
                 bad_lines: list[int] | None = None):
        super().__init__()
        self._raw = open(path, "rb")  # noqa: SIM115 - closed with this stream
        self._line = count_lines(self._raw.read(offset))  # the lines before ``offset``
        self._left = path.stat().st_size - offset if end is None else end - offset
        self._encoding = encoding
        self._rest = b""
        self._out = bytearray()
        self._eof = False
        self.bad_lines: list[int] = [] if bad_lines is None else bad_lines

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while not self._eof and (size < 0 or len(self._out) < size):
            self._fill()
        size = len(self._out) if size < 0 else size
        out = bytes(self._out[:size])
        del self._out[:size]
        return out

    def _fill(self) -> None:
        chunk = self._raw.read(min(RECODE_BYTES, self._left))
        self._left -= len(chunk)
        self._eof = not chunk
        block = self._rest + chunk
        cut = len(block) if self._eof else block.rfind(b"\n") + 1
        block, self._rest = block[:cut], block[cut:]
        try:
            text = block.decode(self._encoding)
        except UnicodeDecodeError:
            text = block.decode(self._encoding, REPLACE)
            self.bad_lines += [self._line + i for i, line in enumerate(block.splitlines(), 1)
                               if not _decodes(line, self._encoding)]
        self._line += count_lines(block)
        self._out += text.encode("utf-8")

    def close(self) -> None:
        self._raw.close()
        super().close()
