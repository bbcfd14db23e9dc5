"""Exporting the customers of a list filter as CSV or XLSX, streamed.

Rows are read in batches (`yield_per`) and written out as they come, so an export of a
million customers never holds them all in memory. Any cell a spreadsheet would run as a
formula (starting with = + - @, a tab or a carriage return) gets a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from saas.models.customers import Customer
from saas.services import custom_fields, customer_list, field_access, row_scope
from saas.services.context import Actor
from saas.tenancy import bind_tenant, current_tenant_id

FORMATS = ("csv", "xlsx")
COLUMNS = ("id", "name", "kind", "phones", "emails", "wechat_id", "address", "industry",
           "company_size", "purchasing_power", "category", "department", "tags", "birthday",
           "source_channel", "lifecycle_stage", "external_id", "notes", "created_at")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def neutralise(value: str) -> str:
    """Text a spreadsheet shows as typed, never evaluates (OWASP CSV injection)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def rows(session: Session, filters: Mapping[str, Any], actor: Actor | None = None
         ) -> tuple[list[str], Iterator[list[str]]]:
    """Header and rows of the customers matching `filters` (the customer list's filter
    syntax; invalid filters raise InvalidInput before anything is written).

    The rows are read when iterated, possibly after the request's session was removed
    (a streamed response), so the generator binds the tenant again first.
    With an `actor`, hidden fields are left out and the rows limited to its row scope."""
    access = field_access.access_for(session, actor.role if actor else None)
    field_access.check_filters(access, filters)
    query = customer_list.parse_filters(session, filters)
    keys = [d.key for d in custom_fields.list_definitions(session)]
    header = field_access.export_columns(access, [*COLUMNS, *(f"cf.{k}" for k in keys)])
    columns = [c for c in COLUMNS if c in header]
    keys = [k for k in keys if f"cf.{k}" in header]
    maskers = field_access.export_maskers(access, header)  # masked fields (issue 11)
    column = customer_list.SORTS[query.sort.lstrip("-")]
    order = (column.desc(), Customer.id.desc()) if query.sort.startswith("-") \
        else (column.asc(), Customer.id.asc())
    stmt = customer_list.filtered(session, query)
    if actor is not None:
        stmt = row_scope.apply(session, actor, stmt)
    stmt = stmt.order_by(*order) \
        .execution_options(yield_per=1000)

    tenant_id = current_tenant_id(session)

    def generate() -> Iterator[list[str]]:
        bind_tenant(session, tenant_id)
        for customer in session.scalars(stmt):
            cells = [_text(getattr(customer, c)) for c in columns]
            cf = customer.custom_fields or {}
            cells += [_text(cf.get(k)) for k in keys]
            if access.masked:
                cells = [m(c) if m else c for m, c in zip(maskers, cells, strict=True)]
            yield [neutralise(c) for c in cells]

    return header, generate()


def csv_stream(header: list[str], body: Iterator[list[str]]) -> Iterator[str]:
    """CSV text in chunks, UTF-8 BOM first so Excel reads CJK names correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(header)
    for count, row in enumerate(body, start=1):
        writer.writerow(row)
        if count % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def xlsx_stream(header: list[str], body: Iterator[list[str]]) -> Iterator[bytes]:
    """An XLSX file written row by row (openpyxl write-only) to a spooled temporary file,
    then sent in chunks: a zip cannot be finished before its last row is known."""
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("customers")
    sheet.append(header)
    for row in body:
        sheet.append(row)
    with tempfile.SpooledTemporaryFile(max_size=8 << 20) as out:
        book.save(out)
        out.seek(0)
        while chunk := out.read(1 << 16):
            yield chunk
