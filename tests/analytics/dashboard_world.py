"""A small hand-made world for the dashboard tests, built through the services.

Tenant in Asia/Shanghai (UTC+8); `T` is today's local date. Staff: the owner Olivia and
the agent Ann. Customers (tiers set by manual override):

| customer | owner  | department | category | stage    | tier | counted orders (local day: total) |
|----------|--------|------------|----------|----------|------|-----------------------------------|
| c1       | Olivia | North      | VIP      | customer | A    | T-100: 100, T-70: 50, T-40: 30    |
| c2       | Olivia | North      | Regular  | customer | B    | T-200: 200 (T-190 cancelled)      |
| c3       | Ann    | South      | VIP      | lead     | A    | T-5 12:00: 80, T-3 00:30: 20      |
| c4       | -      | -          | -        | prospect | C    | none                              |

Complaints: c1 "Delivery" on T-10, c3 "Billing" on T-2 (and a request of c2, not a
complaint). Survey answers on T-1: NPS c1 10, c2 6, c3 8; CSAT c1 5, c2 3, c3 4 — c2's
low score opens a complaint without a cause on T-1 (the survey follow-up).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import time_machine

from saas.extensions import db
from saas.models.base import utcnow
from saas.services import customers as customer_service
from saas.services import orders as order_service
from saas.services import surveys, tickets
from saas.services import tiers as tier_service
from tests.analytics import world
from tests.api.conftest import add_staff

ZONE = ZoneInfo("Asia/Shanghai")


def local_today() -> date:
    return utcnow().astimezone(ZONE).date()


def at(days_ago: int, hh: int = 12, mm: int = 0) -> datetime:
    return datetime.combine(local_today() - timedelta(days=days_ago), time(hh, mm), ZONE)


@dataclass
class Shop:
    tenant: object
    ann_id: object
    ids: dict
    today: date


def build(app, tenant) -> Shop:
    with app.app_context():
        ann_id = add_staff(tenant, "agent")
        tenant.bind()
        actor = tenant.owner_actor()
        world.products(actor, "A")
        tiers = {t.name: t.id for t in tier_service.list_tiers(db.session)}
        spec = {
            "c1": (tenant.owner_id, "North", "VIP", "customer", "A"),
            "c2": (tenant.owner_id, "North", "Regular", "customer", "B"),
            "c3": (ann_id, "South", "VIP", "lead", "A"),
            "c4": (None, None, None, "prospect", "C"),
        }
        ids = {}
        for name, (owner, dept, category, stage, tier) in spec.items():
            data = {"name": name, "lifecycle_stage": stage}
            if owner:
                data.update(owner_id=str(owner), department=dept, category=category)
            c = customer_service.create_customer(db.session, actor, data)
            tier_service.override(db.session, actor, c.id, tiers[tier], None)
            ids[name] = c.id
        for name, when, total, status in (
                ("c1", at(100), "100.00", None), ("c1", at(70), "50.00", None),
                ("c1", at(40), "30.00", None), ("c2", at(200), "200.00", None),
                ("c2", at(190), "999.00", "cancelled"), ("c3", at(5), "80.00", None),
                ("c3", at(3, 0, 30), "20.00", None)):
            o = world.order(actor, ids[name], ["A"], at=when, price=total)
            if status:
                order_service.set_status(db.session, actor, o.id, status)
        db.session.commit()
        for name, days_ago, kind, cause in (("c1", 10, "complaint", "Delivery"),
                                            ("c3", 2, "complaint", "Billing"),
                                            ("c2", 4, "request", "Other")):
            with time_machine.travel(at(days_ago), tick=False):
                tickets.create_ticket(db.session, actor, {
                    "customer_id": str(ids[name]), "subject": "Help", "type": kind,
                    "cause": cause})
                db.session.commit()
        survey = surveys.create_survey(db.session, actor, {
            "name": "Dashboard check", "kind": "custom", "questions": [
                {"id": "nps", "text": "Recommend us?", "kind": "nps", "dimension": "overall"},
                {"id": "sat", "text": "Happy?", "kind": "csat", "dimension": "overall"}]})
        db.session.commit()
        with time_machine.travel(at(1), tick=False):
            for name, nps, sat in (("c1", 10, 5), ("c2", 6, 3), ("c3", 8, 4)):
                token = surveys.invite(db.session, survey.id, ids[name]).token
                surveys.answer(db.session, token, {"nps": nps, "sat": sat})
            db.session.commit()
        db.session.remove()
    return Shop(tenant, ann_id, ids, local_today())
