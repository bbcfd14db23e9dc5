"""Bulk upsert of customers: match each row to an existing customer or create one.

Rows are matched by external id, then email, then phone (all normalised). Each row runs
in its own savepoint, so one bad row is reported with its field errors and the good rows
around it are kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from saas.models.customers import Customer
from saas.services import customers
from saas.services.context import Actor
from saas.services.errors import InvalidInput, ServiceError

MAX_ROWS = 1000


@dataclass
class RowResult:
    index: int
    status: str
    id: Any = None
    errors: dict[str, list[str]] = field(default_factory=dict)


def match(session: Session, row: Mapping[str, Any]) -> Customer | None:
    """The existing customer this row describes, or None; several candidates is an error."""
    if row.get("external_id"):
        found = customers.find_by_external_id(session, str(row["external_id"]).strip())
        if found is not None:
            return found
    for kind, finder in (("emails", customers.find_by_email),
                         ("phones", customers.find_by_phone)):
        for raw in customers._as_list(row.get(kind)):
            if not isinstance(raw, str):
                continue
            candidates = finder(session, raw)
            if len(candidates) > 1:
                raise InvalidInput.field(kind, f"'{raw}' matches {len(candidates)} customers.")
            if candidates:
                return candidates[0]
    return None


def upsert_customers(session: Session, actor: Actor,
                     rows: Iterable[Mapping[str, Any]]) -> list[RowResult]:
    rows = list(rows)
    if len(rows) > MAX_ROWS:
        raise InvalidInput.field("rows", f"Send at most {MAX_ROWS} rows per request.")
    results = []
    for index, row in enumerate(rows):
        savepoint = session.begin_nested()
        try:
            existing = match(session, row)
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
