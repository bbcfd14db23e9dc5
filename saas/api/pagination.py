"""Keyset (cursor) pagination for every API list.

A page is asked for with `?limit=` and an opaque `?cursor=`; the answer is
`{"items": [...], "next_cursor": "..." | null}`. The cursor carries the sort values of
the last item, so the next page is `WHERE (sort columns) > (those values)`: an index
seek, equally fast on page 1 and page 20 000 — never OFFSET. The order must end with a
unique column (the id) and its columns must be NOT NULL.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import marshmallow as ma
from sqlalchemy import Select, and_, literal, or_, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import ColumnElement, UnaryExpression

from saas.api.common import Schema
from saas.services.errors import InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class PageArgs(Schema):
    limit = ma.fields.Integer(load_default=DEFAULT_LIMIT,
                              validate=ma.validate.Range(min=1, max=MAX_LIMIT))
    cursor = ma.fields.String(load_default=None)


def page_args(name: str, sorts: Sequence[str], default: str,
              base: type[Schema] = PageArgs, **extra: ma.fields.Field) -> type[Schema]:
    """Query-string schema: limit, cursor, `sort` (`field` or `-field` from `sorts`) and
    any extra filter fields. `name` becomes the OpenAPI component name (keep it unique)."""
    choices = [s for field in sorts for s in (field, f"-{field}")]
    fields = {"sort": ma.fields.String(load_default=default,
                                       validate=ma.validate.OneOf(choices)), **extra}
    return type(name, (base,), fields)


_PAGE_SCHEMAS: dict[type, type[Schema]] = {}


def page_schema(item_schema: type[ma.Schema]) -> type[Schema]:
    """The response envelope `{"items": [...], "next_cursor": ...}` for one item schema."""
    if item_schema not in _PAGE_SCHEMAS:
        name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
        _PAGE_SCHEMAS[item_schema] = type(name, (Schema,), {
            "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
            "next_cursor": ma.fields.String(allow_none=True, required=True),
        })
    return _PAGE_SCHEMAS[item_schema]


@dataclass
class Page:
    items: list[Any]
    next_cursor: str | None


def sort_order(sort: str, columns: Mapping[str, ColumnElement],
               tiebreak: ColumnElement) -> list[ColumnElement]:
    """`-name` → [name DESC, id DESC]: the unique tiebreak follows the main direction."""
    desc = sort.startswith("-")
    column = columns[sort.lstrip("-")]
    if column is tiebreak:
        return [tiebreak.desc() if desc else tiebreak]
    return [column.desc(), tiebreak.desc()] if desc else [column, tiebreak]


def paginate(session: Session, stmt: Select, args: Mapping[str, Any],
             columns: Mapping[str, ColumnElement], tiebreak: ColumnElement) -> Page:
    """One page of `stmt` as asked by parsed `page_args` (limit, cursor, sort)."""
    order = sort_order(args["sort"], columns, tiebreak)
    return keyset_page(session, stmt, order, args["limit"], args.get("cursor"))


def keyset_page(session: Session, stmt: Select, order: Sequence[ColumnElement],
                limit: int, cursor: str | None) -> Page:
    """A page of `stmt` in `order` (columns, optionally `.desc()`, ending unique)."""
    keys = [_split(expr) for expr in order]
    fingerprint = _fingerprint(keys)
    stmt = stmt.order_by(None).order_by(*order)
    if cursor:
        values = _decode(cursor, fingerprint, len(keys))
        stmt = stmt.where(_after(keys, values))
    stmt = stmt.add_columns(*[col for col, _ in keys]).limit(limit + 1)
    rows = session.execute(stmt).all()
    width = len(keys)
    items = [row[0] if len(row) - width == 1 else tuple(row[:-width])
             for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = _encode(list(rows[limit - 1][-width:]), fingerprint)
    return Page(items, next_cursor)


def _split(expr: ColumnElement) -> tuple[ColumnElement, bool]:
    if isinstance(expr, UnaryExpression) and expr.modifier in (operators.desc_op,
                                                               operators.asc_op):
        return expr.element, expr.modifier is operators.desc_op
    return expr, False


def _after(keys: list[tuple[ColumnElement, bool]], values: list[Any]) -> ColumnElement:
    bound = [literal(v, type_=col.type) for (col, _), v in zip(keys, values, strict=True)]
    directions = {desc for _, desc in keys}
    if len(directions) == 1:
        # One row-value comparison: an index range scan on PostgreSQL.
        left = tuple_(*[col for col, _ in keys])
        right = tuple_(*bound)
        return left < right if directions.pop() else left > right
    clauses = []
    for i, (col, desc) in enumerate(keys):
        equal = [keys[j][0] == bound[j] for j in range(i)]
        step = col < bound[i] if desc else col > bound[i]
        clauses.append(and_(*equal, step))
    return or_(*clauses)


def _fingerprint(keys: list[tuple[ColumnElement, bool]]) -> str:
    text = ",".join(f"{getattr(c, 'table', None) is not None and c.table.name}.{c.key}"
                    f"{'-' if d else '+'}" for c, d in keys)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _tag(value: Any) -> list[Any]:
    if isinstance(value, datetime):
        return ["dt", value.isoformat()]
    if isinstance(value, date):
        return ["d", value.isoformat()]
    if isinstance(value, uuid.UUID):
        return ["u", value.hex]
    if isinstance(value, Decimal):
        return ["n", str(value)]
    return ["v", value]


def _untag(item: Any) -> Any:
    kind, value = item
    return {"dt": datetime.fromisoformat, "d": date.fromisoformat, "u": uuid.UUID,
            "n": Decimal, "v": lambda v: v}[kind](value)


def _encode(values: list[Any], fingerprint: str) -> str:
    data = json.dumps([fingerprint, [_tag(v) for v in values]], separators=(",", ":"))
    return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


def _decode(cursor: str, fingerprint: str, width: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        seen, tagged = json.loads(raw)
        values = [_untag(t) for t in tagged]
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise InvalidInput.field("cursor", "Invalid cursor.") from None
    if seen != fingerprint or len(values) != width:
        raise InvalidInput.field("cursor", "This cursor belongs to another sort order.")
    return values
