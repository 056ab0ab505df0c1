"""A CSV file's records: where each starts in the file, and the rows Arrow parses from them.

Arrow splits the rows (fast) but numbers them by record, not by line, and reads a quote
that is never closed to the end of the file without a word. Python's ``csv`` splits
records by the same rules; it is run over a file only when a line must be found (a row
rejected in a file with quotes or blank lines, a line that does not decode, a last record
that holds a line break), so a plain file is read once, by Arrow.

>>> physical(np.array([2, 3]), np.array([0, 1, 2, 3])).tolist()
[0, 1, 4, 5]
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from ..errors import DataError
from ._csv import REPLACE, SCAN_BYTES, Recoded, blocks, count_lines

if TYPE_CHECKING:
    from ._read import Source

#: The reasons of rows rejected here (``graphdetect.messages.REASONS``).
UNDECODABLE = "undecodable text"
UNCLOSED = "unclosed quote"

_BREAK = re.compile(r"\r\n|\r|\n")
_SENTINEL = "\x00graphdetect: end of file\x00"


def plain(path: Path) -> bool:
    """Whether the file's records are its lines from the second on: no quote (so no line
    break inside a field) and no blank line (two line-end bytes in a row other than
    ``\r\n``)."""
    if path.stat().st_size == 0:
        return True
    with pa.memory_map(str(path)) as mapped:
        data = np.frombuffer(mapped.read_buffer(), np.uint8)
        for at in range(0, len(data), SCAN_BYTES):
            part = data[at:at + SCAN_BYTES + 1]  # a byte more: a pair across the cut
            if (part == ord('"')).any():
                return False
            ends = np.flatnonzero((part == ord("\n")) | (part == ord("\r")))
            pairs = ends[1:][np.diff(ends) == 1]
            if ((part[pairs - 1] != ord("\r")) | (part[pairs] != ord("\n"))).any():
                return False
    return True


@dataclass
class Records:
    """The records of a CSV file as ``csv`` splits them.

    ``starts`` holds the file line each record starts on (the header's first; None for a
    :func:`plain` file, whose records are its lines), ``last_line`` the file's number of
    lines; ``unclosed`` is set when the last record ends inside a quote: ``{"line": where
    the quote opened, "lines": lines after it}``, with ``column`` (the field's index),
    ``value`` (the field up to its first line break) and ``text`` (the record up to the
    end of the quote's line).
    """

    starts: np.ndarray | None
    last_line: int
    unclosed: dict | None = None
    column: int = 0
    value: str = ""
    text: str = ""

    def lines(self, records: np.ndarray) -> list[int]:
        """The file line each data record (numbered from 0, the header not counted) starts on."""
        if self.starts is None or len(self.starts) < 2:
            return (records + 2).tolist()
        return self.starts[1:][np.minimum(records, len(self.starts) - 2)].tolist()


def records(path: Path, encoding: str) -> Records:
    """Split the whole file into records with Python's ``csv`` (whose rules on quotes and
    line breaks are Arrow's), noting the line each starts on; blank lines hold none."""
    if csv.field_size_limit() < 1 << 30:
        csv.field_size_limit(1 << 30)  # an unclosed quote makes one long field
    starts: list[int] = []
    lines: list[str] = []
    tail: list[str] = []
    last: list[str] = []
    with open(path, "rb") as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, errors=REPLACE, newline="")

        def feed() -> Iterator[str]:
            for line in text:
                lines.append(line)
                yield line

        reader = csv.reader(feed())
        before = 0
        for rec in reader:
            if rec:
                starts.append(before + 1)
                tail, last = lines, rec
            lines = []
            before = reader.line_num
    out = Records(np.array(starts, np.int64), before)
    if last and _unclosed("".join(tail)):
        field_text = last[-1]
        inner = len(_BREAK.findall(re.sub(r"(\r\n|\r|\n)\Z", "", field_text)))
        opened = before - inner
        out.unclosed = {"line": opened, "lines": before - opened}
        out.column = len(last) - 1
        out.value = _BREAK.split(field_text, maxsplit=1)[0]
        out.text = "".join(tail[:opened - int(out.starts[-1]) + 1]).rstrip("\r\n")
    return out


def _unclosed(record: str) -> bool:
    """Whether ``record`` (the file's last) ends inside a quote: a line after it would
    then be read into its last field."""
    probe = csv.reader(io.StringIO(f"{record}\n{_SENTINEL}\n", newline=""))
    return sum(1 for r in probe if r) == 1


def bad_records(rec: Records, bad_lines: list[int]) -> np.ndarray:
    """The data records (0-based) that hold a line that does not decode."""
    at = np.searchsorted(rec.starts, np.asarray(bad_lines, np.int64), side="right") - 2
    return np.unique(at[at >= 0])


def physical(skipped: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """The record numbers (counting every record) of rows numbered among those kept."""
    if not len(skipped):
        return kept
    return kept + np.searchsorted(skipped - np.arange(len(skipped)), kept, side="right")


def csv_rows(src: Source) -> Iterator[pa.RecordBatch]:
    """A CSV file's rows as Arrow parses them from ``src.offset`` on (the header is read).

    A file that is all valid UTF-8 goes to Arrow as it is; any other file goes through
    :class:`~graphdetect.io._csv.Recoded`, and the rows on lines it could not decode are
    taken out. Rows taken out, rows Arrow cannot split and a last row inside an unclosed
    quote go to ``src.malformed``. The last batch is held back until the file's end is
    known.
    """
    if src.offset >= src.path.stat().st_size:
        return  # a header and no row, with or without a final line break
    invalid: list[int] = []  # records Arrow could not split
    names = src.raw_names[:len(src.header)]
    kept, held = 0, None
    try:
        for raw in _parsed(src, invalid):
            raw = pa.RecordBatch.from_arrays(raw.columns, names=names)
            rows = raw.num_rows
            if src.bad_lines:  # Arrow has read (and Recoded decoded) this batch's lines
                raw = _drop_undecodable(src, raw, physical(
                    np.unique(invalid), np.arange(kept, kept + rows)), _bad_records(src))
            kept += rows
            if held is not None:
                yield held
            held = raw
    except UnicodeDecodeError as exc:
        raise DataError(src.name, "data.cannot_decode", encoding=src.encoding,
                        detail=exc.reason) from None
    except pa.ArrowInvalid as exc:
        msg = str(exc).splitlines()[0]
        if "utf8" in msg.lower():
            raise DataError(src.name, "data.invalid_text", encoding=src.encoding,
                            detail=msg) from None
        raise DataError(src.name, "data.not_a_table", detail=msg) from None
    if src.bad_lines:
        _undecodable_invalid(src, set(invalid), _bad_records(src))
    if src.unclosed is None:
        held = _unclosed_quote(src, held, kept + len(set(invalid)) - 1)
    if held is not None:
        yield held


def _parsed(src: Source, invalid: list[int]) -> Iterator[pa.RecordBatch]:
    """Arrow's batches of the file's rows.

    Arrow stops at a record longer than two of its blocks; when that record is the last,
    inside a quote never closed, the rows from the last one read up to that record are
    read again on their own, and the record is rejected.
    """
    kept = 0
    try:
        with _stream(src, src.offset) as stream:
            for raw in _open_csv(src, stream, 0, invalid):
                kept += raw.num_rows
                yield raw
    except pa.ArrowInvalid as exc:
        if "straddl" not in str(exc) and "out of sync" not in str(exc):
            raise
        if src.records is None:
            src.records = records(src.path, src.encoding)
        rec = src.records
        if rec.unclosed is None:
            raise
        first = int(physical(np.unique(invalid), np.array([kept - 1]))[0]) + 1 if kept else 0
        last = len(rec.starts) - 2
        invalid[:] = [r for r in invalid if r < first]
        src.malformed[:] = [m for m in src.malformed if m[0] < first]
        if first < last:
            begin, end = line_offsets(src.path, [int(rec.starts[first + 1]),
                                                 int(rec.starts[-1])])
            with _stream(src, begin, end) as stream:
                yield from _open_csv(src, stream, first, invalid)
        _reject_unclosed(src, last)


def _stream(src: Source, begin: int, end: int | None = None):
    """The file's bytes from ``begin`` to ``end`` (default: its end), for Arrow: as they are
    when the file is valid UTF-8 and read to its end, else through ``Recoded``."""
    if src.recode or end is not None:
        return Recoded(src.path, src.encoding, begin, end, src.bad_lines)
    stream = pa.OSFile(str(src.path))
    stream.seek(begin)
    return stream


def line_offsets(path: Path, lines: list[int]) -> list[int]:
    """The byte each of these 1-based file lines begins at (the file's size past its end)."""
    found: dict[int, int] = {}
    wanted = sorted(set(lines))
    line = 1
    at = 0
    for block in blocks(path):
        n = count_lines(block)
        while wanted and wanted[0] < line + n:
            target = wanted.pop(0)
            found[target] = at + sum(map(len, block.splitlines(keepends=True)[:target - line]))
        at += len(block)
        line += n
    return [found.get(x, at) for x in lines]


def _open_csv(src: Source, stream, first: int, invalid: list[int]
              ) -> pacsv.CSVStreamingReader:
    """Arrow's reader of the rows in ``stream`` (UTF-8 unless the file is read as it is),
    every column text, whose first record is the file's record ``first``; the records it
    cannot split are added to ``invalid`` and ``src.malformed``."""

    def on_invalid(row) -> str:
        record = first + row.number - 1
        invalid.append(record)
        src.malformed.append((record, "", "wrong number of fields",
                              f"expected {row.expected_columns} fields, got {row.actual_columns}",
                              row.text or ""))
        return "skip"

    n = len(src.header)
    read = pacsv.ReadOptions(
        use_threads=False, block_size=16 << 20,
        encoding="utf-8" if src.recode else src.encoding,
        column_names=[f"c{i}" for i in range(n)],
    )
    convert = pacsv.ConvertOptions(
        column_types={f"c{i}": pa.string() for i in range(n)},
        strings_can_be_null=False, quoted_strings_can_be_null=False,
    )
    # newlines_in_values: Arrow's blocks then end between records, never inside a quote
    parse = pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid)
    return pacsv.open_csv(stream, read_options=read, convert_options=convert,
                          parse_options=parse)


def _bad_records(src: Source) -> np.ndarray:
    """The records (numbered from 0) on the lines found so far not to decode; the file is
    split into records (``csv``) the first time."""
    if src.records is None:
        src.records = records(src.path, src.encoding)
    return bad_records(src.records, list(src.bad_lines))


def _drop_undecodable(src: Source, raw: pa.RecordBatch, numbers: np.ndarray,
                      bad: np.ndarray) -> pa.RecordBatch:
    """``raw`` (its rows' record numbers ``numbers``) without the rows on lines that do not
    decode; each becomes a reject naming the first field with a replaced byte."""
    hit = np.isin(numbers, bad)
    if not hit.any():
        return raw
    for i in np.flatnonzero(hit):
        row = raw.slice(int(i), 1).to_pylist()[0]
        column = next((k for k, v in row.items() if "\ufffd" in (v or "")), "")
        src.malformed.append((int(numbers[i]), column, UNDECODABLE, row.get(column, ""),
                              json.dumps(row, ensure_ascii=False)))
    return raw.filter(pa.array(~hit))


def _undecodable_invalid(src: Source, invalid: set[int], bad: np.ndarray) -> None:
    """Rows Arrow could not split that are also on lines that do not decode: both reasons."""
    both = invalid.intersection(bad.tolist())
    src.malformed += [(r, "", UNDECODABLE, "", t) for r, _, why, _, t in list(src.malformed)
                      if r in both and why != UNDECODABLE]


def _unclosed_quote(src: Source, held: pa.RecordBatch | None, last: int
                    ) -> pa.RecordBatch | None:
    """Check the file's last record (number ``last``) for a quote never closed: Arrow reads
    the rest of the file into its field. Such a record is rejected (the last row of
    ``held``, the last batch, or a row Arrow could not split) and noted in ``src.unclosed``.
    Only a last record holding a line break is checked (it reads the file once more)."""
    skipped = [m for m in src.malformed if m[0] == last]
    if not skipped and (held is None or not held.num_rows):
        return held  # (an empty last batch: the last row is gone already; never seen)
    if src.records is None:  # a file with undecodable lines was split already
        text = skipped[0][4] if skipped else "".join(
            v or "" for v in held.slice(held.num_rows - 1).to_pylist()[0].values())
        if "\n" not in text and "\r" not in text:
            return held
        src.records = records(src.path, src.encoding)
    rec = src.records
    if rec.unclosed is None or rec.starts is None or len(rec.starts) - 2 != last:
        return held
    _reject_unclosed(src, last)
    return held if skipped else held.slice(0, held.num_rows - 1)


def _reject_unclosed(src: Source, last: int) -> None:
    """Reject the last record (number ``last``), inside a quote never closed, as that."""
    rec = src.records
    src.unclosed = rec.unclosed
    names = src.raw_names[:len(src.header)]
    column = names[rec.column] if rec.column < len(names) else ""
    src.malformed[:] = [m for m in src.malformed if m[0] != last]
    src.malformed.append((last, column, UNCLOSED, rec.value, rec.text))
