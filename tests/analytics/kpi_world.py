"""A small team with hand-countable KPIs for November 2026 (tenant in Asia/Shanghai).

Alice (agent, department North) owns c1, c2; Bob (agent) owns c3; nobody owns c4.

| figure                    | Alice          | Bob        |
|---------------------------|----------------|------------|
| customers owned           | 2              | 1          |
| visits due / done / on time | 2 / 2 / 1    | 1 / 0 / 0  |
| tickets handled (resolved)| 1              | 1          |
| first response (h)        | (2 + 4)/2 = 3  | 48         |
| resolution (h)            | 24             | 72         |
| CSAT                      | (5 + 4)/2 = 4.5| —          |
| NPS                       | (2 − 1)/3 = 33.3 | −100     |
| revenue (Nov)             | 100 + 20 = 120 | 40         |

Times are set with time_machine, so every service stamps what the table says.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

import time_machine

from saas.extensions import db
from saas.models.tenant import Staff
from saas.services import customers as customer_service
from saas.services import orders as order_service
from saas.services import surveys, tickets, tiers, visits
from saas.services.context import Actor
from tests.analytics import world

SINCE, UNTIL = date(2026, 11, 1), date(2026, 11, 30)


@dataclass
class Team:
    alice: uuid.UUID
    bob: uuid.UUID
    customers: list


def at(day: int, hour: int = 2, month: int = 11):
    """02:00 UTC = 10:00 in Shanghai, well inside the local day."""
    return time_machine.travel(datetime(2026, month, day, hour, tzinfo=UTC), tick=False)


def _staff_actor(tenant, staff_id) -> Actor:
    return Actor.of_staff(db.session.get(Staff, (tenant.id, staff_id)))


def build(tenant, add_staff) -> Team:
    """Inside an app context; commits. `add_staff(tenant, role)` makes a staff member."""
    alice_id = add_staff(tenant, "agent", email=f"alice@{tenant.slug}.example.com")
    bob_id = add_staff(tenant, "agent", email=f"bob@{tenant.slug}.example.com")
    tenant.bind()
    db.session.get(Staff, (tenant.id, alice_id)).name = "Alice"
    db.session.get(Staff, (tenant.id, alice_id)).department = "North"
    db.session.get(Staff, (tenant.id, bob_id)).name = "Bob"
    owner = tenant.owner_actor()
    alice, bob = _staff_actor(tenant, alice_id), _staff_actor(tenant, bob_id)
    world.products(owner, "A")
    by_name = {t.name: t for t in tiers.list_tiers(db.session)}
    cs = []
    for name, who in (("c1", alice_id), ("c2", alice_id), ("c3", bob_id), ("c4", None)):
        with at(10):  # tier A plans a visit due today, 10 November
            c = customer_service.create_customer(db.session, owner, {
                "name": name, **({"owner_id": str(who)} if who else {})})
            if who:
                tiers.override(db.session, owner, c.id, by_name["A"].id, None)
                visits.generate(db.session, customer_ids=[c.id])
        cs.append(c)
    c1, c2, c3, c4 = cs
    db.session.commit()

    world.order(owner, c1.id, ["A"], at=datetime(2026, 11, 5, 2, tzinfo=UTC), price="100.00")
    refunded = world.order(owner, c1.id, ["A"], at=datetime(2026, 11, 10, 2, tzinfo=UTC),
                           price="50.00")
    order_service.refund_order(db.session, owner, refunded.id)
    world.order(owner, c1.id, ["A"], at=datetime(2026, 10, 20, 2, tzinfo=UTC), price="30.00")
    world.order(owner, c2.id, ["A"], at=datetime(2026, 11, 20, 2, tzinfo=UTC), price="20.00")
    world.order(owner, c3.id, ["A"], at=datetime(2026, 11, 15, 2, tzinfo=UTC), price="40.00")
    world.order(owner, c4.id, ["A"], at=datetime(2026, 11, 15, 2, tzinfo=UTC), price="70.00")
    db.session.commit()

    def ticket(actor, customer, opened, replied, resolved=None):
        with at(*opened):
            t = tickets.create_ticket(db.session, owner, {
                "customer_id": str(customer.id), "subject": "Help",
                "owner_id": str(actor.staff_id)})
        with at(*replied):
            tickets.add_message(db.session, actor, t.id, "reply", "On it")
        if resolved:
            with at(*resolved):
                tickets.change_status(db.session, actor, t.id, "resolved")
        db.session.commit()

    ticket(alice, c1, (2, 2), (2, 4), (3, 2))          # 2 h, 24 h
    ticket(alice, c2, (4, 2), (4, 6))                  # 4 h, open
    ticket(bob, c3, (30, 2, 10), (1, 2), (2, 2))       # 48 h, 72 h

    tasks = {t.customer_id: t for t in visits.my_visits(
        db.session, alice_id, today=date(2026, 11, 10))["today"]}
    with at(10, 14):  # 22:00 local on the due day: on time
        visits.record_visit(db.session, alice, tasks[c1.id].id, {"outcome": "ok", "rating": 5})
    with at(12):
        visits.record_visit(db.session, alice, tasks[c2.id].id, {"outcome": "ok", "rating": 4})
    db.session.commit()

    csat = surveys.create_survey(db.session, owner, {"name": "Agent CSAT", "kind": "csat"})
    nps = surveys.create_survey(db.session, owner, {"name": "Agent NPS", "kind": "nps"})
    db.session.commit()
    answers = [(csat, c1, alice_id, 5), (csat, c2, alice_id, 4),
               (nps, c1, alice_id, 10), (nps, c2, alice_id, 9), (nps, c4, alice_id, 3),
               (nps, c3, bob_id, 6)]
    for i, (survey, customer, agent, score) in enumerate(answers):
        with at(20):
            inv = surveys.invite(db.session, survey.id, customer.id, "ticket", f"t{i}", agent)
            surveys.answer(db.session, inv.token, {survey.questions[0]["id"]: score})
        db.session.commit()
    with at(20):  # outside the period: does not count
        inv = surveys.invite(db.session, csat.id, c3.id, "ticket", "old", bob_id)
    with at(2, month=12):
        surveys.answer(db.session, inv.token, {csat.questions[0]["id"]: 1})
    db.session.commit()
    return Team(alice_id, bob_id, cs)


def at_risk_shop(tenant, add_staff, score: bool = True):
    """Alice (North) and Bob each own one lapsed regular buyer (Bob's spent more), Alice
    also a steady one; churn scores stored. Returns (alice_id, bob_id, {name: id})."""
    from datetime import timedelta

    from saas.analytics import refresh
    from saas.models.base import utcnow

    alice_id = add_staff(tenant, "agent", email=f"alice@{tenant.slug}.example.com")
    bob_id = add_staff(tenant, "agent", email=f"bob@{tenant.slug}.example.com")
    tenant.bind()
    db.session.get(Staff, (tenant.id, alice_id)).department = "North"
    owner = tenant.owner_actor()
    world.products(owner, "A")
    now = utcnow()
    ids = {}
    for name, who, price in (("Lapsed A", alice_id, "10.00"), ("Lapsed B", bob_id, "30.00"),
                             ("Steady", alice_id, "10.00")):
        c = customer_service.create_customer(db.session, owner, {
            "name": name, "owner_id": str(who)})
        days = [70, 40, 10] if name == "Steady" else [165, 135, 105, 75]
        for d in days:
            world.order(owner, c.id, ["A"], at=now - timedelta(days=d), price=price)
        ids[name] = c.id
    if score:
        refresh.refresh_churn(db.session)
    db.session.commit()
    return alice_id, bob_id, ids
