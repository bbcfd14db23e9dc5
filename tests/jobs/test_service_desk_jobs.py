"""Service-desk jobs: SLA escalation (inline and through a real RQ worker on Redis) and
visit regeneration when a customer's tier changes (through the outbox dispatcher)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.jobs.queue import enqueue
from saas.jobs.schedule import PERIODIC
from saas.models import OutboxEvent
from saas.models.base import utcnow
from saas.models.tickets import Ticket
from saas.models.visits import VisitTask
from saas.services import customers, tickets, tiers, visits


def test_schedule_has_escalation_and_daily_visits():
    entries = {p.name: p for p in PERIODIC}
    assert entries["sla-escalation"].path == "saas.jobs.tickets:escalate_all"
    assert entries["visits-daily"].path == "saas.jobs.visits:generate_all"


def _overdue_ticket(app, tenant):
    """A ticket whose deadlines passed long ago (opened 30 days back, deadlines set)."""
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        c = customers.create_customer(db.session, actor, {"name": "Late"})
        t = tickets.create_ticket(db.session, actor, {"customer_id": c.id, "subject": "x"})
        t.first_response_due_at = utcnow() - timedelta(days=29)
        t.resolution_due_at = utcnow() - timedelta(days=28)
        db.session.commit()
        tid = t.id
        db.session.remove()
    return tid


def _escalations(app, tenant) -> list[str]:
    with app.app_context():
        tenant.bind()
        names = [e.payload["breach"] for e in db.session.scalars(select(OutboxEvent).where(
            OutboxEvent.name == "ticket.escalated"))]
        db.session.remove()
    return sorted(names)


def test_escalation_sweep_runs_each_tenant_and_escalates_once(app, make_tenant):
    a, b = make_tenant(), make_tenant()
    _overdue_ticket(app, a)
    with app.app_context():
        enqueue("saas.jobs.tickets:escalate_all")
        enqueue("saas.jobs.tickets:escalate_all")
    assert _escalations(app, a) == ["first_response", "resolution"]
    assert _escalations(app, b) == []


@pytest.mark.redis
def test_real_worker_escalates_an_overdue_ticket_once(app, make_tenant, use_redis,
                                                       redis_url, run_worker):
    tenant = make_tenant()
    tid = _overdue_ticket(app, tenant)
    use_redis(redis_url)
    with app.app_context():
        enqueue("saas.jobs.tickets:escalate", tenant.id)
        enqueue("saas.jobs.tickets:escalate", tenant.id)
    run_worker()
    assert _escalations(app, tenant) == ["first_response", "resolution"]
    with app.app_context():
        tenant.bind()
        assert db.session.get(Ticket, (tenant.id, tid)).priority == "urgent"
        db.session.remove()


def test_tier_change_reshuffles_visits_through_the_outbox(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        by_name = {t.name: t for t in tiers.list_tiers(db.session)}
        c = customers.create_customer(db.session, actor, {"name": "Mover",
                                                          "owner_id": str(tenant.owner_id)})
        tiers.override(db.session, actor, c.id, by_name["A"].id, None)
        db.session.commit()   # the event's dispatcher generates the A visit
        tenant.bind()
        tiers.override(db.session, actor, c.id, by_name["B"].id, None)
        db.session.commit()   # ... and on the change, the B visit replaces it
        tenant.bind()
        rows = sorted((t.status, t.method) for t in db.session.scalars(select(VisitTask)))
        db.session.remove()
    assert rows == [("cancelled", "phone"), ("planned", "message")]
    assert visits.LOOKAHEAD_DAYS >= 0


def test_escalation_mails_the_owners_manager(app, make_tenant, monkeypatch):
    from saas.models import Staff
    from tests.api.conftest import add_staff
    from tests.plugins.servers import smtp_server

    tenant = make_tenant()
    with app.app_context():
        agent_id = add_staff(tenant, "agent")
        manager_id = add_staff(tenant, "manager")
        tenant.bind()
        db.session.get(Staff, (tenant.id, agent_id)).manager_id = manager_id
        manager_email = db.session.get(Staff, (tenant.id, manager_id)).email
        db.session.commit()
        db.session.remove()
    tid = _overdue_ticket(app, tenant)
    with app.app_context():
        tenant.bind()
        tickets.update_ticket(db.session, tenant.owner_actor(), tid, {"owner_id": agent_id})
        t = db.session.get(Ticket, (tenant.id, tid))
        t.first_response_due_at = utcnow() - timedelta(days=29)
        t.resolution_due_at = utcnow() - timedelta(days=28)
        db.session.commit()
        db.session.remove()
    with smtp_server("none") as (port, box):
        monkeypatch.setitem(app.config, "MAIL_URL", f"smtp://127.0.0.1:{port}")
        with app.app_context():
            enqueue("saas.jobs.tickets:escalate", tenant.id)
            enqueue("saas.jobs.tickets:escalate", tenant.id)
    assert [m["To"] for m in box.messages] == [manager_email, manager_email]  # two breaches
    assert all(m["Subject"].startswith("Escalated: x") for m in box.messages)
