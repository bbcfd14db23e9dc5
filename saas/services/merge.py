"""Merging one customer into another: the survivor keeps the chosen value of each field,
takes over everything that pointed at the merged customer, and the merged customer
stays as a tombstone (`merged_into_id`) so old links and ids still resolve.

Which rows "point at a customer" is read from the schema: every foreign key into
`customers` (made with `tenant_fk(...)`) is found in the metadata and moved by one
UPDATE, so a later feature's table (tickets, points, visits...) is moved without
touching this module. A table that needs more than a move (say, one row per customer)
registers its own handler with `register_merge_handler`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Table, delete, or_, select, update
from sqlalchemy.orm import Session

from saas.models import Base
from saas.models.customers import Customer, CustomerLookup
from saas.models.imports import DuplicateDismissal, MergeRecord
from saas.services import audit, customers, outbox
from saas.services.context import Actor
from saas.services.errors import Conflict, InvalidInput

Handler = Callable[[Session, uuid.UUID, uuid.UUID, uuid.UUID], int]
"""(session, tenant id, survivor id, merged id) -> rows affected."""

_HANDLERS: dict[tuple[str, str], Handler | None] = {}
SCALAR_FIELDS = ("kind", "name", "wechat_id", "address", "industry", "company_size",
                 "purchasing_power", "category", "owner_id", "department", "birthday",
                 "source_channel", "lifecycle_stage", "notes", "external_id")
LIST_FIELDS = ("phones", "emails", "tags")
SIDES = ("survivor", "merged")


def register_merge_handler(table: str, column: str, handler: Handler | None) -> None:
    """Handle `table.column` (a reference to customers) yourself on merge; `None` leaves
    those rows where they are (history that must keep naming the merged customer)."""
    _HANDLERS[(table, column)] = handler


def customer_references() -> list[tuple[Table, str]]:
    """Every (table, column) holding a customer id, from the foreign keys in the schema."""
    found = []
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_key_constraints:
            if fk.referred_table.name != "customers":
                continue
            for column in fk.column_keys:
                if column != "tenant_id":
                    found.append((table, column))
    return found


def _drop_lookups(session: Session, tenant_id: uuid.UUID, survivor: uuid.UUID,
                  merged: uuid.UUID) -> int:
    return session.execute(delete(CustomerLookup).where(CustomerLookup.customer_id == merged)
                           .execution_options(synchronize_session=False)).rowcount


def _drop_dismissals(session: Session, tenant_id: uuid.UUID, survivor: uuid.UUID,
                     merged: uuid.UUID) -> int:
    return session.execute(delete(DuplicateDismissal).where(or_(
        DuplicateDismissal.first_id == merged, DuplicateDismissal.second_id == merged))
        .execution_options(synchronize_session=False)).rowcount


register_merge_handler("customer_lookups", "customer_id", _drop_lookups)
register_merge_handler("duplicate_dismissals", "first_id", _drop_dismissals)
register_merge_handler("duplicate_dismissals", "second_id", None)
register_merge_handler("merge_records", "survivor_id", None)
register_merge_handler("merge_records", "merged_id", None)


def _move(session: Session, table: Table, column: str, tenant_id: uuid.UUID,
          survivor: uuid.UUID, merged: uuid.UUID) -> int:
    col = table.c[column]
    return session.execute(update(table).where(table.c.tenant_id == tenant_id, col == merged)
                           .values({column: survivor})).rowcount


def _empty(value: Any) -> bool:
    return value in (None, "", [], {})


def plan(survivor: Customer, merged: Customer,
         choices: Mapping[str, str] | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """The survivor's new values and the side each field came from.

    A field without a choice keeps the survivor's value, or takes the merged one when the
    survivor has none; phones, emails and tags are united; custom fields and consent are
    combined key by key (choice `custom_fields.<key>` picks a side for one key).
    """
    choices = dict(choices or {})
    errors: dict[str, list[str]] = {}
    allowed = set(SCALAR_FIELDS) | {f"custom_fields.{k}" for k in
                                    {**(survivor.custom_fields or {}),
                                     **(merged.custom_fields or {})}}
    for name, side in choices.items():
        if name not in allowed:
            errors[f"choices.{name}"] = ["Not a field that can be chosen."]
        elif side not in SIDES:
            errors[f"choices.{name}"] = ["Choose survivor or merged."]
    if errors:
        raise InvalidInput("The merge choices have errors.", errors)
    values: dict[str, Any] = {}
    used: dict[str, str] = {}
    for name in SCALAR_FIELDS:
        mine, theirs = getattr(survivor, name), getattr(merged, name)
        side = choices.get(name) or ("merged" if _empty(mine) and not _empty(theirs)
                                     else "survivor")
        used[name] = side
        values[name] = theirs if side == "merged" else mine
    for name in LIST_FIELDS:
        united = list(getattr(survivor, name) or [])
        united += [v for v in getattr(merged, name) or [] if v not in united]
        values[name] = united
    custom = dict(merged.custom_fields or {})
    for key, value in (survivor.custom_fields or {}).items():
        if choices.get(f"custom_fields.{key}") != "merged" or key not in custom:
            custom[key] = value
    for key in custom:
        used[f"custom_fields.{key}"] = choices.get(f"custom_fields.{key}") or (
            "survivor" if key in (survivor.custom_fields or {}) else "merged")
    values["custom_fields"] = custom
    values["consent"] = {**(merged.consent or {}), **(survivor.consent or {})}
    return values, used


def merge_customers(session: Session, actor: Actor, survivor_id: Any, merged_id: Any,
                    choices: Mapping[str, str] | None = None) -> MergeRecord:
    """Merge `merged_id` into `survivor_id` (both of the bound tenant: another tenant's
    id is simply not found)."""
    survivor = customers.get_customer(session, survivor_id)
    merged = customers.get_customer(session, merged_id)
    if survivor.id == merged.id:
        raise InvalidInput.field("merged_id", "A customer cannot be merged into itself.")
    for who in (survivor, merged):
        if who.merged_into_id is not None:
            raise Conflict(f"{who.name} was already merged into another customer.")
    values, used = plan(survivor, merged, choices)
    snapshot = {name: getattr(merged, name) for name in
                (*SCALAR_FIELDS, *LIST_FIELDS, "custom_fields", "consent")}
    tenant_id = survivor.tenant_id
    merged.external_id = None
    merged.merged_into_id = survivor.id
    session.flush()
    moved: dict[str, int] = {}
    for table, column in customer_references():
        key = (table.name, column)
        if key in _HANDLERS:
            handler = _HANDLERS[key]
            count = handler(session, tenant_id, survivor.id, merged.id) if handler else 0
        else:
            count = _move(session, table, column, tenant_id, survivor.id, merged.id)
        if count:
            moved[f"{table.name}.{column}"] = count
    survivor.custom_fields = {}
    updates = {k: v for k, v in values.items() if k != "consent"}
    updates["owner_id"] = str(updates["owner_id"]) if updates["owner_id"] else None
    customers.update_customer(session, actor, survivor.id, updates)
    survivor.consent = values["consent"]
    record = MergeRecord(survivor_id=survivor.id, merged_id=merged.id,
                         staff_id=actor.staff_id, choices=used,
                         snapshot=audit._jsonable(_plain(snapshot)), moved=moved)
    session.add(record)
    session.flush()
    payload = {"survivor_id": survivor.id, "merged_id": merged.id, "moved": moved}
    audit.record(session, actor, "customer.merged", "customer", survivor.id,
                 {**payload, "choices": used})
    outbox.emit(session, "customer.merged", "customer", survivor.id, payload)
    return record


def _plain(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in values.items()}


def merges_of(session: Session, customer_id: Any) -> list[MergeRecord]:
    customer = customers.get_customer(session, customer_id)
    return list(session.scalars(select(MergeRecord).where(
        MergeRecord.survivor_id == customer.id).order_by(MergeRecord.created_at.desc())))
