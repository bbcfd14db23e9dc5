"""The customer list: filters, search and keyset pagination over one sorted index.

Filters come as a flat mapping (query string, saved view, form): plain field names,
`tags` (all must match), `cf.<key>` for custom fields, `consent.<channel>` and
`segment` (a saved segment's id). Search `q`
is read as a phone when it is made of phone characters (normalised to E.164 and looked
up exactly by its blind index: phones and emails are encrypted, so a partial one finds
nothing), as an email when it has an `@`, else as part of
a name (ILIKE; LIKE on SQLite). Pages continue
after the last row's `(sort value, id)`, so page 1000 costs what page 1 costs.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    exists,
    func,
    literal,
    or_,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from saas.models.customers import (
    CONSENT_CHANNELS,
    CONSENT_STATUSES,
    CUSTOMER_KINDS,
    LIFECYCLE_STAGES,
    PURCHASING_POWER,
    Customer,
    CustomerLookup,
    custom_field_index,
)
from saas.services import custom_fields
from saas.services.errors import InvalidInput, NotFound
from saas.services.identifiers import (
    looks_like_phone,
    lookup_value,
    normalise_email,
    normalise_phone,
)

SORTS = {"name": Customer.name, "created_at": Customer.created_at,
         "updated_at": Customer.updated_at}
SORT_CHOICES = tuple(s for k in SORTS for s in (k, f"-{k}"))
DEFAULT_SORT = "-created_at"
EQUALITY_FIELDS = ("kind", "category", "department", "industry", "company_size",
                   "purchasing_power", "lifecycle_stage", "source_channel", "external_id")
CHOICES = {"kind": CUSTOMER_KINDS, "purchasing_power": PURCHASING_POWER,
           "lifecycle_stage": LIFECYCLE_STAGES}
MAX_LIMIT = 200


@dataclass
class CustomerQuery:
    q: str | None = None
    equals: dict[str, str] = field(default_factory=dict)
    owner_id: uuid.UUID | None = None
    unowned: bool = False
    tags: list[str] = field(default_factory=list)
    custom: dict[str, Any] = field(default_factory=dict)
    custom_types: dict[str, Any] = field(default_factory=dict)
    consent: dict[str, str] = field(default_factory=dict)
    created_from: date | None = None
    created_to: date | None = None
    include_merged: bool = False
    sort: str = DEFAULT_SORT
    segment_id: uuid.UUID | None = None
    segment_rule: dict | None = None
    # Sensitive custom fields: key -> (blind indexes wanted, also match plain values
    # while the move job runs).
    sensitive: dict[str, tuple[list[str], bool]] = field(default_factory=dict)


@dataclass
class Page:
    items: list[Customer]
    next_cursor: str | None


FILTER_KEYS = (("q", "owner_id", "tags", "created_from", "created_to", "include_merged",
                "sort", "segment") + EQUALITY_FIELDS)


def parse_filters(session: Session, raw: Mapping[str, Any]) -> CustomerQuery:
    """A validated query from user input; every bad key or value is a field error."""
    errors: dict[str, list[str]] = {}
    query = CustomerQuery()
    definitions = None
    for key, value in raw.items():
        if isinstance(value, list | tuple) and key != "tags":
            value = value[0] if value else None
        if value is None or value == "" or value == []:
            continue
        if key in ("cursor", "limit", "page", "view"):
            continue
        if key == "q":
            query.q = str(value).strip()[:200] or None
        elif key in EQUALITY_FIELDS:
            if key in CHOICES and value not in CHOICES[key]:
                errors[key] = [f"Choose one of: {', '.join(CHOICES[key])}."]
            else:
                query.equals[key] = str(value)
        elif key == "owner_id":
            if value == "none":
                query.unowned = True
            else:
                try:
                    query.owner_id = uuid.UUID(str(value))
                except ValueError:
                    errors[key] = ["Not a staff id."]
        elif key == "tags":
            items = value if isinstance(value, list | tuple) else str(value).split(",")
            query.tags = [t.strip() for t in items if isinstance(t, str) and t.strip()]
        elif key in ("created_from", "created_to"):
            try:
                setattr(query, key, value if isinstance(value, date)
                        else date.fromisoformat(str(value)))
            except ValueError:
                errors[key] = ["Enter a date as YYYY-MM-DD."]
        elif key == "segment":
            _segment(session, query, value, errors)
        elif key == "include_merged":
            query.include_merged = str(value).lower() in ("1", "true", "yes", "on")
        elif key == "sort":
            if value not in SORT_CHOICES:
                errors[key] = [f"Choose one of: {', '.join(SORT_CHOICES)}."]
            else:
                query.sort = value
        elif key.startswith("consent."):
            channel = key.split(".", 1)[1]
            if channel not in CONSENT_CHANNELS or value not in CONSENT_STATUSES:
                errors[key] = ["Use consent.<email|sms|wechat|phone>=granted|withdrawn."]
            else:
                query.consent[channel] = value
        elif key.startswith("cf."):
            if definitions is None:
                definitions = {d.key: d for d in custom_fields.list_definitions(session)}
            name = key[3:]
            definition = definitions.get(name)
            if definition is None:
                errors[key] = ["Unknown custom field."]
                continue
            try:
                coerced = custom_fields.coerce_value(definition, value)
            except ValueError as exc:
                errors[key] = [str(exc)]
                continue
            if definition.sensitive_state == "plain":
                query.custom[name] = (coerced, definition.type)
            else:
                query.sensitive[name] = (
                    custom_field_index(name, coerced),
                    definition.sensitive_state in ("encrypting", "decrypting"))
                query.custom_types[name] = (coerced, definition.type)
        else:
            errors[key] = ["Unknown filter."]
    if errors:
        raise InvalidInput("The filter has errors.", errors)
    return query


def _segment(session: Session, query: CustomerQuery, value: Any,
             errors: dict[str, list[str]]) -> None:
    """A saved segment as a filter: its rule is read once here, so `filtered` (list,
    export, API) needs no lookup; an unknown, foreign or stale segment is a field error."""
    from saas.services import segments

    try:
        segment = segments.get_segment(session, value)
        query.segment_rule = segments.usable_rule(session, segment)
        query.segment_id = segment.id
    except NotFound:
        errors["segment"] = ["No such segment."]
    except InvalidInput as exc:
        errors["segment"] = [exc.message]


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _json_contains(session: Session, column, value: Any):
    """`column @> value` on PostgreSQL (GIN-indexed); a json_each/json_extract test on SQLite."""
    if _is_pg(session):
        return column.op("@>")(literal(value, JSONB))
    if isinstance(value, list):
        conds = []
        for item in value:
            each = func.json_each(column).table_valued("value")
            conds.append(exists(select(1).select_from(each).where(each.c.value == item)))
        return and_(*conds)
    conds = []
    for key, expected in value.items():
        path = f'$."{key}"'
        if isinstance(expected, list):
            for item in expected:
                each = func.json_each(column, path).table_valued("value")
                conds.append(exists(select(1).select_from(each).where(each.c.value == item)))
        elif isinstance(expected, dict):
            for sub_key, sub_value in expected.items():
                conds.append(func.json_extract(column, f'{path}."{sub_key}"') == sub_value)
        elif isinstance(expected, bool):
            conds.append(func.json_extract(column, path) == (1 if expected else 0))
        else:
            conds.append(func.json_extract(column, path) == expected)
    return and_(*conds)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _search(session: Session, q: str):
    # Phones and emails are encrypted: only a whole, normalised value is found (its blind
    # index); a partial phone or email matches nothing.
    lookups = select(CustomerLookup.customer_id)
    if "@" in q or looks_like_phone(q):
        kind, normal = (("email", normalise_email(q)) if "@" in q
                        else ("phone", normalise_phone(q)))
        if not normal:
            return Customer.id.in_([])
        return Customer.id.in_(lookups.where(CustomerLookup.kind == kind,
                                             CustomerLookup.value == lookup_value(normal)))
    return _name_search(session, q)


def _name_search(session: Session, q: str):
    """Name contains `q` (ILIKE; LIKE on SQLite).

    On PostgreSQL a search of two or more characters also asks for the name's character
    pairs to contain those of `q` (a necessary condition of the ILIKE, served by the
    bigram GIN index of migration 0017): pg_trgm cannot index the two-character searches
    typical of Chinese names, which otherwise scan every customer of the tenant.
    """
    like = Customer.name.ilike(_like(q), escape="\\")
    if len(q) < 2 or not _is_pg(session):
        return like
    bigrams = func.customer_name_bigrams(Customer.name).op("@>")(
        func.customer_name_bigrams(q))
    return and_(bigrams, like)


def filtered(session: Session, query: CustomerQuery) -> Select:
    """The SELECT of customers matching `query`, without order or paging (for export too)."""
    stmt = select(Customer)
    if not query.include_merged:
        stmt = stmt.where(Customer.merged_into_id.is_(None))
    for name, value in query.equals.items():
        stmt = stmt.where(getattr(Customer, name) == value)
    if query.owner_id is not None:
        stmt = stmt.where(Customer.owner_id == query.owner_id)
    if query.unowned:
        stmt = stmt.where(Customer.owner_id.is_(None))
    if query.tags:
        stmt = stmt.where(_json_contains(session, Customer.tags, query.tags))
    if query.custom:
        wanted = {k: ([v] if t == "multi_choice" and not isinstance(v, list) else v)
                  for k, (v, t) in query.custom.items()}
        stmt = stmt.where(_json_contains(session, Customer.custom_fields, wanted))
    for name, (hashes, also_plain) in query.sensitive.items():
        # Encrypted values are matched by their blind index (exact values only).
        cond = _json_contains(session, Customer.sensitive_index, hashes)
        if also_plain:
            value, type_ = query.custom_types[name]
            wanted = [value] if type_ == "multi_choice" and not isinstance(value, list) \
                else value
            cond = or_(cond, _json_contains(session, Customer.custom_fields,
                                            {name: wanted}))
        stmt = stmt.where(cond)
    if query.consent:
        wanted = {ch: {"status": status} for ch, status in query.consent.items()}
        stmt = stmt.where(_json_contains(session, Customer.consent, wanted))
    if query.created_from:
        stmt = stmt.where(Customer.created_at >= datetime.combine(
            query.created_from, time.min, tzinfo=UTC))
    if query.created_to:
        stmt = stmt.where(Customer.created_at < datetime.combine(
            query.created_to + timedelta(days=1), time.min, tzinfo=UTC))
    if query.q:
        stmt = stmt.where(_search(session, query.q))
    if query.segment_rule is not None:
        from saas.services import segments

        stmt = stmt.where(segments.rule_filter(session, query.segment_rule))
    return stmt


def _encode(sort: str, value: Any, cid: uuid.UUID) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([sort, value, cid.hex], ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, sort: str) -> tuple[Any, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        got_sort, value, cid = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if got_sort != sort:
            raise ValueError("cursor of another sort")
        if sort.lstrip("-") != "name":
            value = datetime.fromisoformat(value)
        return value, uuid.UUID(hex=cid)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
        raise InvalidInput.field("cursor", "This page link is not valid; start again.") \
            from exc


def page(session: Session, query: CustomerQuery, cursor: str | None = None,
         limit: int = 50, where: ColumnElement[bool] | None = None) -> Page:
    """`where`: an extra condition, e.g. the caller's row scope (privacy, issue 11)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput.field("limit", f"Use 1-{MAX_LIMIT}.")
    desc = query.sort.startswith("-")
    column = SORTS[query.sort.lstrip("-")]
    stmt = filtered(session, query)
    if where is not None:
        stmt = stmt.where(where)
    if cursor:
        value, cid = _decode(cursor, query.sort)
        key = tuple_(column, Customer.id)
        stmt = stmt.where(key < tuple_(value, cid) if desc else key > tuple_(value, cid))
    order = (column.desc(), Customer.id.desc()) if desc else (column.asc(), Customer.id.asc())
    rows = list(session.scalars(stmt.order_by(*order).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = _encode(query.sort, getattr(last, query.sort.lstrip("-")), last.id)
    return Page(rows, next_cursor)
