"""Customer export: a cell a spreadsheet would evaluate (starting with = + - @ tab or CR)
is written as text, in CSV and in XLSX; the same characters inside a cell are left alone."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from saas.extensions import db
from saas.services import custom_fields, exports
from saas.services import customers as customer_service

DANGEROUS = ["=1+1", "+1 for them", "-2+3", "@SUM(A1)"]


@pytest.fixture
def world(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        custom_fields.create_definition(db.session, actor, "memo", "Memo", "text")
        yield actor
        db.session.rollback()
        db.session.remove()


def _export(actor, fmt: str) -> list[list[str]]:
    header, body = exports.rows(db.session, {"sort": "name"}, actor)
    if fmt == "csv":
        text = "".join(exports.csv_stream(header, body)).lstrip("\ufeff")
        return list(csv.reader(io.StringIO(text)))
    data = b"".join(exports.xlsx_stream(header, body))
    sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True).active
    return [["" if v is None else str(v) for v in row]
            for row in sheet.iter_rows(values_only=True)]


@pytest.mark.parametrize("fmt", exports.FORMATS)
def test_every_formula_start_is_neutralised_in_csv_and_xlsx(world, fmt):
    for value in DANGEROUS:
        customer_service.create_customer(db.session, world, {
            "name": value, "notes": value,
            "tags": [value], "custom_fields": {"memo": value}})
    db.session.commit()
    rows = _export(world, fmt)
    header, body = rows[0], rows[1:]
    assert len(body) == len(DANGEROUS)
    for column in ("name", "notes", "tags", "cf.memo"):
        cells = sorted(row[header.index(column)] for row in body)
        assert cells == sorted("'" + v for v in DANGEROUS), column
    assert all(not cell.startswith(tuple(exports.FORMULA_STARTS))
               for row in body for cell in row)
    # Tab and CR cannot survive the customer service's trimming; the export guards
    # them all the same (an import or a later writer may not trim).
    assert exports.neutralise("\t=1") == "'\t=1"
    assert exports.neutralise("\r=1") == "'\r=1"


@pytest.mark.parametrize("fmt", exports.FORMATS)
def test_a_formula_character_inside_a_cell_is_left_alone(world, fmt):
    customer_service.create_customer(db.session, world, {
        "name": "Ann = Bo", "notes": "a-b +c @d", "phones": ["13800138000"]})
    db.session.commit()
    header, row = _export(world, fmt)
    assert row[header.index("name")] == "Ann = Bo"
    assert row[header.index("notes")] == "a-b +c @d"
    assert row[header.index("phones")] == "'+8613800138000", "E.164 starts with +"
