"""Sending system mail from a job, so a slow SMTP server never holds up a request."""

from __future__ import annotations

import uuid

from flask import current_app
from sqlalchemy import select

from saas.extensions import db
from saas.jobs.runner import tenant_job
from saas.models import Invitation, Staff, Tenant
from saas.services.mail import send_system_mail


@tenant_job(retries=5, intervals=[10, 60, 300, 900, 3600], timeout=60)
def send_invitation(tenant_id: uuid.UUID, invitation_id: str, link: str) -> str:
    session = db.session
    inv = session.scalars(select(Invitation).where(
        Invitation.id == uuid.UUID(str(invitation_id)))).first()
    if inv is None or inv.accepted_at is not None or inv.revoked_at is not None:
        return "skipped"
    tenant = session.get(Tenant, tenant_id)
    inviter = session.scalars(select(Staff).where(Staff.id == inv.invited_by_id)).first()
    who = inviter.name if inviter else tenant.name
    body = (f"{who} invited you to join {tenant.name} on SaaS CRM.\n\n"
            f"Accept the invitation (valid until {inv.expires_at:%Y-%m-%d %H:%M} UTC):\n"
            f"{link}\n\n{who} 邀请您加入 {tenant.name}。请点击上面的链接接受邀请。\n")
    send_system_mail(current_app.config.get("MAIL_URL"),
                     current_app.config.get("MAIL_FROM", "no-reply@saas-crm.local"),
                     inv.email, f"Invitation to {tenant.name} / 邀请加入 {tenant.name}", body)
    return "sent"
