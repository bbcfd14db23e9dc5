"""SLA escalation: a periodic sweep over tenants, one escalation job per tenant.

The sweep only enqueues; each tenant's job escalates its breached tickets, and the
service claims every breach with a conditional UPDATE, so a job that runs twice (a
retry, two schedulers) escalates nothing twice.
"""

from __future__ import annotations

import uuid

from flask import current_app
from sqlalchemy import select

from saas.extensions import db
from saas.jobs.runner import tenant_job
from saas.models import Staff, Tenant
from saas.models.tickets import Ticket
from saas.services.mail import send_system_mail


@tenant_job(retries=3, intervals=[30, 120, 600], timeout=300)
def escalate(tenant_id: uuid.UUID) -> int:
    from saas.services import tickets

    return len(tickets.escalate_overdue(db.session))


@tenant_job(retries=0, timeout=300, tenant=False)
def escalate_all() -> int:
    from saas.jobs.queue import enqueue

    ids = db.session.scalars(select(Tenant.id).where(Tenant.status == "active")).all()
    db.session.commit()
    for tenant_id in ids:
        enqueue("saas.jobs.tickets:escalate", tenant_id)
    return len(ids)


@tenant_job(retries=5, intervals=[10, 60, 300, 900, 3600], timeout=60)
def notify_escalation(tenant_id: uuid.UUID, ticket_id: str, staff_id: str,
                      breach: str) -> str:
    """Mail the manager an escalated ticket was handed to (system mail, `MAIL_URL`)."""
    session = db.session
    ticket = session.scalars(select(Ticket).where(Ticket.id == uuid.UUID(ticket_id))).first()
    staff = session.scalars(select(Staff).where(Staff.id == uuid.UUID(staff_id))).first()
    if ticket is None or staff is None or not staff.active:
        return "skipped"
    tenant = session.get(Tenant, tenant_id)
    base = (current_app.config.get("BASE_URL") or "").rstrip("/")
    link = f"{base}/t/{tenant.slug}/tickets/{ticket.id}"
    what = "first response" if breach == "first_response" else "resolution"
    body = (f"The {what} deadline of ticket \"{ticket.subject}\" has passed; it was escalated "
            f"to {ticket.priority} priority.\n\n{link}\n\n"
            f"工单“{ticket.subject}”已超过{'首次响应' if breach == 'first_response' else '解决'}"
            f"时限，已升级为 {ticket.priority} 优先级。\n")
    send_system_mail(current_app.config.get("MAIL_URL"),
                     current_app.config.get("MAIL_FROM", "no-reply@saas-crm.local"),
                     staff.email, f"Escalated: {ticket.subject} / 工单已升级", body)
    return "sent"
