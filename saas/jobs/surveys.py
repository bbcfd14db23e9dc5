"""Automatic surveys: invite the customer after a ticket is resolved or a visit recorded.

`dispatch` is an outbox dispatcher: it only looks at event names and payload keys, so it
works whether or not the service desk / visit modules are installed (no events, no
invitations), and a survey failure never blocks plugin delivery of the same event (the
work runs in its own job, idempotent per source thanks to the invitation's unique key).
"""

from __future__ import annotations

import uuid

from flask import Flask

from saas.extensions import db
from saas.jobs.outbox import enqueue_on, load_event, register_dispatcher
from saas.jobs.runner import tenant_job

TRIGGER_EVENTS = ("ticket.resolved", "visit.recorded")
AGENT_KEYS = ("owner_id", "agent_id", "staff_id", "assignee_id")


dispatch = enqueue_on(TRIGGER_EVENTS, "saas.jobs.surveys:on_trigger_event")


def init_app(app: Flask) -> None:
    register_dispatcher(app, dispatch)


@tenant_job(retries=5, intervals=[5, 30, 120, 600, 1800], timeout=120)
def on_trigger_event(tenant_id: uuid.UUID, event_id: str) -> int:
    from saas.services import surveys

    event = load_event(db.session, event_id)
    if event is None or event.name not in TRIGGER_EVENTS:
        return 0
    payload = event.payload or {}
    customer_id = payload.get("customer_id")
    if not customer_id:
        return 0
    agent = next((payload[k] for k in AGENT_KEYS if payload.get(k)), None)
    if agent is None and event.entity_type == "visit":
        agent = _visit_assignee(event.entity_id)
    invited = surveys.on_trigger(db.session, event.name, customer_id,
                                 event.entity_type or "event", str(event.entity_id or ""),
                                 agent)
    return len(invited)


def _visit_assignee(task_id) -> str | None:
    """`visit.recorded` names the task, not the agent: results by agent need the
    assignee who made the visit."""
    from sqlalchemy import select

    from saas.models.visits import VisitTask

    try:
        tid = uuid.UUID(str(task_id))
    except ValueError:
        return None
    found = db.session.scalar(select(VisitTask.assignee_id).where(VisitTask.id == tid))
    return str(found) if found else None
