"""Contacts: the people at a company customer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from saas.models.customers import Contact, Customer
from saas.models.interactions import Interaction
from saas.services import audit, outbox
from saas.services.context import Actor
from saas.services.customers import get_customer, parse_id
from saas.services.errors import InvalidInput, NotFound
from saas.services.identifiers import normalise_email, normalise_phone

FIELDS = ("name", "title", "phone", "email", "primary")


def list_contacts(session: Session, customer_id: Any) -> list[Contact]:
    customer = get_customer(session, customer_id)
    return list(session.scalars(select(Contact).where(Contact.customer_id == customer.id)
                                .order_by(Contact.primary.desc(), Contact.name, Contact.id)))


def get_contact(session: Session, customer_id: Any, contact_id: Any) -> Contact:
    customer = get_customer(session, customer_id)
    contact = session.scalars(select(Contact).where(
        Contact.id == parse_id(contact_id, "contact"),
        Contact.customer_id == customer.id)).first()
    if contact is None:
        raise NotFound("No such contact.")
    return contact


def _clean(data: Mapping[str, Any], creating: bool) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    for key in data:
        if key not in FIELDS:
            errors[key] = ["Unknown field."]
    if creating or "name" in data:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 200:
            errors["name"] = ["Enter a name (up to 200 characters)."]
        else:
            values["name"] = name.strip()
    if "title" in data or creating:
        title = data.get("title")
        if title not in (None, "") and (not isinstance(title, str) or len(title) > 100):
            errors["title"] = ["Use at most 100 characters."]
        else:
            values["title"] = (title or "").strip() or None
    if "phone" in data or creating:
        raw = data.get("phone")
        values["phone"] = normalise_phone(raw) if isinstance(raw, str) and raw.strip() else None
        if raw not in (None, "") and values["phone"] is None:
            errors["phone"] = [f"'{raw}' is not a valid phone number."]
    if "email" in data or creating:
        raw = data.get("email")
        values["email"] = normalise_email(raw) if isinstance(raw, str) and raw.strip() else None
        if raw not in (None, "") and values["email"] is None:
            errors["email"] = [f"'{raw}' is not a valid email address."]
    if "primary" in data or creating:
        values["primary"] = bool(data.get("primary", False))
    if errors:
        raise InvalidInput("Please correct the contact's details.", errors)
    return values


def _only_primary(session: Session, contact: Contact) -> None:
    session.execute(update(Contact).where(
        Contact.customer_id == contact.customer_id, Contact.id != contact.id,
        Contact.primary.is_(True)).values(primary=False)
        .execution_options(synchronize_session=False))


def _company(session: Session, customer_id: Any) -> Customer:
    customer = get_customer(session, customer_id)
    if customer.kind != "company":
        raise InvalidInput.field("customer", "Contacts belong to company customers.")
    return customer


def create_contact(session: Session, actor: Actor, customer_id: Any,
                   data: Mapping[str, Any]) -> Contact:
    customer = _company(session, customer_id)
    values = _clean(data, creating=True)
    contact = Contact(customer_id=customer.id, **values)
    session.add(contact)
    session.flush()
    if contact.primary:
        _only_primary(session, contact)
    audit.record(session, actor, "contact.created", "contact", contact.id,
                 {"customer_id": customer.id, **values})
    outbox.emit(session, "contact.created", "contact", contact.id,
                {"customer_id": customer.id})
    return contact


def update_contact(session: Session, actor: Actor, customer_id: Any, contact_id: Any,
                   data: Mapping[str, Any]) -> Contact:
    contact = get_contact(session, customer_id, contact_id)
    values = _clean(data, creating=False)
    changes = audit.apply_changes(contact, values)
    if changes:
        session.flush()
        if contact.primary:
            _only_primary(session, contact)
        audit.record(session, actor, "contact.updated", "contact", contact.id, changes)
        outbox.emit(session, "contact.updated", "contact", contact.id,
                    {"customer_id": contact.customer_id, "changed": sorted(changes)})
    return contact


def delete_contact(session: Session, actor: Actor, customer_id: Any, contact_id: Any) -> None:
    """Remove a contact; interactions that named them keep their text, not the link."""
    contact = get_contact(session, customer_id, contact_id)
    session.execute(update(Interaction).where(Interaction.contact_id == contact.id)
                    .values(contact_id=None).execution_options(synchronize_session=False))
    audit.record(session, actor, "contact.deleted", "contact", contact.id,
                 {"customer_id": contact.customer_id, "name": contact.name})
    outbox.emit(session, "contact.deleted", "contact", contact.id,
                {"customer_id": contact.customer_id})
    session.delete(contact)
    session.flush()
