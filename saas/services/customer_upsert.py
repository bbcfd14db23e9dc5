"""Bulk upsert of customers: match each row to an existing customer or create one.

Rows are matched by external id, then email, then phone (all normalised). Each row runs
in its own savepoint, so one bad row is reported with its field errors and the good rows
around it are kept.

A row matching a customer outside the writer's row scope is refused for that row: updating
it would overwrite a record the writer may not even read, and creating a second one would
silently duplicate it. The refusal tells that the value is in use, never whose it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from saas.models.customers import Customer
from saas.services import customers, row_scope
from saas.services.context import Actor
from saas.services.errors import Conflict, InvalidInput, ServiceError

MAX_ROWS = 1000
OUT_OF_SCOPE = "This matches a customer outside your row scope."


@dataclass
class RowResult:
    index: int
    status: str
    id: Any = None
    errors: dict[str, list[str]] = field(default_factory=dict)


def match(session: Session, row: Mapping[str, Any],
          scope: ColumnElement[bool] | None = None) -> Customer | None:
    """The existing customer this row describes, or None; several candidates is an error,
    and so is a match failing `scope` (a `row_scope.criterion`, None = no limit)."""
    found, key = _match(session, row)
    if found is not None and scope is not None and session.scalar(
            select(Customer.id).where(Customer.id == found.id, scope)) is None:
        raise Conflict(OUT_OF_SCOPE, {key: [OUT_OF_SCOPE]})
    return found


def _match(session: Session, row: Mapping[str, Any]) -> tuple[Customer | None, str]:
    if row.get("external_id"):
        found = customers.find_by_external_id(session, str(row["external_id"]).strip())
        if found is not None:
            return found, "external_id"
    for kind, finder in (("emails", customers.find_by_email),
                         ("phones", customers.find_by_phone)):
        for raw in customers._as_list(row.get(kind)):
            if not isinstance(raw, str):
                continue
            candidates = finder(session, raw)
            if len(candidates) > 1:
                raise InvalidInput.field(kind, f"'{raw}' matches {len(candidates)} customers.")
            if candidates:
                return candidates[0], kind
    return None, ""


def upsert_customers(session: Session, actor: Actor,
                     rows: Iterable[Mapping[str, Any]]) -> list[RowResult]:
    rows = list(rows)
    if len(rows) > MAX_ROWS:
        raise InvalidInput.field("rows", f"Send at most {MAX_ROWS} rows per request.")
    results = []
    scope = row_scope.criterion(session, actor)
    for index, row in enumerate(rows):
        savepoint = session.begin_nested()
        try:
            existing = match(session, row, scope)
            if existing is None:
                customer = customers.create_customer(session, actor, row)
                status = "created"
            else:
                customer = customers.update_customer(session, actor, existing.id, row)
                status = "updated"
            savepoint.commit()
            results.append(RowResult(index, status, customer.id))
        except ServiceError as exc:
            savepoint.rollback()
            results.append(RowResult(index, "error", errors=exc.errors or
                                     {"_row": [exc.message]}))
    return results
