"""Reading an uploaded CSV or XLSX file as a header and a stream of rows.

Spreadsheets exported on Chinese Windows are GBK (read as GB18030, its superset); Excel's
"CSV UTF-8" starts with a BOM; everything else is UTF-8. The encoding is decided from a
sample, and rows are streamed, never the whole file decoded at once. Row numbers are
what a spreadsheet shows: the header is row 1, so the first data row is row 2.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO

from saas.services.errors import InvalidInput

SAMPLE_BYTES = 1 << 20
MAX_COLUMNS = 200
MAX_CELL = 100_000
XLSX_MAGIC = b"PK\x03\x04"
_LOOKS_LIKE_DATA = re.compile(r"(^[^@\s]+@[^@\s]+\.[^@\s]+$)|(^\+?[\d\s\-()]{7,}$)")

csv.field_size_limit(MAX_CELL)


@dataclass
class Table:
    header: list[str]
    rows: Iterator[tuple[int, list[str]]]


def detect_format(filename: str, head: bytes) -> str:
    """`xlsx` or `csv`, by content first (a renamed file still reads), then by name."""
    if head.startswith(XLSX_MAGIC):
        return "xlsx"
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raise InvalidInput.field("file", "This is not a valid XLSX file.")
    if filename.lower().endswith(".xls"):
        raise InvalidInput.field("file", "Old .xls files cannot be read; save the sheet as "
                                         "XLSX or CSV.")
    return "csv"


def detect_encoding(sample: bytes) -> str:
    """The encoding a CSV sample is read in: UTF-8 (with or without BOM), UTF-16 with BOM,
    else GB18030. Decided line by line, so one stray byte or one pasted row in the other
    encoding does not turn the whole file into garbage: the odd rows are reported alone
    (see `_text_lines`). A sample that is none of these is refused up front."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in sample:
        raise InvalidInput.field("file", "This does not look like a text CSV file.")
    lines = sample.split(b"\n")
    if len(sample) >= SAMPLE_BYTES and len(lines) > 1:
        lines.pop()  # cut mid-line by the sample
    utf8 = not_utf8 = 0
    for line in lines:
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8 += 1
        except UnicodeDecodeError:
            not_utf8 += 1
    if utf8 > not_utf8 or not not_utf8:
        return "utf-8"
    try:
        codecs.getincrementaldecoder("gb18030")().decode(sample, final=False)
        return "gb18030"
    except UnicodeDecodeError:
        pass
    if not_utf8 == 1 or not_utf8 * 10 <= len(lines):
        return "utf-8"  # a few stray bytes: those rows are reported, the rest is read
    raise InvalidInput.field("file", "The file's text encoding is not UTF-8 or GBK; save it "
                                     "as CSV UTF-8.")


class UnreadableRow(list):
    """A row that could not be read as it was written (bytes not in the file's encoding, a
    quote never closed): no cells, and a message saying why, so it is reported alone and
    the rows around it are kept."""

    def __init__(self, message: str, value: str = "") -> None:
        super().__init__()
        self.message = message
        self.value = value


_LINE_END = re.compile(r"(?<=\r)(?!\n)|(?<=\n)")


def _text_lines(stream: IO[bytes], encoding: str) -> Iterator[tuple[str, str | None]]:
    """Decoded physical lines, each with a problem or None. Lines are decoded one at a
    time, so a byte that is not in the file's encoding spoils its own row only."""
    first = True
    for raw in stream:
        if first and encoding == "utf-8-sig" and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8):]
        first = False
        problem = None
        base = "gb18030" if encoding == "gb18030" else "utf-8"
        try:
            text = raw.decode(base)
        except UnicodeDecodeError as exc:
            text = raw.decode(base, errors="replace")
            name = "GBK" if base == "gb18030" else "UTF-8"
            problem = (f"This row is not valid {name} text (byte 0x{raw[exc.start]:02x} at "
                       f"position {exc.start + 1}); save the file in one encoding.")
        else:
            if base == "gb18030" and not raw.isascii():
                try:
                    raw.decode("utf-8")
                    problem = ("This row is UTF-8 text in a file read as GBK; save the file "
                               "in one encoding.")
                except UnicodeDecodeError:
                    pass
        for piece in _LINE_END.split(text):
            if piece:
                yield piece, problem


class _Feed:
    """Lines for `csv.reader`, remembering those of the record being read so that a
    record spoilt by an unclosed quote can be read again from its second line."""

    def __init__(self, lines: Iterator[tuple[str, str | None]]) -> None:
        self.lines = lines
        self.again: list[tuple[str, str | None]] = []
        self.taken: list[tuple[str, str | None]] = []

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        line = self.again.pop(0) if self.again else next(self.lines)
        self.taken.append(line)
        return line[0]


_UNCLOSED = ("unexpected end of data", "field larger than field limit")


def _csv_rows(stream: IO[bytes], encoding: str) -> Iterator[list[str]]:
    if encoding == "utf-16":
        yield from _utf16_rows(stream)
        return
    feed = _Feed(_text_lines(stream, encoding))
    number = 0
    while True:
        reader = csv.reader(feed, strict=True)
        try:
            for row in reader:
                number += 1
                problems = [p for _, p in feed.taken if p]
                feed.taken = []
                yield UnreadableRow(problems[0]) if problems else row
            return
        except csv.Error as exc:
            number += 1
            taken, feed.taken = feed.taken, []
            start = taken[0][0][:60] if taken else ""
            if number == 1 or not str(exc).startswith(_UNCLOSED):
                if number == 1:
                    raise InvalidInput.field("file", f"Row {number} cannot be read: {exc}."
                                             ) from exc
                yield UnreadableRow(f"This row cannot be read: {exc}.", start)
                continue
            yield UnreadableRow("A quote in this row is never closed; the rows after it "
                                "were read on their own.", start)
            feed.again = taken[1:] + feed.again


def _utf16_rows(stream: IO[bytes]) -> Iterator[list[str]]:
    reader = csv.reader(io.TextIOWrapper(stream, encoding="utf-16", newline=""))
    number = 0
    try:
        for number, row in enumerate(reader, start=1):  # noqa: B007
            yield row
    except csv.Error as exc:
        raise InvalidInput.field("file", f"Row {number + 1} cannot be read: {exc}.") from exc
    except UnicodeDecodeError as exc:
        raise InvalidInput.field("file", f"Row {number + 1} is not valid text in the file's "
                                         "encoding; save the file as CSV UTF-8.") from exc


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat() if value.time() != datetime.min.time() \
            else value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _check_header(raw: list[str]) -> list[str]:
    header = [h.strip() for h in raw]
    while header and not header[-1]:
        header.pop()
    if not header:
        raise InvalidInput.field("file", "The file is empty: the first row must name the "
                                         "columns.")
    if len(header) > MAX_COLUMNS:
        raise InvalidInput.field("file", f"Use at most {MAX_COLUMNS} columns.")
    for index, name in enumerate(header, start=1):
        if not name:
            raise InvalidInput.field("file", f"Column {index} has no name in the header "
                                             "row.")
        if _LOOKS_LIKE_DATA.match(name):
            raise InvalidInput.field("file", f"The first row looks like data ('{name}'), "
                                             "not column names: add a header row.")
    seen = set()
    for name in header:
        if name.lower() in seen:
            raise InvalidInput.field("file", f"Column names must be unique: '{name}' "
                                             "appears twice.")
        seen.add(name.lower())
    return header


def _xlsx_rows(stream: IO[bytes]) -> Iterator[list[str]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InvalidInput.field("file", "This is not a valid XLSX file.") from exc
    try:
        sheet = book.active
        for row in sheet.iter_rows(values_only=True):
            yield [_cell(v) for v in row]
    finally:
        book.close()


def open_table(stream: IO[bytes], file_format: str, encoding: str | None) -> Table:
    """The header (validated) and an iterator of `(row number, cells)` for non-blank rows.

    Cells are stripped strings, padded or cut to the header's width; a row with values
    beyond the last column keeps them (longer than the header), so the caller can report
    that row alone.
    """
    raw = (_xlsx_rows(stream) if file_format == "xlsx"
           else _csv_rows(stream, encoding or "utf-8"))
    try:
        first = next(raw)
    except StopIteration:
        first = []
    if isinstance(first, UnreadableRow):
        raise InvalidInput.field("file", f"Row 1 (the header): {first.message}")
    header = _check_header(first)
    return Table(header, _numbered(raw, len(header)))


def _numbered(raw: Iterator[list[str]], width: int) -> Iterator[tuple[int, list[str]]]:
    for number, cells in enumerate(raw, start=2):
        if isinstance(cells, UnreadableRow):
            yield number, cells
            continue
        cells = [c.strip() for c in cells]
        if not any(cells):
            continue
        if len(cells) > width and any(cells[width:]):
            yield number, cells
            continue
        yield number, (cells + [""] * (width - len(cells)))[:width]


def sniff(stream: IO[bytes], filename: str) -> tuple[str, str | None]:
    """(format, encoding) of an upload, reading a sample and rewinding."""
    head = stream.read(SAMPLE_BYTES)
    stream.seek(0)
    file_format = detect_format(filename, head)
    if file_format == "xlsx":
        return file_format, None
    if not head.strip():
        raise InvalidInput.field("file", "The file is empty: the first row must name the "
                                         "columns.")
    return file_format, detect_encoding(head)
