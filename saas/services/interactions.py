"""Logging conversations with a customer (calls, visits, messages, meetings)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from saas.models.base import utcnow
from saas.models.customers import Contact
from saas.models.interactions import CHANNELS, DIRECTIONS, KINDS, Interaction
from saas.services import audit, outbox
from saas.services.context import Actor
from saas.services.customers import get_customer, parse_id
from saas.services.errors import InvalidInput, NotFound

FIELDS = ("channel", "direction", "kind", "summary", "occurred_at", "follow_up_on",
          "contact_id")
MAX_SUMMARY = 5000


def list_interactions(session: Session, customer_id: Any) -> Select:
    customer = get_customer(session, customer_id)
    return select(Interaction).where(Interaction.customer_id == customer.id).order_by(
        Interaction.occurred_at.desc(), Interaction.id.desc())


def get_interaction(session: Session, interaction_id: Any) -> Interaction:
    found = session.scalars(select(Interaction).where(
        Interaction.id == parse_id(interaction_id, "interaction"))).first()
    if found is None:
        raise NotFound("No such interaction.")
    return found


def log_interaction(session: Session, actor: Actor, customer_id: Any,
                    data: Mapping[str, Any]) -> Interaction:
    customer = get_customer(session, customer_id)
    errors: dict[str, list[str]] = {}
    for key in data:
        if key not in FIELDS:
            errors[key] = ["Unknown field."]
    channel = data.get("channel")
    if channel not in CHANNELS:
        errors["channel"] = [f"Choose one of: {', '.join(CHANNELS)}."]
    direction = data.get("direction") or "out"
    if direction not in DIRECTIONS:
        errors["direction"] = ["Choose in or out."]
    kind = data.get("kind") or None
    if kind is not None and kind not in KINDS:
        errors["kind"] = [f"Choose one of: {', '.join(KINDS)}."]
    summary = data.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        errors["summary"] = ["Write what was said or done."]
    elif len(summary) > MAX_SUMMARY:
        errors["summary"] = [f"Use at most {MAX_SUMMARY} characters."]
    occurred_at = utcnow()
    if data.get("occurred_at") not in (None, ""):
        raw = data["occurred_at"]
        try:
            occurred_at = raw if isinstance(raw, datetime) else datetime.fromisoformat(
                str(raw).strip())
            if occurred_at.tzinfo is None:
                errors["occurred_at"] = ["Give a time with its UTC offset."]
            elif occurred_at > utcnow() + timedelta(minutes=5):
                errors["occurred_at"] = ["This time is in the future."]
        except ValueError:
            errors["occurred_at"] = ["Enter an ISO date-time."]
    follow_up_on = None
    if data.get("follow_up_on") not in (None, ""):
        raw = data["follow_up_on"]
        try:
            follow_up_on = raw if isinstance(raw, date) else date.fromisoformat(str(raw))
        except ValueError:
            errors["follow_up_on"] = ["Enter a date as YYYY-MM-DD."]
    contact_id = None
    if data.get("contact_id") not in (None, ""):
        try:
            cid = parse_id(data["contact_id"], "contact")
            contact_id = session.scalar(select(Contact.id).where(
                Contact.id == cid, Contact.customer_id == customer.id))
        except NotFound:
            contact_id = None
        if contact_id is None:
            errors["contact_id"] = ["No such contact of this customer."]
    if errors:
        raise InvalidInput("Please correct the interaction.", errors)
    interaction = Interaction(customer_id=customer.id, contact_id=contact_id, channel=channel,
                              direction=direction, kind=kind, summary=summary.strip(),
                              staff_id=actor.staff_id, occurred_at=occurred_at,
                              follow_up_on=follow_up_on)
    session.add(interaction)
    session.flush()
    payload = {"customer_id": customer.id, "channel": channel, "direction": direction,
               "kind": kind, "occurred_at": occurred_at.isoformat(),
               "follow_up_on": follow_up_on.isoformat() if follow_up_on else None}
    audit.record(session, actor, "interaction.logged", "interaction", interaction.id, payload)
    outbox.emit(session, "interaction.logged", "interaction", interaction.id, payload)
    return interaction
