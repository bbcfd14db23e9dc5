"""Segments: the built-in value, behaviour and lifecycle segments (computed with the
measures, rules in `measures.SEGMENT_RULES`) and saved dynamic segments written with the
tier rule builder, counted live and usable as campaign audiences and list filters.

Counted or listed for a staff member (`actor` given), a rule may not name a field hidden
or masked for their role (422, as a list filter on it: a count by purchasing power tells
the purchasing power) and only customers in their row scope are counted and listed.
Without an actor (campaign audiences, nightly jobs) the system sees every customer.
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
from saas.services import audit, field_access, outbox, row_scope, rules
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


HIDDEN_FIELD = "You may not filter on this field."


def hidden_conditions(session: Session, actor: Actor | None, rule: Any,
                      path: str = "rule") -> dict[str, list[str]]:
    """The conditions of `rule` on a field the actor may not see in clear, by the path of
    their subject (as `rules.validate` names paths); empty for the system and the owner."""
    if actor is None or actor.role not in field_access.CONFIGURABLE_ROLES:
        return {}
    access = field_access.access_for(session, actor.role)
    if not access.restricted:
        return {}
    errors: dict[str, list[str]] = {}
    _walk(rule, path, access, errors)
    return errors


def _walk(node: Any, path: str, access: field_access.Access,
          errors: dict[str, list[str]]) -> None:
    if not isinstance(node, Mapping):
        return
    for key in ("all", "any"):
        if isinstance(node.get(key), list):
            for i, item in enumerate(node[key]):
                _walk(item, f"{path}.{key}.{i}", access, errors)
            return
    for subject, field in (("field", node.get("field")),
                           ("custom_field", f"cf.{node.get('custom_field')}"),
                           ("tag", "tags"),
                           ("measure", field_access.ORDER_AMOUNTS
                            if node.get("measure") in field_access.SPEND_MEASURES else None)):
        if subject in node and isinstance(field, str) and not access.can_see_clear(field):
            errors[f"{path}.{subject}"] = [HIDDEN_FIELD]


def check_visible(session: Session, actor: Actor | None, rule: Any) -> None:
    """422 naming the fields of `rule` hidden from the actor (see `hidden_conditions`)."""
    errors = hidden_conditions(session, actor, rule)
    if errors:
        names = sorted({_field_at(rule, path) for path in errors})
        raise InvalidInput(f"You may not filter on: {', '.join(names)}.", errors)


def _field_at(rule: Any, path: str) -> str:
    node = rule
    for part in path.split(".")[1:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    subject = path.rsplit(".", 1)[1]
    if subject == "measure":
        return field_access.ORDER_AMOUNTS
    return {"tag": "tags", "custom_field": f"cf.{node.get('custom_field')}"}.get(
        subject, str(node.get(subject)))


def _clean(session: Session, data: Mapping[str, Any], creating: bool,
           actor: Actor | None = None) -> dict[str, Any]:
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
            check_visible(session, actor, out["rule"])
        except InvalidInput as exc:
            errors.update(exc.errors)
    if errors:
        first = next(iter(errors.items()))
        raise InvalidInput(f"The segment has errors ({first[0]}: {first[1][0]})", errors)
    return out


def create_segment(session: Session, actor: Actor, data: Mapping[str, Any]) -> Segment:
    values = _clean(session, data, creating=True, actor=actor)
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
    values = _clean(session, data, creating=False, actor=actor)
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


def rule_problems(session: Session, segment: Segment,
                  actor: Actor | None = None) -> dict[str, list[str]]:
    """What in a saved rule no longer fits the tenant (a custom field or tier deleted or
    retyped since it was saved) or names a field hidden from `actor`, by path; empty when
    the rule is sound and usable by the actor."""
    try:
        rules.validate(segment.rule, rules.context_for(session, allow_tier=True))
    except InvalidInput as exc:
        return exc.errors
    return hidden_conditions(session, actor, segment.rule)


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


def _for_actor(session: Session, actor: Actor | None, segment_id: Any) -> ColumnElement[bool]:
    segment = get_segment(session, segment_id)
    rule = usable_rule(session, segment)
    check_visible(session, actor, rule)
    return rule_filter(session, rule)


def _scoped(session: Session, actor: Actor | None, stmt):
    return stmt if actor is None else row_scope.apply(session, actor, stmt)


def count(session: Session, segment_id: Any, actor: Actor | None = None) -> int:
    """Members of the segment; for an actor, those in their row scope (and a rule on a
    field hidden from them is refused)."""
    stmt = select(func.count()).select_from(Customer).where(
        Customer.merged_into_id.is_(None), _for_actor(session, actor, segment_id))
    return session.scalar(_scoped(session, actor, stmt)) or 0


def members(session: Session, segment_id: Any, limit: int = 50,
            actor: Actor | None = None) -> list[Customer]:
    stmt = select(Customer).where(
        Customer.merged_into_id.is_(None), _for_actor(session, actor, segment_id))
    return list(session.scalars(_scoped(session, actor, stmt)
                                .order_by(Customer.name, Customer.id).limit(limit)))


def preview_count(session: Session, rule: Any, actor: Actor | None = None) -> int:
    """Live count for an unsaved rule (the builder's counter), limited like `count`."""
    validated = rules.validate(rule, rules.context_for(session, allow_tier=True))
    check_visible(session, actor, validated)
    stmt = select(func.count()).select_from(Customer).where(
        Customer.merged_into_id.is_(None), rule_filter(session, validated))
    return session.scalar(_scoped(session, actor, stmt)) or 0


def customer_segment_ids(session: Session, customer_id: uuid.UUID) -> list[uuid.UUID]:
    return [s.id for s in list_segments(session)
            if not rule_problems(session, s)
            and session.scalar(select(func.count()).select_from(Customer).where(
                Customer.id == customer_id, rule_filter(session, s.rule)))]
