"""Signing up a tenant and changing its settings."""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from saas.models import Staff, Tenant
from saas.services import audit, outbox
from saas.services.context import Actor
from saas.services.errors import Conflict, InvalidInput
from saas.services.passwords import hash_password, password_problems
from saas.tenancy import bind_tenant
from saas.tenant_templates import available_templates

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$")
RESERVED_SLUGS = {"api", "admin", "static", "signup", "login", "www", "t", "s", "survey"}
LOCALES = ("zh_CN", "en")
CURRENCIES = ("CNY", "USD", "EUR", "HKD", "TWD", "JPY", "GBP", "SGD")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class SignupData:
    company: str
    slug: str
    owner_name: str
    email: str
    password: str
    locale: str = "zh_CN"
    timezone: str = "Asia/Shanghai"
    currency: str = "CNY"
    template: str = "retail"


def validate_settings(locale: str | None = None, timezone: str | None = None,
                      currency: str | None = None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if locale is not None and locale not in LOCALES:
        errors["locale"] = [f"Choose one of: {', '.join(LOCALES)}."]
    if timezone is not None:
        try:
            zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors["timezone"] = ["Unknown time zone."]
    if currency is not None and currency not in CURRENCIES:
        errors["currency"] = [f"Choose one of: {', '.join(CURRENCIES)}."]
    return errors


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def signup(session: Session, data: SignupData) -> tuple[Tenant, Staff]:
    """Create a tenant and its owner in one transaction, or nothing at all."""
    slug = (data.slug or "").strip().lower()
    email = normalise_email(data.email)
    errors = validate_settings(data.locale, data.timezone, data.currency)
    if not (data.company or "").strip():
        errors["company"] = ["Enter the company name."]
    if not SLUG_RE.match(slug) or slug in RESERVED_SLUGS:
        errors["slug"] = ["Use 3-63 lower-case letters, digits or dashes (not reserved)."]
    if not (data.owner_name or "").strip():
        errors["owner_name"] = ["Enter your name."]
    if not EMAIL_RE.match(email):
        errors["email"] = ["Enter a valid email address."]
    problems = password_problems(data.password or "", email)
    if problems:
        errors["password"] = problems
    if data.template not in available_templates():
        errors["template"] = [f"Choose one of: {', '.join(available_templates())}."]
    if errors:
        raise InvalidInput("Sign-up has errors.", errors)
    if session.scalar(select(func.count()).select_from(Tenant).where(Tenant.slug == slug)):
        raise Conflict("That address is taken.", {"slug": ["That address is taken."]})

    tenant = Tenant(slug=slug, name=data.company.strip(), locale=data.locale,
                    timezone=data.timezone, currency=data.currency, template=data.template,
                    settings={})
    session.add(tenant)
    session.flush()
    bind_tenant(session, tenant.id)
    owner = Staff(tenant_id=tenant.id, email=email, name=data.owner_name.strip(),
                  password_hash=hash_password(data.password), role="owner")
    session.add(owner)
    session.flush()
    actor = Actor.of_staff(owner)
    audit.record(session, actor, "tenant.created", "tenant", tenant.id,
                 {"slug": slug, "template": data.template})
    outbox.emit(session, "tenant.created", "tenant", tenant.id, {"slug": slug})
    return tenant, owner


def update_settings(session: Session, tenant: Tenant, actor: Actor, *, name: str | None = None,
                    locale: str | None = None, timezone: str | None = None,
                    currency: str | None = None) -> Tenant:
    errors = validate_settings(locale, timezone, currency)
    if name is not None and not name.strip():
        errors["name"] = ["Enter the company name."]
    if errors:
        raise InvalidInput("Settings have errors.", errors)
    changes = {}
    for field, value in (("name", name), ("locale", locale), ("timezone", timezone),
                         ("currency", currency)):
        if value is not None and getattr(tenant, field) != value:
            changes[field] = [getattr(tenant, field), value]
            setattr(tenant, field, value.strip() if field == "name" else value)
    if changes:
        audit.record(session, actor, "tenant.settings_changed", "tenant", tenant.id, changes)
        outbox.emit(session, "tenant.updated", "tenant", tenant.id, {"changes": changes})
    return tenant


def tenant_by_slug(session: Session, slug: str) -> Tenant | None:
    return session.scalars(select(Tenant).where(Tenant.slug == slug)).first()
