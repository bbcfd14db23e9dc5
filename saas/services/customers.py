"""Creating, changing and finding customers.

Every write validates the whole record (phones, emails, category, owner, consent, custom
fields) and reports all problems at once, field by field, before anything is written.
Phones and emails are kept in `customer_lookups` as blind indexes of their normalised
form, in the same transaction (the customer's own copies are encrypted at rest).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, exists, func, select
from sqlalchemy.orm import Session

from saas.models import Staff, Tenant
from saas.models.base import utcnow
from saas.models.customers import (
    CONSENT_CHANNELS,
    CONSENT_STATUSES,
    CUSTOMER_KINDS,
    LIFECYCLE_STAGES,
    PURCHASING_POWER,
    Customer,
    CustomerLookup,
)
from saas.models.interactions import Interaction
from saas.models.orders import Order
from saas.services import audit, custom_fields, limits, outbox, tenant_lists
from saas.services import consent as consent_history
from saas.services.context import Actor
from saas.services.errors import Conflict, InvalidInput, NotFound
from saas.services.identifiers import lookup_value, normalise_email, normalise_phone
from saas.tenancy import current_tenant_id
from saas.tenant_templates import TemplateError, load_template

TEXT_LIMITS = {"name": 200, "wechat_id": 64, "address": 1000, "industry": 100,
               "company_size": 40, "department": 100, "source_channel": 40,
               "external_id": 100, "notes": 10000}
FIELDS = ("kind", "name", "phones", "emails", "wechat_id", "address", "industry",
          "company_size", "purchasing_power", "category", "owner_id", "department", "tags",
          "birthday", "source_channel", "lifecycle_stage", "consent", "custom_fields",
          "notes", "external_id")
MAX_TAGS = 50
MAX_TAG_LENGTH = 40
MAX_CONTACT_POINTS = 10


def bound_tenant(session: Session) -> Tenant:
    """The tenant bound to the session (services need its currency, template, settings)."""
    tenant = session.get(Tenant, current_tenant_id(session))
    if tenant is None:
        raise NotFound("No tenant bound.")
    return tenant


def categories(tenant: Tenant) -> list[str]:
    """The tenant's category names: its own list, else its template's defaults."""
    own = (tenant.settings or {}).get("customer_categories")
    if own:
        return list(own)
    try:
        return list(load_template(tenant.template)["categories"])
    except TemplateError:
        return []


def set_categories(session: Session, actor: Actor, names: list[str]) -> list[str]:
    tenant = bound_tenant(session)
    cleaned = tenant_lists.clean_names(names, "categories", "category")
    return tenant_lists.save_list(session, actor, tenant, "customer_categories", "categories",
                                  categories(tenant), cleaned)


def parse_id(value: Any, what: str = "customer") -> uuid.UUID:
    """A UUID from user input; anything else is simply not found."""
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (ValueError, AttributeError, TypeError) as exc:
        raise NotFound(f"No such {what}.") from exc


def get_customer(session: Session, customer_id: Any) -> Customer:
    cid = parse_id(customer_id)
    customer = session.scalars(select(Customer).where(Customer.id == cid)).first()
    if customer is None:
        raise NotFound("No such customer.")
    return customer


def _text(data: Mapping, name: str, errors: dict, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[name] = ["This field is required."]
        return None
    if not isinstance(value, str):
        errors[name] = ["Enter text."]
        return None
    text = value.strip()
    if len(text) > TEXT_LIMITS[name]:
        errors[name] = [f"Use at most {TEXT_LIMITS[name]} characters."]
    elif any(ord(c) < 32 and c not in "\n\r\t" for c in text):
        errors[name] = ["Remove control characters."]
    return text


def _as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        return [p for p in (s.strip() for s in value.replace(";", ",").split(",")) if p]
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def _phones(value: Any, errors: dict) -> list[str]:
    result: list[str] = []
    for raw in _as_list(value):
        normal = normalise_phone(raw) if isinstance(raw, str) else None
        if normal is None:
            errors.setdefault("phones", []).append(f"'{raw}' is not a valid phone number.")
        elif normal not in result:
            result.append(normal)
    if len(result) > MAX_CONTACT_POINTS:
        errors["phones"] = [f"Give at most {MAX_CONTACT_POINTS} phone numbers."]
    return result


def _emails(value: Any, errors: dict) -> list[str]:
    result: list[str] = []
    for raw in _as_list(value):
        normal = normalise_email(raw) if isinstance(raw, str) else None
        if normal is None:
            errors.setdefault("emails", []).append(f"'{raw}' is not a valid email address.")
        elif normal not in result:
            result.append(normal)
    if len(result) > MAX_CONTACT_POINTS:
        errors["emails"] = [f"Give at most {MAX_CONTACT_POINTS} email addresses."]
    return result


def _tags(value: Any, errors: dict) -> list[str]:
    result: list[str] = []
    for raw in _as_list(value):
        tag = raw.strip() if isinstance(raw, str) else ""
        if not tag or len(tag) > MAX_TAG_LENGTH:
            errors["tags"] = [f"Each tag is 1-{MAX_TAG_LENGTH} characters."]
            return []
        if tag not in result:
            result.append(tag)
    if len(result) > MAX_TAGS:
        errors["tags"] = [f"Use at most {MAX_TAGS} tags."]
    return result


def _birthday(value: Any, errors: dict) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        try:
            value = date.fromisoformat(str(value).strip())
        except ValueError:
            errors["birthday"] = ["Enter a date as YYYY-MM-DD."]
            return None
    if value > utcnow().date() or value.year < 1900:
        errors["birthday"] = ["Enter a birthday between 1900 and today."]
        return None
    return value


def _choice(data: Mapping, name: str, allowed: tuple | list, errors: dict) -> str | None:
    value = data.get(name)
    if value in (None, ""):
        return None
    if value not in allowed:
        errors[name] = [f"Choose one of: {', '.join(allowed)}."]
        return None
    return value


def _owner(session: Session, value: Any, errors: dict) -> Staff | None:
    if value in (None, ""):
        return None
    try:
        sid = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        errors["owner_id"] = ["No such staff member."]
        return None
    staff = session.scalars(select(Staff).where(Staff.id == sid)).first()
    if staff is None or not staff.active:
        errors["owner_id"] = ["No such active staff member."]
        return None
    return staff


def _consent(value: Any, existing: Mapping | None, actor: Actor, errors: dict) -> dict:
    """Merge consent changes: each channel keeps status, when and source of the last change."""
    result = dict(existing or {})
    if value in (None, ""):
        return result
    if not isinstance(value, Mapping):
        errors["consent"] = ["Give consent as {channel: {status, source}}."]
        return result
    for channel, entry in value.items():
        key = f"consent.{channel}"
        if channel not in CONSENT_CHANNELS:
            errors[key] = [f"Choose a channel from: {', '.join(CONSENT_CHANNELS)}."]
            continue
        if isinstance(entry, str):
            entry = {"status": entry}
        if not isinstance(entry, Mapping) or entry.get("status") not in CONSENT_STATUSES:
            errors[key] = ["Status is granted or withdrawn."]
            continue
        source = entry.get("source") or actor.label
        at = entry.get("at")
        if isinstance(at, datetime):
            at = at.isoformat()
        elif at is not None:
            try:
                at = datetime.fromisoformat(str(at)).isoformat()
            except ValueError:
                errors[key] = ["'at' is an ISO date-time."]
                continue
        previous = result.get(channel) or {}
        if previous.get("status") == entry["status"] and at is None:
            continue
        result[channel] = {"status": entry["status"], "at": at or utcnow().isoformat(),
                           "source": str(source)[:100]}
    return result


def clean(session: Session, actor: Actor, data: Mapping[str, Any],
          existing: Customer | None = None) -> dict[str, Any]:
    """Validated values for the fields present in `data` (all fields when creating).

    Raises InvalidInput naming every bad field; unknown fields are errors too, so a typo
    in an API call is reported rather than silently dropped.
    """
    from saas.services import field_access  # privacy (issue 11): read-only fields → 403

    field_access.check_writable(session, actor, data, None if existing is None else {
        name: getattr(existing, name) for name in FIELDS})
    errors: dict[str, list[str]] = {}
    for name in data:
        if name not in FIELDS:
            errors[name] = ["Unknown field."]
    creating = existing is None
    present = set(FIELDS) if creating else set(data) & set(FIELDS)
    values: dict[str, Any] = {}
    tenant = bound_tenant(session)
    for name in present:
        if name == "kind":
            values["kind"] = _choice(data, "kind", CUSTOMER_KINDS, errors) or "person"
        elif name in TEXT_LIMITS:
            values[name] = _text(data, name, errors, required=(name == "name"))
        elif name == "phones":
            values["phones"] = _phones(data.get("phones"), errors)
        elif name == "emails":
            values["emails"] = _emails(data.get("emails"), errors)
        elif name == "tags":
            values["tags"] = _tags(data.get("tags"), errors)
        elif name == "birthday":
            values["birthday"] = _birthday(data.get("birthday"), errors)
        elif name == "purchasing_power":
            values[name] = _choice(data, name, PURCHASING_POWER, errors)
        elif name == "lifecycle_stage":
            values[name] = _choice(data, name, LIFECYCLE_STAGES, errors) or (
                existing.lifecycle_stage if existing else "lead")
        elif name == "category":
            kept = [existing.category] if existing and existing.category else []
            values[name] = _choice(data, name, categories(tenant) + kept, errors)
        elif name == "owner_id":
            if existing is not None and existing.owner_id is not None and \
                    str(data.get("owner_id")) == str(existing.owner_id):
                values["owner_id"] = existing.owner_id
                continue
            owner = _owner(session, data.get("owner_id"), errors)
            values["owner_id"] = owner.id if owner else None
            if owner and not data.get("department") and not (existing and existing.department):
                values["department"] = owner.department
        elif name == "consent":
            values["consent"] = _consent(data.get("consent"), existing.consent if existing
                                         else None, actor, errors)
        elif name == "custom_fields":
            values["custom_fields"] = custom_fields.clean_values(
                session, data.get("custom_fields"), existing.custom_fields if existing
                else None, errors)
    if not creating and "custom_fields" not in present:
        custom_fields.clean_values(session, None, existing.custom_fields, errors)
    if values.get("external_id"):
        clash = select(Customer.id).where(Customer.external_id == values["external_id"])
        if existing is not None:
            clash = clash.where(Customer.id != existing.id)
        if session.scalar(clash) is not None:
            errors["external_id"] = ["Another customer has this external id."]
    if errors:
        raise InvalidInput("Please correct the customer's details.", errors)
    return values


def _sync_lookups(session: Session, customer: Customer) -> None:
    session.execute(delete(CustomerLookup).where(CustomerLookup.customer_id == customer.id)
                    .execution_options(synchronize_session=False))
    for phone in customer.phones or []:
        session.add(CustomerLookup(customer_id=customer.id, kind="phone",
                                   value=lookup_value(phone)))
    for email in customer.emails or []:
        session.add(CustomerLookup(customer_id=customer.id, kind="email",
                                   value=lookup_value(email)))


def _plain(value: Any) -> Any:
    """Dates as ISO text, so audit entries stay JSON."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def create_customer(session: Session, actor: Actor, data: Mapping[str, Any]) -> Customer:
    values = clean(session, actor, data)
    limits.check(session, None, "customers")
    customer = Customer(**values)
    customer.phone = (values["phones"] or [None])[0]
    customer.email = (values["emails"] or [None])[0]
    session.add(customer)
    session.flush()
    _sync_lookups(session, customer)
    consent_history.record_changes(session, actor, customer, None, customer.consent)
    audit.record(session, actor, "customer.created", "customer", customer.id,
                 {k: _plain(v) for k, v in values.items() if v not in (None, [], {})})
    outbox.emit(session, "customer.created", "customer", customer.id,
                {"kind": customer.kind, "category": customer.category,
                 "owner_id": customer.owner_id, "lifecycle_stage": customer.lifecycle_stage})
    return customer


def update_customer(session: Session, actor: Actor, customer_id: Any,
                    data: Mapping[str, Any]) -> Customer:
    """Change the fields present in `data`; custom fields merge into the stored ones."""
    customer = get_customer(session, customer_id)
    values = clean(session, actor, data, existing=customer)
    consent_before = dict(customer.consent or {})
    changes = {}
    for name, value in values.items():
        old = getattr(customer, name)
        if old != value:
            changes[name] = [_plain(old), _plain(value)]
            setattr(customer, name, value)
    if not changes:
        return customer
    customer.phone = (customer.phones or [None])[0]
    customer.email = (customer.emails or [None])[0]
    customer.updated_at = utcnow()
    if "phones" in changes or "emails" in changes:
        _sync_lookups(session, customer)
    if "consent" in changes:
        consent_history.record_changes(session, actor, customer, consent_before,
                                       customer.consent)
    audit.record(session, actor, "customer.updated", "customer", customer.id, changes)
    outbox.emit(session, "customer.updated", "customer", customer.id,
                {"changed": sorted(changes)})
    return customer


def delete_customer(session: Session, actor: Actor, customer_id: Any) -> None:
    """Delete a customer without history; one with orders or interactions is kept
    (merge it or erase it through the privacy tools instead)."""
    customer = get_customer(session, customer_id)
    has_history = session.scalar(select(
        exists().where(Order.customer_id == customer.id)
        | exists().where(Interaction.customer_id == customer.id)
        | exists().where(Customer.merged_into_id == customer.id)))
    if has_history:
        raise Conflict("This customer has orders, interactions or merged records; "
                       "it cannot be deleted.")
    audit.record(session, actor, "customer.deleted", "customer", customer.id,
                 {"name": customer.name})
    outbox.emit(session, "customer.deleted", "customer", customer.id, {})
    session.delete(customer)
    session.flush()


def find_by_phone(session: Session, raw: str) -> list[Customer]:
    normal = normalise_phone(raw)
    if normal is None:
        return []
    return _by_lookup(session, "phone", normal)


def find_by_email(session: Session, raw: str) -> list[Customer]:
    normal = normalise_email(raw)
    if normal is None:
        return []
    return _by_lookup(session, "email", normal)


def _by_lookup(session: Session, kind: str, value: str) -> list[Customer]:
    ids = select(CustomerLookup.customer_id).where(CustomerLookup.kind == kind,
                                                   CustomerLookup.value == lookup_value(value))
    return list(session.scalars(select(Customer).where(
        Customer.id.in_(ids), Customer.merged_into_id.is_(None)).order_by(Customer.id)))


def find_by_external_id(session: Session, external_id: str) -> Customer | None:
    return session.scalars(select(Customer).where(
        Customer.external_id == external_id)).first()


def count_customers(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Customer).where(
        Customer.merged_into_id.is_(None))) or 0
