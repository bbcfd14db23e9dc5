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
    """The encoding a CSV sample decodes cleanly in: UTF-8 (with or without BOM), UTF-16
    with BOM, else GB18030. A sample that is none of these is refused up front."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in sample:
        raise InvalidInput.field("file", "This does not look like a text CSV file.")
    for encoding in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
            return encoding
        except UnicodeDecodeError:
            continue
    raise InvalidInput.field("file", "The file's text encoding is not UTF-8 or GBK; save it "
                                     "as CSV UTF-8.")


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


def _csv_rows(text: IO[str]) -> Iterator[list[str]]:
    reader = csv.reader(text)
    number = 0
    try:
        for number, row in enumerate(reader, start=1):  # noqa: B007
            yield row
    except csv.Error as exc:
        raise InvalidInput.field("file", f"Row {number + 1} cannot be read: {exc}.") from exc
    except UnicodeDecodeError as exc:
        raise InvalidInput.field("file", f"Row {number + 1} is not valid text in the file's "
                                         "encoding; save the file as CSV UTF-8.") from exc


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
    if file_format == "xlsx":
        raw = _xlsx_rows(stream)
    else:
        text = io.TextIOWrapper(stream, encoding=encoding or "utf-8", newline="")
        raw = _csv_rows(text)
    try:
        first = next(raw)
    except StopIteration:
        first = []
    header = _check_header(first)
    return Table(header, _numbered(raw, len(header)))


def _numbered(raw: Iterator[list[str]], width: int) -> Iterator[tuple[int, list[str]]]:
    for number, cells in enumerate(raw, start=2):
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
