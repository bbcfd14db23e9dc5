"""Applying import rows through the owning services, one savepoint per row.

Every kind of import goes through the same validation as the API (`customers`,
`contacts`, `products`, `orders`, `interactions` services), so a row the API would refuse
is refused here with the same field messages. One bad row rolls back its savepoint only;
the rows around it are kept.

The importer's row scope holds as in the API: a customer row matching a customer outside
it is a row error (`customer_upsert.OUT_OF_SCOPE`), and a contact/order/interaction row
referring to one finds no customer, exactly as if it did not exist.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.models.customers import Customer
from saas.models.imports import ImportJob
from saas.models.interactions import Interaction
from saas.models.orders import Order
from saas.services import (
    contacts,
    customer_upsert,
    customers,
    interactions,
    limits,
    orders,
    products,
    row_scope,
)
from saas.services.context import Actor
from saas.services.errors import InvalidInput, ServiceError
from saas.services.identifiers import normalise_email, normalise_phone
from saas.services.import_fields import RowMapper

Row = tuple[int, list[str], dict[str, str]]
PLAN_LIMIT_MESSAGE = "Not imported: the plan's customer limit is reached."


def limit_message(session: Session, adding: int) -> str:
    """The plan's own refusal (it names the plan that lifts the limit) for rows past it."""
    try:
        limits.check(session, None, "customers", adding=adding)
    except limits.PlanLimitExceeded as exc:
        return exc.message
    return PLAN_LIMIT_MESSAGE


@dataclass
class Issue:
    row: int
    column: str | None
    value: str
    message: str


@dataclass
class Tally:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0
    issues: list[Issue] = field(default_factory=list)


class RowApplier:
    """Base: `apply(rows)` counts outcomes and collects issues in `self.tally`."""

    def __init__(self, session: Session, actor: Actor, job: ImportJob, mapper: RowMapper,
                 headroom: int | None = None):
        self.session, self.actor, self.job, self.mapper = session, actor, job, mapper
        self.headroom = headroom
        self.tally = Tally()
        self.keys: dict[tuple[str, str], int] = {}
        self.touched: dict[Any, int] = {}
        self.scope = row_scope.criterion(session, actor)

    def fail(self, number: int, cells: Sequence[str], exc: ServiceError) -> None:
        self.tally.failed += 1
        if not exc.errors:
            self.tally.issues.append(Issue(number, None, "", exc.message))
            return
        for key, messages in exc.errors.items():
            column = self.mapper.column(key)
            for message in messages:
                if column is None and key not in ("_row", "rows"):
                    message = f"{key}: {message}"
                self.tally.issues.append(Issue(number, column, self.mapper.cell(cells, column),
                                               message))

    def check_keys(self, number: int, pairs: Sequence[tuple[str, str]]) -> None:
        """Refuse a row sharing an identifying value with an earlier imported row of the
        same file: importing both would silently fold one into the other."""
        for target, value in pairs:
            earlier = self.keys.get((target, value))
            if earlier is not None and earlier != number:
                raise InvalidInput.field(target, f"Row {earlier} of this file has the same "
                                                 f"value; only that row was imported.")

    def remember_keys(self, number: int, pairs: Sequence[tuple[str, str]]) -> None:
        for target, value in pairs:
            self.keys.setdefault((target, value), number)

    def check_customer(self, number: int, customer_id: Any, target: str) -> None:
        earlier = self.touched.get(customer_id)
        if earlier is not None and earlier != number:
            raise InvalidInput.field(target, f"Row {earlier} of this file already updates "
                                             "the same customer; only that row was imported.")

    def apply(self, rows: Sequence[Row]) -> None:
        for number, cells, values in rows:
            savepoint = self.session.begin_nested()
            try:
                outcome = self.one(number, values)
                savepoint.commit()
            except ServiceError as exc:
                savepoint.rollback()
                self.fail(number, cells, exc)
                continue
            setattr(self.tally, outcome, getattr(self.tally, outcome) + 1)

    def one(self, number: int, values: Mapping[str, str]) -> str:
        raise NotImplementedError

    def customer(self, values: Mapping[str, str]) -> Customer:
        """The customer a contact/order/interaction row refers to (first reference given)."""
        if values.get("customer_external_id"):
            found = customers.find_by_external_id(self.session,
                                                  values["customer_external_id"].strip())
            if found is None or not self.in_scope(found):
                raise InvalidInput.field("customer_external_id",
                                         "No customer has this external id.")
            return found
        for target, finder in (("customer_email", customers.find_by_email),
                               ("customer_phone", customers.find_by_phone)):
            if values.get(target):
                found = [c for c in finder(self.session, values[target]) if self.in_scope(c)]
                if len(found) > 1:
                    raise InvalidInput.field(target, f"This matches {len(found)} customers.")
                if not found:
                    raise InvalidInput.field(target, "No customer has this value.")
                return found[0]
        raise InvalidInput.field("customer_external_id", "Give the customer's external id, "
                                                         "email or phone.")

    def in_scope(self, customer: Customer) -> bool:
        return self.scope is None or self.session.scalar(
            select(Customer.id).where(Customer.id == customer.id, self.scope)) is not None


def customer_keys(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The identifying values of a customer row, normalised as the service stores them."""
    pairs: list[tuple[str, str]] = []
    if data.get("external_id"):
        pairs.append(("external_id", str(data["external_id"]).strip()))
    for target, norm in (("emails", normalise_email), ("phones", normalise_phone)):
        for raw in customers._as_list(data.get(target)):
            value = norm(raw) if isinstance(raw, str) else None
            if value:
                pairs.append((target, value))
    return pairs


class CustomerRows(RowApplier):
    def one(self, number: int, values: Mapping[str, str]) -> str:
        data = self.mapper.customer_data(values)
        keys = customer_keys(data)
        self.check_keys(number, keys)
        existing = customer_upsert.match(self.session, data, self.scope)
        if existing is None:
            if self.headroom is not None and self.tally.created >= self.headroom:
                raise InvalidInput.field("_row", limit_message(self.session, 1))
            customer = customers.create_customer(self.session, self.actor, data)
            outcome = "created"
        else:
            self.check_customer(number, existing.id, "name")
            customer = customers.update_customer(self.session, self.actor, existing.id, data)
            outcome = "updated"
        self.touched[customer.id] = number
        self.remember_keys(number, keys)
        return outcome


class ContactRows(RowApplier):
    FIELDS = ("name", "title", "phone", "email", "primary")

    def one(self, number: int, values: Mapping[str, str]) -> str:
        customer = self.customer(values)
        data = self.mapper.plain_data(values, self.FIELDS)
        same = None
        for c in contacts.list_contacts(self.session, customer.id):
            if c.name == (data.get("name") or "").strip():
                same = c
                break
        if same is None:
            contacts.create_contact(self.session, self.actor, customer.id, data)
            return "created"
        contacts.update_contact(self.session, self.actor, customer.id, same.id, data)
        return "updated"


class ProductRows(RowApplier):
    FIELDS = ("sku", "name", "category", "price", "currency", "active")

    def one(self, number: int, values: Mapping[str, str]) -> str:
        data = self.mapper.plain_data(values, self.FIELDS)
        existing = products.product_by_sku(self.session, (data.get("sku") or "").strip())
        if existing is None:
            products.create_product(self.session, self.actor, data)
            return "created"
        products.update_product(self.session, self.actor, existing.id, data)
        return "updated"


class OrderRows(RowApplier):
    def one(self, number: int, values: Mapping[str, str]) -> str:
        customer = self.customer(values)
        data = self.mapper.order_data(values)
        exists = self.session.scalar(select(Order.id).where(
            Order.number == (data.get("number") or "").strip()))
        if exists is not None:
            return "skipped"
        orders.place_order(self.session, self.actor, customer.id, data)
        return "created"


class InteractionRows(RowApplier):
    def one(self, number: int, values: Mapping[str, str]) -> str:
        customer = self.customer(values)
        data = self.mapper.interaction_data(values)
        try:
            occurred = datetime.fromisoformat(str(data.get("occurred_at", "")).strip())
        except ValueError:
            occurred = None
        if occurred is not None and self.session.scalar(select(Interaction.id).where(
                Interaction.customer_id == customer.id, Interaction.occurred_at == occurred,
                Interaction.channel == data.get("channel"),
                Interaction.summary == (data.get("summary") or "").strip())) is not None:
            return "skipped"
        interactions.log_interaction(self.session, self.actor, customer.id, data)
        return "created"


APPLIERS: dict[str, Callable[..., RowApplier]] = {
    "customers": CustomerRows, "contacts": ContactRows, "products": ProductRows,
    "orders": OrderRows, "interactions": InteractionRows,
}
