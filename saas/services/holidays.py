"""The tenant's holiday calendar: named holidays of one day or a few, shared by the SLA
clock (no business time on any day of a holiday) and by holiday greetings (sent on the
first day of a holiday marked for greetings).

A tenant starts with its template's list; the first edit copies that list into its own
rows (`tenant_holidays`, flagged by `settings["holidays_seeded"]`), after which the
template no longer matters. Template entries get ids derived from the tenant, date and
name, and keep them when copied, so the UI and API can address one before and after.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session

from saas.models import Tenant
from saas.models.base import new_id
from saas.models.holidays import TenantHoliday
from saas.services import audit
from saas.services.context import Actor
from saas.services.customers import bound_tenant
from saas.services.errors import InvalidInput, NotFound
from saas.tenant_templates import TemplateError, load_template

MAX_SPAN_DAYS = 31
MAX_HOLIDAYS = 200
FIELDS = ("name", "start", "end", "greeting")
_TEMPLATE_NS = uuid.UUID("5f1c1f0e-6d1e-4f59-9a53-3c0d7f6d2b11")


@dataclass(frozen=True)
class Holiday:
    id: str
    name: str
    start: date
    end: date
    greeting: bool = True

    def days(self) -> Iterator[date]:
        day = self.start
        while day <= self.end:
            yield day
            day += timedelta(days=1)

    def stored(self) -> dict:
        return {"id": self.id, "name": self.name, "start": self.start.isoformat(),
                "end": self.end.isoformat(), "greeting": self.greeting}


def _template_holidays(tenant: Tenant) -> list[Holiday]:
    """The template's holidays (plus dates an older SLA policy listed, kept as closed
    days), with ids unique to this tenant."""
    def make(start: date, end: date, name: str, greeting: bool) -> Holiday:
        key = f"{tenant.id}|{start}|{name}"
        return Holiday(id=str(uuid.uuid5(_TEMPLATE_NS, key)), name=name, start=start,
                       end=end, greeting=greeting)

    try:
        tpl = load_template(tenant.template)
    except TemplateError:
        tpl = {}
    items = [make(h["date"], h.get("end") or h["date"], h["name"], h.get("greeting", True))
             for h in tpl.get("holidays", [])]
    known = {d for h in items for d in h.days()}
    for raw in ((tenant.settings or {}).get("sla") or {}).get("holidays") or []:
        day = date.fromisoformat(raw)
        if day not in known:
            items.append(make(day, day, "Closed", False))
    return items


def calendar(tenant: Tenant, session: Session | None = None) -> list[Holiday]:
    """The tenant's holidays by start date: its own rows once edited, else the
    template's."""
    session = session or object_session(tenant)
    if session is None or not (tenant.settings or {}).get("holidays_seeded"):
        items = _template_holidays(tenant)
    else:
        items = [Holiday(id=str(row.id), name=row.name, start=row.starts_on,
                         end=row.ends_on, greeting=row.greeting)
                 for row in session.scalars(select(TenantHoliday))]
    return sorted(items, key=lambda h: (h.start, h.name))


def _seed(session: Session, tenant: Tenant) -> None:
    """Copy the template's list into the tenant's rows before the first change."""
    if (tenant.settings or {}).get("holidays_seeded"):
        return
    try:
        # Two first edits at once: the template rows' fixed ids let one copy win; the
        # other rolls its savepoint back and works on the winner's rows.
        with session.begin_nested():
            for h in _template_holidays(tenant):
                session.add(TenantHoliday(id=uuid.UUID(h.id), name=h.name,
                                          starts_on=h.start, ends_on=h.end,
                                          greeting=h.greeting))
            session.flush()
    except IntegrityError:
        pass
    tenant.settings = {**(tenant.settings or {}), "holidays_seeded": True}
    session.flush()


def closed_days(tenant: Tenant) -> frozenset[date]:
    """Every day of every holiday: the SLA clock stops on these."""
    return frozenset(d for h in calendar(tenant) for d in h.days())


def greeting_holidays(tenant: Tenant) -> list[Holiday]:
    return [h for h in calendar(tenant) if h.greeting]


def get_holiday(tenant: Tenant, holiday_id: Any, session: Session | None = None) -> Holiday:
    for h in calendar(tenant, session):
        if h.id == str(holiday_id):
            return h
    raise NotFound("No such holiday.")


def _date(value: Any, name: str, errors: dict) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        errors[name] = ["Enter a date as YYYY-MM-DD."]
        return None


def _clean(data: Mapping[str, Any], current: Holiday | None,
           others: list[Holiday]) -> dict:
    errors: dict[str, list[str]] = {}
    for key in data:
        if key not in FIELDS:
            errors[key] = ["Unknown field."]
    merged = {"name": current.name, "start": current.start, "end": current.end,
              "greeting": current.greeting} if current else {"greeting": True}
    merged.update({k: v for k, v in data.items() if k in FIELDS})
    name = merged.get("name")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 100:
        errors["name"] = ["Give the holiday a name (up to 100 characters)."]
    start = _date(merged.get("start"), "start", errors) \
        if merged.get("start") not in (None, "") else None
    if start is None and "start" not in errors:
        errors["start"] = ["Enter a date as YYYY-MM-DD."]
    raw_end = merged.get("end")
    if raw_end in (None, "") or (current is None and "end" not in data):
        end = start
    else:
        end = _date(raw_end, "end", errors)
    if start and end:
        if end < start:
            errors["end"] = ["The end is before the start."]
        elif (end - start).days + 1 > MAX_SPAN_DAYS:
            errors["end"] = [f"A holiday lasts at most {MAX_SPAN_DAYS} days."]
    if start and not date(2000, 1, 1) <= start <= date(2100, 12, 31):
        errors["start"] = ["Use a date between 2000 and 2100."]
    greeting = merged.get("greeting")
    if not isinstance(greeting, bool):
        errors["greeting"] = ["Give true or false."]
    if not errors:
        name = name.strip()
        for other in others:
            if other.name.casefold() == name.casefold() and other.start <= end \
                    and start <= other.end:
                errors["name"] = ["This holiday is already in the calendar for these "
                                  "dates."]
                break
    if errors:
        raise InvalidInput("The holiday is invalid.", errors)
    return {"name": name, "start": start, "end": end, "greeting": greeting}


def add_holiday(session: Session, actor: Actor, data: Mapping[str, Any]) -> Holiday:
    tenant = bound_tenant(session)
    items = calendar(tenant, session)
    if len(items) >= MAX_HOLIDAYS:
        raise InvalidInput.field("name", f"A calendar holds at most {MAX_HOLIDAYS} "
                                         "holidays; remove past ones first.")
    values = _clean(data, None, items)
    _seed(session, tenant)
    row = TenantHoliday(id=new_id(), name=values["name"], starts_on=values["start"],
                        ends_on=values["end"], greeting=values["greeting"])
    session.add(row)
    session.flush()
    audit.record(session, actor, "holiday.created", "holiday", row.id,
                 {k: str(v) for k, v in values.items()})
    return Holiday(id=str(row.id), **values)


def _row(session: Session, holiday_id: Any) -> TenantHoliday:
    row = session.scalars(select(TenantHoliday).where(
        TenantHoliday.id == uuid.UUID(str(holiday_id)))).first()
    if row is None:
        raise NotFound("No such holiday.")
    return row


def update_holiday(session: Session, actor: Actor, holiday_id: Any,
                   data: Mapping[str, Any]) -> Holiday:
    tenant = bound_tenant(session)
    current = get_holiday(tenant, holiday_id, session)
    others = [h for h in calendar(tenant, session) if h.id != current.id]
    values = _clean(data, current, others)
    _seed(session, tenant)
    row = _row(session, current.id)
    changes = audit.apply_changes(row, {"name": values["name"],
                                        "starts_on": values["start"],
                                        "ends_on": values["end"],
                                        "greeting": values["greeting"]})
    session.flush()
    audit.record(session, actor, "holiday.updated", "holiday", row.id,
                 {k: [str(old), str(new)] for k, (old, new) in changes.items()})
    return Holiday(id=current.id, **values)


def remove_holiday(session: Session, actor: Actor, holiday_id: Any) -> None:
    tenant = bound_tenant(session)
    current = get_holiday(tenant, holiday_id, session)
    _seed(session, tenant)
    session.delete(_row(session, current.id))
    session.flush()
    audit.record(session, actor, "holiday.deleted", "holiday", uuid.UUID(current.id),
                 {"name": current.name, "start": str(current.start)})
