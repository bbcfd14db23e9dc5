"""Customers and what hangs directly off them: lookup keys, contacts, custom field
definitions and saved list views.

Phones are normalised to E.164 and emails lower-cased. Personal fields (phones, emails,
WeChat id, address) are encrypted at rest (Fernet tokens from the key ring); each phone
and email also has a row in `customer_lookups` holding its blind index (a keyed hash,
`identifiers.lookup_value`), whose b-tree index makes "who has this phone?" fast on every
backend and lets duplicate detection group on it. The address has a blind index of its
own (`address_index`) for "same address" duplicates.
Tags and custom fields are JSON (JSONB with GIN indexes on PostgreSQL, so `@>` filters
use an index); the name has a pg_trgm GIN index on PostgreSQL for substring search.
Values of custom fields the admin marked sensitive live apart, in one encrypted JSON
object (`sensitive_fields`) with their blind indexes in `sensitive_index`; Python sees
one merged `custom_fields` either way (see `Customer.custom_fields`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    event,
    false,
    func,
    inspect,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, Session, mapped_column, validates

from saas.crypto import (
    EncryptedJSON,
    EncryptedList,
    EncryptedText,
    blind_index,
    register_encrypted,
)
from saas.models.base import Base, TenantScoped, UTCDateTime, tenant_fk, utcnow
from saas.models.types import JSONType

CUSTOMER_KINDS = ("person", "company")
CONSENT_CHANNELS = ("email", "sms", "wechat", "phone")
CONSENT_STATUSES = ("granted", "withdrawn")
LIFECYCLE_STAGES = ("lead", "prospect", "customer", "lapsed", "churned")
PURCHASING_POWER = ("high", "medium", "low")
FIELD_TYPES = ("text", "number", "date", "choice", "multi_choice", "boolean")
LOOKUP_KINDS = ("phone", "email")


class Customer(TenantScoped, Base):
    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "external_id"),
        tenant_fk("owner_id", "staff"),
        tenant_fk("merged_into_id", "customers"),
        Index("ix_customers_tenant_name", "tenant_id", "name", "id"),
        Index("ix_customers_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_customers_tenant_updated", "tenant_id", "updated_at", "id"),
        Index("ix_customers_tenant_owner", "tenant_id", "owner_id"),
        Index("ix_customers_tenant_merged_into", "tenant_id", "merged_into_id"),
        Index("ix_customers_tenant_category", "tenant_id", "category"),
        Index("ix_customers_tenant_address_index", "tenant_id", "address_index"),
        Index("ix_customers_name_trgm", "name", postgresql_using="gin",
              postgresql_ops={"name": "gin_trgm_ops"}),
        Index("ix_customers_tags", "tags", postgresql_using="gin",
              postgresql_ops={"tags": "jsonb_path_ops"}),
        Index("ix_customers_custom_fields", "custom_fields", postgresql_using="gin",
              postgresql_ops={"custom_fields": "jsonb_path_ops"}),
        Index("ix_customers_sensitive_index", "sensitive_index", postgresql_using="gin",
              postgresql_ops={"sensitive_index": "jsonb_path_ops"}),
        # Two-character name search (migration 0017, PostgreSQL only).
        Index("ix_customers_name_bigrams",
              func.customer_name_bigrams(literal_column("name")).label("name_bigrams"),
              postgresql_using="gin", postgresql_ops={"name_bigrams": "jsonb_path_ops"})
        .ddl_if(dialect="postgresql"),
    )

    kind: Mapped[str] = mapped_column(String(10), default="person")
    name: Mapped[str] = mapped_column(String(200))
    # Encrypted at rest (privacy, issue 11): plain text / lists in Python.
    phone: Mapped[str | None] = mapped_column(EncryptedText())
    email: Mapped[str | None] = mapped_column(EncryptedText())
    phones: Mapped[list] = mapped_column(EncryptedList(), default=list)
    emails: Mapped[list] = mapped_column(EncryptedList(), default=list)
    wechat_id: Mapped[str | None] = mapped_column(EncryptedText())
    address: Mapped[str | None] = mapped_column(EncryptedText())
    address_index: Mapped[str | None] = mapped_column(String(64))
    industry: Mapped[str | None] = mapped_column(String(100))
    company_size: Mapped[str | None] = mapped_column(String(40))
    purchasing_power: Mapped[str | None] = mapped_column(String(20))
    category: Mapped[str | None] = mapped_column(String(60))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    department: Mapped[str | None] = mapped_column(String(100))
    tags: Mapped[list] = mapped_column(JSONType, default=list)
    birthday: Mapped[date | None] = mapped_column(Date)
    source_channel: Mapped[str | None] = mapped_column(String(40))
    lifecycle_stage: Mapped[str] = mapped_column(String(20), default="lead")
    consent: Mapped[dict] = mapped_column(JSONType, default=dict)
    # Values of non-sensitive custom fields; use `custom_fields`, which merges both.
    plain_custom_fields: Mapped[dict] = mapped_column("custom_fields", JSONType,
                                                      default=dict)
    # Values of the custom fields the admin marked sensitive (one Fernet token) and the
    # blind index of each value (`custom_field_index`), for exact-match filters.
    sensitive_fields: Mapped[dict | None] = mapped_column(EncryptedJSON())
    sensitive_index: Mapped[list | None] = mapped_column(
        JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql"))
    notes: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(100))
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                 onupdate=utcnow)

    @hybrid_property
    def custom_fields(self) -> dict[str, Any]:
        """Every custom field value, sensitive or not: callers never need to know where
        a value is stored. A plain value wins over an encrypted one of the same key
        (only possible while a field is switched back to plain)."""
        return {**(self.sensitive_fields or {}), **(self.plain_custom_fields or {})}

    @custom_fields.inplace.setter
    def _set_custom_fields(self, value: dict[str, Any] | None) -> None:
        # Held in the plain column until the flush, which moves the sensitive keys
        # (`_split_sensitive_values`): a new customer has no session to ask yet.
        self.plain_custom_fields = dict(value or {})
        self.sensitive_fields = None
        self.sensitive_index = None

    @custom_fields.inplace.expression
    @classmethod
    def _custom_fields_expression(cls):
        """In SQL only the plain values exist: rules and filters over JSON cannot read
        an encrypted value (sensitive fields are filtered through `sensitive_index`)."""
        return cls.plain_custom_fields

    @validates("address")
    def _keep_address_index(self, _key: str, value: str | None) -> str | None:
        """Every ORM write of the address keeps its blind index in step."""
        self.address_index = address_key(value)
        return value


def address_key(address: str | None,
                index: Callable[[str], str] = blind_index) -> str | None:
    """The blind index of an address (case and spacing ignored), or None when empty;
    `index` may be a `saas.crypto.indexer()` for use outside the app context."""
    text = " ".join((address or "").split()).lower()
    return index(text) if text else None


for _column in ("phone", "email", "phones", "emails", "wechat_id", "address",
                "sensitive_fields"):
    register_encrypted(Customer, _column)


def custom_field_index(key: str, value: Any,
                       index: Callable[[str], str] = blind_index) -> list[str]:
    """The blind indexes of one sensitive custom field value (one per item of a
    multi-choice list), as stored in `customers.sensitive_index` and asked for by an
    exact-match filter; the key is part of the hash, so equal values of two fields
    differ."""
    items = value if isinstance(value, list) else [value]
    return [index(f"cf.{key}=" + json.dumps(item, ensure_ascii=False, sort_keys=True))
            for item in items]


def sensitive_index_of(values: dict[str, Any] | None,
                       index: Callable[[str], str] = blind_index) -> list[str] | None:
    """`sensitive_index` for the sensitive values of one customer (None when none)."""
    hashes = sorted({h for k, v in (values or {}).items()
                     for h in custom_field_index(k, v, index)})
    return hashes or None


def sensitive_keys(session: Session) -> frozenset[str]:
    """Keys of the bound tenant's custom fields marked sensitive."""
    with session.no_autoflush:
        return frozenset(session.scalars(select(CustomFieldDefinition.key).where(
            CustomFieldDefinition.sensitive.is_(True))))


@event.listens_for(Session, "before_flush")
def _split_sensitive_values(session: Session, _context: Any, _instances: Any) -> None:
    """Move values of sensitive custom fields out of the plain JSON column into the
    encrypted one (and index them) for every customer whose custom fields were set."""
    changed = [obj for obj in (*session.new, *session.dirty)
               if isinstance(obj, Customer)
               and inspect(obj).attrs.plain_custom_fields.history.has_changes()]
    if not changed:
        return
    keys = sensitive_keys(session)
    for customer in changed:
        plain = dict(customer.plain_custom_fields or {})
        secret = dict(customer.sensitive_fields or {})
        for key in [k for k in plain if k in keys]:
            secret[key] = plain.pop(key)
        if secret != (customer.sensitive_fields or {}):
            customer.plain_custom_fields = plain
            customer.sensitive_fields = secret or None
        customer.sensitive_index = sensitive_index_of(secret)


class CustomerLookup(TenantScoped, Base):
    """One phone or email of a customer as its blind index (`value` is
    `identifiers.lookup_value` of the normalised text; kept in step by the customer
    service)."""

    __tablename__ = "customer_lookups"
    __table_args__ = (
        tenant_fk("customer_id", "customers", ondelete="CASCADE"),
        Index("ix_customer_lookups_tenant_value", "tenant_id", "kind", "value"),
        Index("ix_customer_lookups_tenant_customer", "tenant_id", "customer_id"),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[str] = mapped_column(String(10))
    value: Mapped[str] = mapped_column(String(254))


class CustomFieldDefinition(TenantScoped, Base):
    __tablename__ = "custom_field_definitions"
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)

    key: Mapped[str] = mapped_column(String(60))
    label: Mapped[str] = mapped_column(String(120))
    type: Mapped[str] = mapped_column(String(20))
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    choices: Mapped[list] = mapped_column(JSONType, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # Marked sensitive by the admin: values encrypted at rest. `sensitive_state` says
    # where the stored values are while the move job runs: plain, encrypting,
    # encrypted, decrypting.
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    sensitive_state: Mapped[str] = mapped_column(String(20), default="plain",
                                                 server_default="plain")


class Contact(TenantScoped, Base):
    """A person at a company customer."""

    __tablename__ = "contacts"
    __table_args__ = (
        tenant_fk("customer_id", "customers", ondelete="CASCADE"),
        Index("ix_contacts_tenant_customer", "tenant_id", "customer_id"),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(100))
    # Encrypted at rest (privacy, issue 11): never looked up by value, only shown.
    phone: Mapped[str | None] = mapped_column(EncryptedText())
    email: Mapped[str | None] = mapped_column(EncryptedText())
    primary: Mapped[bool] = mapped_column(Boolean, default=False)


register_encrypted(Contact, "phone")
register_encrypted(Contact, "email")


class SavedView(TenantScoped, Base):
    """A staff member's named customer-list filter and sort."""

    __tablename__ = "saved_views"
    __table_args__ = (
        UniqueConstraint("tenant_id", "staff_id", "name"),
        tenant_fk("staff_id", "staff", ondelete="CASCADE"),
    )

    staff_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(100))
    filters: Mapped[dict] = mapped_column(JSONType, default=dict)
    sort: Mapped[str] = mapped_column(String(40), default="-created_at")
