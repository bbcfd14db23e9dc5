"""Retention: delete or anonymise interactions and tickets older than N months.

The policy is a tenant setting (`settings["retention"]`), off until the admin sets it.
`preview` counts what a run would touch (the dry run the admin sees before saving);
`apply` does it in one transaction. Only closed or resolved tickets are touched, so a
case still being worked never disappears under an agent.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.orm import Session

from saas.models.base import utcnow
from saas.models.interactions import Interaction
from saas.models.tickets import Ticket, TicketAttachment, TicketMessage
from saas.services import audit
from saas.services.context import Actor
from saas.services.errors import InvalidInput
from saas.services.subject_requests import ERASED

ACTIONS = ("delete", "anonymise")
TARGETS = ("interactions", "tickets")
MAX_MONTHS = 600
CLOSED = ("resolved", "closed")


@dataclass
class Policy:
    months: int | None = None
    action: str = "anonymise"
    targets: tuple[str, ...] = TARGETS

    @property
    def enabled(self) -> bool:
        return bool(self.months)


def get_policy(session: Session) -> Policy:
    from saas.services.customers import bound_tenant

    raw = (bound_tenant(session).settings or {}).get("retention") or {}
    return Policy(months=raw.get("months"), action=raw.get("action", "anonymise"),
                  targets=tuple(raw.get("targets") or TARGETS))


def clean_policy(data: dict[str, Any]) -> Policy:
    errors: dict[str, list[str]] = {}
    months = data.get("months")
    if months in ("", None):
        months = None
    else:
        try:
            months = int(months)
        except (TypeError, ValueError):
            months = -1
        if not 1 <= months <= MAX_MONTHS:
            errors["months"] = [f"Enter 1-{MAX_MONTHS} months, or leave empty to keep all."]
    action = data.get("action") or "anonymise"
    if action not in ACTIONS:
        errors["action"] = [f"Choose one of: {', '.join(ACTIONS)}."]
    targets = data.get("targets") or list(TARGETS)
    if isinstance(targets, str):
        targets = [targets]
    if not isinstance(targets, list | tuple) or any(t not in TARGETS for t in targets):
        errors["targets"] = [f"Choose from: {', '.join(TARGETS)}."]
    if errors:
        raise InvalidInput("Please correct the retention policy.", errors)
    return Policy(months, action, tuple(targets))


def set_policy(session: Session, actor: Actor, data: dict[str, Any]) -> Policy:
    from saas.services.customers import bound_tenant

    policy = clean_policy(data)
    tenant = bound_tenant(session)
    old = (tenant.settings or {}).get("retention")
    new = {"months": policy.months, "action": policy.action,
           "targets": list(policy.targets)}
    tenant.settings = {**(tenant.settings or {}), "retention": new}
    audit.record(session, actor, "privacy.retention_changed", "tenant", tenant.id,
                 {"retention": [old, new]})
    return policy


def cutoff(policy: Policy, now: datetime | None = None) -> datetime:
    """N months back, counted as 30-day months (a policy is a bound, not a calendar)."""
    return (now or utcnow()) - timedelta(days=30 * (policy.months or 0))


def _interaction_filter(before: datetime):
    return Interaction.occurred_at < before


def _ticket_filter(before: datetime):
    return and_(Ticket.opened_at < before, Ticket.status.in_(CLOSED))


def preview(session: Session, policy: Policy | None = None,
            now: datetime | None = None) -> dict[str, int]:
    """How many rows a run would delete or anonymise (the dry run)."""
    policy = policy or get_policy(session)
    if not policy.enabled:
        return {t: 0 for t in TARGETS}
    before = cutoff(policy, now)
    counts = {t: 0 for t in TARGETS}
    if "interactions" in policy.targets:
        counts["interactions"] = session.scalar(select(func.count()).select_from(
            Interaction).where(_interaction_filter(before))) or 0
    if "tickets" in policy.targets:
        counts["tickets"] = session.scalar(select(func.count()).select_from(Ticket).where(
            _ticket_filter(before))) or 0
    return counts


def apply(session: Session, actor: Actor, now: datetime | None = None) -> dict[str, Any]:
    """Run the tenant's policy once; returns the counts (also written to the audit log)."""
    policy = get_policy(session)
    counts = preview(session, policy, now)
    if not policy.enabled or not any(counts.values()):
        return {"action": policy.action, **counts}
    before = cutoff(policy, now)
    opts = {"synchronize_session": False}
    if "interactions" in policy.targets and counts["interactions"]:
        cond = _interaction_filter(before)
        if policy.action == "delete":
            session.execute(delete(Interaction).where(cond).execution_options(**opts))
        else:
            session.execute(update(Interaction).where(cond).values(summary=ERASED)
                            .execution_options(**opts))
    if "tickets" in policy.targets and counts["tickets"]:
        ids = select(Ticket.id).where(_ticket_filter(before))
        if policy.action == "delete":
            session.execute(delete(TicketMessage).where(TicketMessage.ticket_id.in_(ids))
                            .execution_options(**opts))
            session.execute(delete(TicketAttachment).where(
                TicketAttachment.ticket_id.in_(ids)).execution_options(**opts))
            session.execute(delete(Ticket).where(_ticket_filter(before))
                            .execution_options(**opts))
        else:
            session.execute(update(TicketMessage).where(TicketMessage.ticket_id.in_(ids))
                            .values(body=ERASED, author_label=None).execution_options(**opts))
            session.execute(update(Ticket).where(_ticket_filter(before))
                            .values(subject=ERASED, description=ERASED)
                            .execution_options(**opts))
    result = {"action": policy.action, **counts, "before": before.isoformat()}
    audit.record(session, actor, "privacy.retention_applied", "tenant", None,
                 {"policy": asdict(policy) | {"targets": list(policy.targets)}, **result})
    return result
