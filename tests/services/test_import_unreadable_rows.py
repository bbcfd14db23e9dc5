"""A CSV row that cannot be read as written is reported alone; the rows around it are kept.

Runs the Python path on SQLite and the COPY fast path on PostgreSQL (issue #4, bad input:
"each is reported precisely and nothing good is lost").
"""

from __future__ import annotations

import io

import pytest

from saas.services.errors import InvalidInput
from saas.services.import_parsing import UnreadableRow, detect_encoding, open_table, sniff
from tests.services.test_imports import names, report, run


def read(data: bytes) -> tuple[str | None, list[tuple[int, list[str]]]]:
    file_format, encoding = sniff(io.BytesIO(data), "c.csv")
    table = open_table(io.BytesIO(data), file_format, encoding)
    return encoding, list(table.rows)


def test_a_stray_byte_in_a_utf8_file_spoils_its_own_row_only(world):
    _t, actor = world
    job = run(actor, b"name,notes\nAnn,ok\nBob,bad \xff byte\nCat,ok\n")
    assert job.encoding == "utf-8"
    assert names() == ["Ann", "Cat"]
    assert report(job) == [["3", "", "", "This row is not valid UTF-8 text (byte 0xff at "
                                         "position 9); save the file in one encoding."]]


def test_a_utf8_row_pasted_into_a_gbk_file_is_reported_not_garbled(world):
    _t, actor = world
    data = ("name\n张伟\n".encode("gbk") + "李娜\n".encode()
            + "王芳\n".encode("gbk"))
    job = run(actor, data)
    assert job.encoding == "gb18030"
    assert names() == sorted(["张伟", "王芳"])
    [row] = report(job)
    assert row[0] == "3" and "UTF-8 text in a file read as GBK" in row[3]


def test_an_unclosed_quote_does_not_swallow_the_rows_after_it(world):
    _t, actor = world
    job = run(actor, b'name,notes\nAnn,"never closed\nBob,fine\nCat,ok\n')
    assert names() == ["Bob", "Cat"]
    [row] = report(job)
    assert row[0] == "2" and row[2] == 'Ann,"never closed\n'
    assert "never closed" in row[3]


def test_a_cell_with_text_after_its_closing_quote_is_reported(world):
    _t, actor = world
    job = run(actor, b'name,notes\nAnn,"x"y\nBob,fine\n')
    assert names() == ["Bob"]
    [row] = report(job)
    assert row[0] == "2" and "cannot be read" in row[3]


def test_quoted_newlines_and_cr_only_line_ends_still_read():
    assert read(b'name,notes\r"Ann","a\nb"\rBob,c\r')[1] == [
        (2, ["Ann", "a\nb"]), (3, ["Bob", "c"])]


def test_a_header_that_cannot_be_read_is_refused_naming_row_one():
    with pytest.raises(InvalidInput) as caught:
        read(b'name,"notes\nAnn,x\n')
    assert "Row 1" in str(caught.value.errors["file"][0])


def test_rows_numbers_stay_spreadsheet_rows_after_a_recovered_quote():
    _encoding, rows = read(b'name,notes\nAnn,"open\nBob,x\n\nCat,y\n')
    assert isinstance(rows[0][1], UnreadableRow)
    assert [(n, c) for n, c in rows[1:]] == [(3, ["Bob", "x"]), (5, ["Cat", "y"])]


@pytest.mark.parametrize(("sample", "encoding"), [
    ("name\n张伟\n".encode("gbk") * 3 + "李娜\n".encode(), "gb18030"),
    ("name\n张伟\n".encode() * 3 + b"x\xff\n", "utf-8"),
    ("name\n张伟\n".encode("utf-8-sig"), "utf-8-sig"),
    ("name\n张伟\n".encode("utf-16"), "utf-16"),
])
def test_the_encoding_follows_most_lines_not_one_odd_line(sample, encoding):
    assert detect_encoding(sample) == encoding


def test_a_file_mostly_in_another_encoding_is_refused_up_front():
    sample = "name\nMüller\nCafé\nCrème\n".encode("cp1252")
    with pytest.raises(InvalidInput):
        detect_encoding(sample)
