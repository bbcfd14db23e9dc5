"""Loyalty jobs: reacting to orders (points, referral reward, measures) and the nightly
expiry, expiry notices, birthday and contribution bonuses, and the membership-level
refresh (levels are lost when their window moves past the points or spend).

Orders are not touched by loyalty code: the order service emits `order.placed` /
`order.refunded` into the outbox, `dispatch` (registered as an outbox dispatcher) turns
them into one `on_order_event` job after the delivery commits. The job is idempotent —
ledger entries are unique per (kind, source) — so redelivery or a retry never pays twice,
and a loyalty failure never blocks plugin delivery of the same event.
"""

from __future__ import annotations

import uuid

from flask import Flask
from sqlalchemy import select

from saas.extensions import db
from saas.jobs.outbox import enqueue_on, load_event, register_dispatcher
from saas.jobs.runner import tenant_job
from saas.models import Tenant

ORDER_EVENTS = ("order.placed", "order.refunded")

dispatch = enqueue_on(ORDER_EVENTS, "saas.jobs.loyalty:on_order_event")


def init_app(app: Flask) -> None:
    """Register `dispatch` with the outbox (called from create_app)."""
    register_dispatcher(app, dispatch)


@tenant_job(retries=5, intervals=[5, 30, 120, 600, 1800], timeout=120)
def on_order_event(tenant_id: uuid.UUID, event_id: str) -> str:
    from saas.services import loyalty, measures, membership_levels

    event = load_event(db.session, event_id)
    if event is None or event.name not in ORDER_EVENTS:
        return "ignored"
    if event.name == "order.placed":
        loyalty.earn_for_order(db.session, event.entity_id)
    else:
        loyalty.reverse_for_order(db.session, event.entity_id)
    customer_id = (event.payload or {}).get("customer_id")
    if customer_id:
        measures.refresh_customers(db.session, [customer_id])
        membership_levels.refresh(db.session, [customer_id])  # spend moved
    return event.name


@tenant_job(retries=2, intervals=[60, 600], timeout=1800)
def nightly(tenant_id: uuid.UUID) -> dict:
    from saas.services import loyalty, membership_levels

    return {"expired": loyalty.expire_due(db.session),
            "notices": loyalty.notify_expiring(db.session),
            "birthdays": loyalty.award_birthdays(db.session),
            "contributions": loyalty.award_contributions(db.session),
            # last: windows move overnight, so levels are lost even with no new points
            "levels": membership_levels.refresh(db.session)}


@tenant_job(retries=0, timeout=600, tenant=False)
def nightly_all() -> int:
    from saas.jobs.queue import enqueue

    ids = db.session.scalars(select(Tenant.id).where(Tenant.status == "active")).all()
    db.session.commit()
    for tenant_id in ids:
        enqueue("saas.jobs.loyalty:nightly", tenant_id)
    return len(ids)
