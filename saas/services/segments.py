"""Segments: the built-in value, behaviour and lifecycle segments (computed with the
measures, rules in `measures.SEGMENT_RULES`) and saved dynamic segments written with the
tier rule builder, counted live and usable as campaign audiences and list filters.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from saas.models.customers import Customer
from saas.models.segments import Segment
from saas.models.tiers import CustomerMeasure
from saas.services import audit, outbox, rules
from saas.services.context import Actor
from saas.services.customers import parse_id
from saas.services.errors import Conflict, InvalidInput, NotFound
from saas.services.measures import SEGMENT_RULES

BUILT_IN = ("value_segment", "behaviour", "lifecycle")


def builtin_distribution(session: Session) -> dict[str, list[dict]]:
    """Customers per built-in segment, each with the rule that puts them there."""
    out: dict[str, list[dict]] = {}
    for name in BUILT_IN:
        column = getattr(CustomerMeasure, name)
        counts = dict(session.execute(select(column, func.count()).group_by(column)).all())
        out[name] = [{"key": key, "rule": text, "count": counts.get(key, 0)}
                     for key, text in SEGMENT_RULES[name]]
    return out


def list_segments(session: Session) -> list[Segment]:
    return list(session.scalars(select(Segment).order_by(Segment.name)))


def get_segment(session: Session, segment_id: Any) -> Segment:
    found = session.scalars(select(Segment).where(
        Segment.id == parse_id(segment_id, "segment"))).first()
    if found is None:
        raise NotFound("No such segment.")
    return found


def _clean(session: Session, data: Mapping[str, Any], creating: bool) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    for key in set(data) - {"name", "description", "rule"}:
        errors[key] = ["Unknown field."]
    out: dict[str, Any] = {}
    if creating or "name" in data:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 100:
            errors["name"] = ["Enter a name of 1-100 characters."]
        else:
            out["name"] = name.strip()
    if "description" in data:
        if not isinstance(data["description"], str) or len(data["description"]) > 1000:
            errors["description"] = ["Use at most 1000 characters."]
        else:
            out["description"] = data["description"]
    if creating or "rule" in data:
        try:
            out["rule"] = rules.validate(data.get("rule"), rules.context_for(
                session, allow_tier=True))
        except InvalidInput as exc:
            errors.update(exc.errors)
    if errors:
        first = next(iter(errors.items()))
        raise InvalidInput(f"The segment has errors ({first[0]}: {first[1][0]})", errors)
    return out


def create_segment(session: Session, actor: Actor, data: Mapping[str, Any]) -> Segment:
    values = _clean(session, data, creating=True)
    if session.scalar(select(Segment.id).where(Segment.name == values["name"])):
        raise Conflict("A segment with this name exists.", {"name": ["Already exists."]})
    segment = Segment(created_by_id=actor.staff_id, **values)
    session.add(segment)
    session.flush()
    audit.record(session, actor, "segment.created", "segment", segment.id, values)
    outbox.emit(session, "segment.created", "segment", segment.id, {"name": segment.name})
    return segment


def update_segment(session: Session, actor: Actor, segment_id: Any,
                   data: Mapping[str, Any]) -> Segment:
    segment = get_segment(session, segment_id)
    values = _clean(session, data, creating=False)
    if "name" in values and values["name"] != segment.name and session.scalar(
            select(Segment.id).where(Segment.name == values["name"])):
        raise Conflict("A segment with this name exists.", {"name": ["Already exists."]})
    for key, value in values.items():
        setattr(segment, key, value)
    audit.record(session, actor, "segment.updated", "segment", segment.id, values)
    return segment


def delete_segment(session: Session, actor: Actor, segment_id: Any) -> None:
    segment = get_segment(session, segment_id)
    session.delete(segment)
    audit.record(session, actor, "segment.deleted", "segment", segment.id,
                 {"name": segment.name})


def rule_filter(session: Session, rule: Mapping) -> ColumnElement[bool]:
    """A criterion on `Customer` for a validated rule (measures joined in a subquery)."""
    dialect = session.get_bind().dialect.name
    c = aliased(Customer, name="seg_c")
    m = aliased(CustomerMeasure, name="seg_m")
    inner = (select(c.id).outerjoin(m, and_(m.tenant_id == c.tenant_id, m.id == c.id))
             .where(rules.compile_rule(rule, dialect, c, m)))
    return Customer.id.in_(inner)


STALE_RULE = ("This segment's rule names a custom field or tier that was deleted or "
              "changed; edit the segment before using it.")


def rule_problems(session: Session, segment: Segment) -> dict[str, list[str]]:
    """What in a saved rule no longer fits the tenant (a custom field or tier deleted or
    retyped since it was saved), by path; empty when the rule is sound."""
    try:
        rules.validate(segment.rule, rules.context_for(session, allow_tier=True))
    except InvalidInput as exc:
        return exc.errors
    return {}


def usable_rule(session: Session, segment: Segment) -> dict:
    """The segment's rule, or InvalidInput (on `segment_id`) when it has gone stale: a
    rule on a deleted field would otherwise quietly match no one, and a campaign or a
    list filtered by it would look empty rather than broken."""
    if rule_problems(session, segment):
        raise InvalidInput(STALE_RULE, {"segment_id": [STALE_RULE]})
    return segment.rule


def segment_filter(session: Session, segment_id: Any) -> ColumnElement[bool]:
    """The criterion that selects a saved segment's customers, for any `select()` over
    `Customer` (campaign audiences, the customer list). Another tenant's id → NotFound;
    a stale rule → InvalidInput."""
    return rule_filter(session, usable_rule(session, get_segment(session, segment_id)))


def count(session: Session, segment_id: Any) -> int:
    return session.scalar(select(func.count()).select_from(Customer).where(
        Customer.merged_into_id.is_(None), segment_filter(session, segment_id))) or 0


def members(session: Session, segment_id: Any, limit: int = 50) -> list[Customer]:
    return list(session.scalars(select(Customer).where(
        Customer.merged_into_id.is_(None), segment_filter(session, segment_id))
        .order_by(Customer.name, Customer.id).limit(limit)))


def preview_count(session: Session, rule: Any) -> int:
    """Live count for an unsaved rule (the builder's counter)."""
    validated = rules.validate(rule, rules.context_for(session, allow_tier=True))
    return session.scalar(select(func.count()).select_from(Customer).where(
        Customer.merged_into_id.is_(None), rule_filter(session, validated))) or 0


def customer_segment_ids(session: Session, customer_id: uuid.UUID) -> list[uuid.UUID]:
    return [s.id for s in list_segments(session)
            if not rule_problems(session, s)
            and session.scalar(select(func.count()).select_from(Customer).where(
                Customer.id == customer_id, rule_filter(session, s.rule)))]
