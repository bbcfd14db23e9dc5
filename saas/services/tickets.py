"""The service desk: tickets from staff, the API and inbound channel messages.

A ticket's SLA deadlines are computed here from the tenant's policy (`saas.services.sla`)
when it opens and again when its priority changes; time spent waiting for the customer
(`pending_customer`) does not count, so on leaving that status the pending business time
is added to the open deadlines. Replies to the customer go out through the channel
plugin of the ticket's channel when the tenant enabled one; internal notes never leave.

Inbound messages reach `ServiceDesk.inbound_message`, a core plugin registered on the
plugin host by `init_app`: a message from a known phone or email becomes a reply on the
customer's newest open ticket, or a new ticket.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import Select, and_, or_, select, update
from sqlalchemy.orm import Session

from saas.hooks.hookspecs import hookimpl
from saas.hooks.types import InboundMessage
from saas.models import Staff, Tenant
from saas.models.base import new_id, utcnow
from saas.models.customers import Customer
from saas.models.tickets import (
    MESSAGE_KINDS,
    OPEN_STATUSES,
    PRIORITIES,
    STATUSES,
    TICKET_CHANNELS,
    TICKET_TYPES,
    Ticket,
    TicketAttachment,
    TicketMessage,
)
from saas.services import audit, outbox, sla, tenant_lists
from saas.services.context import Actor
from saas.services.customers import bound_tenant, find_by_email, find_by_phone, get_customer
from saas.services.customers import parse_id as _parse_id
from saas.services.errors import Conflict, InvalidInput, NotFound
from saas.tenancy import current_tenant_id
from saas.timeline import TimelineItem, timeline_source

# Allowed status changes. "resolved" and "closed" can only be left by reopening, so a
# reopen is always counted (the reopen rate is a quality measure).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("open", "pending_customer", "resolved", "closed"),
    "open": ("pending_customer", "resolved", "closed"),
    "pending_customer": ("open", "resolved", "closed"),
    "reopened": ("open", "pending_customer", "resolved", "closed"),
    "resolved": ("closed", "reopened"),
    "closed": ("reopened",),
}
DEFAULT_CAUSES = ("Product quality", "Delivery", "Billing", "Service attitude",
                  "Usage question", "Other")
MAX_SUBJECT = 200
MAX_BODY = 20000
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
DUE_SOON = timedelta(hours=4)
ESCALATE_TO = {"low": "normal", "normal": "high", "high": "urgent", "urgent": "urgent"}


# -- settings: cause categories and SLA policy ---------------------------------------


def causes(tenant: Tenant) -> list[str]:
    """The tenant's cause categories (its own list, else the defaults)."""
    own = (tenant.settings or {}).get("ticket_causes")
    return list(own) if own else list(DEFAULT_CAUSES)


def set_causes(session: Session, actor: Actor, names: list[str]) -> list[str]:
    tenant = bound_tenant(session)
    cleaned = tenant_lists.clean_names(names, "causes", "cause")
    return tenant_lists.save_list(session, actor, tenant, "ticket_causes", "causes",
                                  causes(tenant), cleaned)


def set_sla_policy(session: Session, actor: Actor, data: Mapping[str, Any]) -> dict:
    """Save the tenant's SLA policy (validated per field); open tickets keep their
    deadlines until their priority changes."""
    tenant = bound_tenant(session)
    cleaned = sla.clean_policy(data)
    old = sla.policy_data(tenant)
    tenant.settings = {**(tenant.settings or {}), "sla": cleaned}
    audit.record(session, actor, "sla_policy.changed", "tenant", tenant.id,
                 {"sla": [old, cleaned]})
    return cleaned


# -- reading -------------------------------------------------------------------------


def get_ticket(session: Session, ticket_id: Any) -> Ticket:
    tid = _parse_id(ticket_id, "ticket")
    ticket = session.scalars(select(Ticket).where(Ticket.id == tid)).first()
    if ticket is None:
        raise NotFound("No such ticket.")
    return ticket


def messages(session: Session, ticket: Ticket) -> list[TicketMessage]:
    return list(session.scalars(select(TicketMessage).where(
        TicketMessage.ticket_id == ticket.id).order_by(TicketMessage.created_at,
                                                       TicketMessage.id)))


def attachments(session: Session, ticket: Ticket) -> list[TicketAttachment]:
    return list(session.scalars(select(TicketAttachment).where(
        TicketAttachment.ticket_id == ticket.id).order_by(TicketAttachment.created_at)))


QUEUES = ("all", "mine", "team", "overdue", "due_soon", "unassigned")


def _overdue(now: datetime):
    return and_(Ticket.status.in_(("new", "open", "reopened")), or_(
        Ticket.resolution_due_at < now,
        and_(Ticket.first_responded_at.is_(None), Ticket.first_response_due_at < now)))


def query(session: Session, actor: Actor, *, queue: str = "all",
          status: str | None = None, priority: str | None = None,
          customer_id: Any = None, owner_id: Any = None, cause: str | None = None,
          now: datetime | None = None) -> Select:
    """Tickets of a queue with filters: "mine" (I own), "team" (I own or my reports
    own), "overdue" (a deadline passed, not paused), "due soon" (a deadline within the
    next four hours), "unassigned". A select, for pagination by the caller."""
    now = now or utcnow()
    errors: dict[str, list[str]] = {}
    if queue not in QUEUES:
        errors["queue"] = [f"Choose one of: {', '.join(QUEUES)}."]
    if status and status not in STATUSES:
        errors["status"] = [f"Choose one of: {', '.join(STATUSES)}."]
    if priority and priority not in PRIORITIES:
        errors["priority"] = [f"Choose one of: {', '.join(PRIORITIES)}."]
    if errors:
        raise InvalidInput("Invalid filter.", errors)
    stmt = select(Ticket)
    if queue == "mine":
        stmt = stmt.where(Ticket.owner_id == actor.staff_id)
    elif queue == "team":
        reports = select(Staff.id).where(Staff.manager_id == actor.staff_id)
        stmt = stmt.where(or_(Ticket.owner_id == actor.staff_id,
                              Ticket.owner_id.in_(reports)))
    elif queue == "overdue":
        stmt = stmt.where(_overdue(now))
    elif queue == "due_soon":
        soon = now + DUE_SOON
        stmt = stmt.where(Ticket.status.in_(("new", "open", "reopened")),
                          ~_overdue(now), or_(
                              Ticket.resolution_due_at < soon,
                              and_(Ticket.first_responded_at.is_(None),
                                   Ticket.first_response_due_at < soon)))
    elif queue == "unassigned":
        stmt = stmt.where(Ticket.owner_id.is_(None))
    if queue in ("mine", "team", "unassigned") and not status:
        stmt = stmt.where(Ticket.status.in_(OPEN_STATUSES))
    if status:
        stmt = stmt.where(Ticket.status == status)
    if priority:
        stmt = stmt.where(Ticket.priority == priority)
    if customer_id:
        stmt = stmt.where(Ticket.customer_id == get_customer(session, customer_id).id)
    if owner_id:
        stmt = stmt.where(Ticket.owner_id == _parse_id(owner_id, "staff member"))
    if cause:
        stmt = stmt.where(Ticket.cause == cause)
    return stmt


def is_overdue(ticket: Ticket, now: datetime | None = None) -> bool:
    now = now or utcnow()
    if ticket.status not in ("new", "open", "reopened"):
        return False
    if ticket.resolution_due_at and ticket.resolution_due_at < now:
        return True
    return bool(ticket.first_responded_at is None and ticket.first_response_due_at
                and ticket.first_response_due_at < now)


# -- validation ----------------------------------------------------------------------


def _staff(session: Session, value: Any, field: str, errors: dict) -> Staff | None:
    if value in (None, ""):
        return None
    try:
        sid = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        errors[field] = ["No such staff member."]
        return None
    staff = session.scalars(select(Staff).where(Staff.id == sid, Staff.active.is_(True))).first()
    if staff is None:
        errors[field] = ["No such staff member."]
    return staff


def _text(data: Mapping, name: str, limit: int, errors: dict, required: bool) -> str | None:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[name] = ["This field is required."]
        return None
    if not isinstance(value, str):
        errors[name] = ["Enter text."]
        return None
    if len(value) > limit:
        errors[name] = [f"Use at most {limit} characters."]
        return None
    return value.strip()


def _choice(data: Mapping, name: str, allowed: tuple | list, errors: dict) -> str | None:
    value = data.get(name)
    if value in (None, ""):
        return None
    if value not in allowed:
        errors[name] = [f"Choose one of: {', '.join(allowed)}."]
        return None
    return value


def _watchers(session: Session, value: Any, errors: dict) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple):
        errors["watchers"] = ["Give a list of staff ids."]
        return None
    found: list[str] = []
    for raw in value:
        staff = _staff(session, raw, "watchers", errors)
        if staff is not None and str(staff.id) not in found:
            found.append(str(staff.id))
    return found


CREATE_FIELDS = ("customer_id", "subject", "description", "channel", "type", "priority",
                 "cause", "owner_id", "watchers")
UPDATE_FIELDS = ("subject", "description", "type", "priority", "cause", "owner_id",
                 "watchers")


def _snapshot(ticket: Ticket) -> dict:
    return {"id": str(ticket.id), "customer_id": str(ticket.customer_id),
            "subject": ticket.subject, "type": ticket.type, "priority": ticket.priority,
            "status": ticket.status, "channel": ticket.channel, "cause": ticket.cause,
            "owner_id": str(ticket.owner_id) if ticket.owner_id else None,
            "first_response_due_at": ticket.first_response_due_at,
            "resolution_due_at": ticket.resolution_due_at}


def _set_deadlines(tenant: Tenant, ticket: Ticket, start: datetime) -> None:
    policy = sla.policy_for(tenant)
    if ticket.first_responded_at is None:
        ticket.first_response_due_at = sla.add_business_time(
            start, policy.target(ticket.priority, "first_response"), policy.calendar)
    ticket.resolution_due_at = sla.add_business_time(
        start, policy.target(ticket.priority, "resolution"), policy.calendar)


# -- writing -------------------------------------------------------------------------


def create_ticket(session: Session, actor: Actor, data: Mapping[str, Any]) -> Ticket:
    """Open a ticket for a customer of this tenant (another tenant's customer: 404)."""
    errors: dict[str, list[str]] = {}
    for key in data:
        if key not in CREATE_FIELDS:
            errors[key] = ["Unknown field."]
    if not data.get("customer_id"):
        errors["customer_id"] = ["This field is required."]
        customer = None
    else:
        customer = get_customer(session, data["customer_id"])
    tenant = bound_tenant(session)
    subject = _text(data, "subject", MAX_SUBJECT, errors, required=True)
    description = _text(data, "description", MAX_BODY, errors, required=False) or ""
    channel = _choice(data, "channel", TICKET_CHANNELS, errors) or "web"
    kind = _choice(data, "type", TICKET_TYPES, errors) or "request"
    priority = _choice(data, "priority", PRIORITIES, errors) or "normal"
    cause = _choice(data, "cause", causes(tenant), errors)
    owner = _staff(session, data.get("owner_id"), "owner_id", errors)
    watchers = _watchers(session, data.get("watchers"), errors) or []
    if errors:
        raise InvalidInput("The ticket is invalid.", errors)
    assert customer is not None and subject is not None
    now = utcnow()
    ticket = Ticket(id=new_id(), customer_id=customer.id, subject=subject,
                    description=description, channel=channel, type=kind,
                    priority=priority, cause=cause,
                    owner_id=owner.id if owner else None, watchers=watchers,
                    status="new", opened_at=now, reopen_count=0)
    _set_deadlines(tenant, ticket, now)
    session.add(ticket)
    session.flush()
    audit.record(session, actor, "ticket.created", "ticket", ticket.id, _snapshot(ticket))
    outbox.emit(session, "ticket.created", "ticket", ticket.id, _snapshot(ticket))
    return ticket


def update_ticket(session: Session, actor: Actor, ticket_id: Any,
                  data: Mapping[str, Any]) -> Ticket:
    """Change fields; a new priority recomputes the deadlines from the opening time
    (plus any paused time), a new owner is an assignment."""
    ticket = get_ticket(session, ticket_id)
    tenant = bound_tenant(session)
    errors: dict[str, list[str]] = {}
    for key in data:
        if key not in UPDATE_FIELDS:
            errors[key] = ["Unknown field."]
    changes: dict[str, list[Any]] = {}
    values: dict[str, Any] = {}
    if "subject" in data:
        values["subject"] = _text(data, "subject", MAX_SUBJECT, errors, required=True)
    if "description" in data:
        values["description"] = _text(data, "description", MAX_BODY, errors, False) or ""
    if "type" in data:
        values["type"] = _choice(data, "type", TICKET_TYPES, errors) or ticket.type
    if "priority" in data:
        values["priority"] = _choice(data, "priority", PRIORITIES, errors) or ticket.priority
    if "cause" in data:
        values["cause"] = _choice(data, "cause", causes(tenant), errors)
    if "owner_id" in data:
        owner = _staff(session, data.get("owner_id"), "owner_id", errors)
        values["owner_id"] = owner.id if owner else None
    if "watchers" in data:
        values["watchers"] = _watchers(session, data.get("watchers"), errors) or []
    if errors:
        raise InvalidInput("The ticket is invalid.", errors)
    for name, value in values.items():
        if getattr(ticket, name) != value:
            changes[name] = [getattr(ticket, name), value]
            setattr(ticket, name, value)
    if not changes:
        return ticket
    if "priority" in changes:
        _recompute_after_priority(session, tenant, ticket)
        changes["resolution_due_at"] = [None, ticket.resolution_due_at]
    ticket.updated_at = utcnow()
    session.flush()
    audit.record(session, actor, "ticket.updated", "ticket", ticket.id, changes)
    outbox.emit(session, "ticket.updated", "ticket", ticket.id,
                {**_snapshot(ticket), "changed": sorted(changes)})
    return ticket


def _recompute_after_priority(session: Session, tenant: Tenant, ticket: Ticket) -> None:
    """Deadlines run from when the ticket opened (or was last reopened); the business
    time spent waiting for the customer is added back, and a new deadline is a new
    breach that may be escalated again."""
    policy = sla.policy_for(tenant)
    start = ticket.opened_at
    paused = _paused_business_time(session, ticket, policy)
    ticket.first_response_due_at = (
        sla.add_business_time(start, timedelta(hours=policy.target(
            ticket.priority, "first_response")) + paused, policy.calendar)
        if ticket.first_responded_at is None else ticket.first_response_due_at)
    ticket.resolution_due_at = sla.add_business_time(
        start, timedelta(hours=policy.target(ticket.priority, "resolution")) + paused,
        policy.calendar)
    ticket.response_escalated_at = None
    ticket.resolution_escalated_at = None


def _paused_business_time(session: Session, ticket: Ticket,
                          policy: sla.SlaPolicy) -> timedelta:
    """Business time the ticket spent in pending_customer, from its status history in
    the audit log (kept as `paused` on each change out of that status)."""
    from saas.models import AuditEntry

    total = timedelta(0)
    for entry in session.scalars(select(AuditEntry).where(
            AuditEntry.entity_type == "ticket", AuditEntry.entity_id == str(ticket.id),
            AuditEntry.action == "ticket.status_changed")):
        seconds = (entry.changes or {}).get("paused_seconds")
        if isinstance(seconds, int | float):
            total += timedelta(seconds=seconds)
    if ticket.paused_since is not None:
        total += sla.business_time_between(ticket.paused_since, utcnow(), policy.calendar)
    return total


def change_status(session: Session, actor: Actor, ticket_id: Any, status: str) -> Ticket:
    """Move a ticket along the allowed transitions; pending time pauses the clock."""
    ticket = get_ticket(session, ticket_id)
    if status not in STATUSES:
        raise InvalidInput.field("status", f"Choose one of: {', '.join(STATUSES)}.")
    if status == ticket.status:
        return ticket
    if status not in TRANSITIONS[ticket.status]:
        raise Conflict(f"A {ticket.status} ticket cannot become {status}.",
                       {"status": [f"Allowed next: {', '.join(TRANSITIONS[ticket.status])}."]})
    tenant = bound_tenant(session)
    policy = sla.policy_for(tenant)
    now = utcnow()
    old = ticket.status
    paused_seconds = None
    if old == "pending_customer" and ticket.paused_since is not None:
        paused = sla.business_time_between(ticket.paused_since, now, policy.calendar)
        paused_seconds = paused.total_seconds()
        if ticket.first_responded_at is None and ticket.first_response_due_at:
            ticket.first_response_due_at = sla.add_business_time(
                ticket.first_response_due_at, paused, policy.calendar)
        if ticket.resolution_due_at:
            ticket.resolution_due_at = sla.add_business_time(
                ticket.resolution_due_at, paused, policy.calendar)
        ticket.paused_since = None
    if status == "pending_customer":
        ticket.paused_since = now
    if status == "resolved":
        ticket.resolved_at = now
    if status == "closed":
        ticket.closed_at = now
        ticket.resolved_at = ticket.resolved_at or now
    if status == "reopened":
        ticket.reopen_count = (ticket.reopen_count or 0) + 1
        ticket.resolved_at = None
        ticket.closed_at = None
        ticket.resolution_due_at = sla.add_business_time(
            now, policy.target(ticket.priority, "resolution"), policy.calendar)
        ticket.resolution_escalated_at = None
    ticket.status = status
    ticket.updated_at = now
    session.flush()
    changes: dict[str, Any] = {"status": [old, status]}
    if paused_seconds is not None:
        changes["paused_seconds"] = paused_seconds
    audit.record(session, actor, "ticket.status_changed", "ticket", ticket.id, changes)
    name = "ticket.resolved" if status == "resolved" else (
        "ticket.closed" if status == "closed" else "ticket.updated")
    outbox.emit(session, name, "ticket", ticket.id,
                {**_snapshot(ticket), "previous_status": old, "changed": ["status"]})
    return ticket


def add_message(session: Session, actor: Actor, ticket_id: Any, kind: str, body: str,
                ) -> TicketMessage:
    """A reply to the customer (sent through the ticket's channel when a plugin offers
    it) or an internal note. The first reply is the first response of the SLA."""
    ticket = get_ticket(session, ticket_id)
    errors: dict[str, list[str]] = {}
    if kind not in ("reply", "note"):
        errors["kind"] = ["Choose reply or note."]
    text = _text({"body": body}, "body", MAX_BODY, errors, required=True)
    if errors:
        raise InvalidInput("The message is invalid.", errors)
    if ticket.status == "closed":
        raise Conflict("The ticket is closed; reopen it first.",
                       {"status": ["The ticket is closed."]})
    now = utcnow()
    message = TicketMessage(id=new_id(), ticket_id=ticket.id, kind=kind, body=text,
                            author_id=actor.staff_id, author_label=actor.label,
                            channel=ticket.channel if kind == "reply" else None)
    session.add(message)
    if kind == "reply":
        if ticket.first_responded_at is None:
            ticket.first_responded_at = now
        if ticket.status in ("new", "reopened"):
            ticket.status = "open"
        message.delivery_status = _send_reply(session, ticket, message)
    ticket.updated_at = now
    session.flush()
    audit.record(session, actor, f"ticket.{kind}_added", "ticket", ticket.id,
                 {"message_id": str(message.id)})
    outbox.emit(session, "ticket.updated", "ticket", ticket.id,
                {**_snapshot(ticket), "changed": [f"{kind}s"], "message_id": str(message.id)})
    return message


def _send_reply(session: Session, ticket: Ticket, message: TicketMessage) -> str:
    """Queue the reply through the channel plugin; the outcome is shown on the message.

    A missing plugin or withdrawn consent does not stop the reply being recorded (staff
    may have answered by phone); it only says why nothing was sent.
    """
    from saas.services.plugins import ConsentWithdrawn, send_via_channel

    customer = session.get(Customer, (ticket.tenant_id, ticket.customer_id))
    channel = ticket.channel
    to = None
    if customer is not None:
        to = customer.email if channel == "email" else (
            customer.phone if channel == "sms" else None)
    if to is None:
        return "not sent: no address for this channel"
    try:
        delivery = send_via_channel(session, ticket.tenant_id, channel, {
            "to": to, "body": message.body, "subject": f"Re: {ticket.subject}",
            "customer_id": str(ticket.customer_id),
            "context": {"ticket_id": str(ticket.id)}}, key=f"ticket-reply:{message.id}")
    except ConsentWithdrawn:
        return "not sent: consent withdrawn"
    except InvalidInput:
        return f"not sent: no enabled plugin offers {channel}"
    return f"queued: {delivery.id}"


# -- attachments ---------------------------------------------------------------------

# Content sniffing: the bytes decide the type, never the file name or the browser's
# claim. Anything executable (PE, ELF, Mach-O, scripts with a shebang) is refused.
_SIGNATURES: list[tuple[bytes, str]] = [
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"PK\x03\x04", "application/zip"),
]
_EXECUTABLE = (b"MZ", b"\x7fELF", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf",
               b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"#!")
_EXECUTABLE_NAMES = (".exe", ".dll", ".bat", ".cmd", ".com", ".scr", ".msi", ".sh",
                     ".ps1", ".vbs", ".js", ".jar", ".app", ".apk")


def sniff(content: bytes) -> str | None:
    """The content type recognised from the bytes, or None when not allowed."""
    if content.startswith(_EXECUTABLE):
        return None
    for magic, kind in _SIGNATURES:
        if content.startswith(magic):
            if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
                return "image/webp"
            return kind
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "text/plain" if b"\x00" not in content else None


def storage_root(instance_path: str) -> Path:
    return Path(instance_path) / "attachments"


def attachment_path(root: Path, attachment: TicketAttachment) -> Path:
    return root / str(attachment.tenant_id) / str(attachment.ticket_id) / str(attachment.id)


def add_attachment(session: Session, actor: Actor, ticket_id: Any, filename: str,
                   content: bytes, root: Path) -> TicketAttachment:
    """Store a file on a ticket after checking its size and its real type."""
    ticket = get_ticket(session, ticket_id)
    name = Path(str(filename or "")).name.strip()[:200]
    if not name:
        raise InvalidInput.field("file", "Choose a file.")
    if not content:
        raise InvalidInput.field("file", "The file is empty.")
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise InvalidInput.field(
            "file", f"The file is larger than {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB.")
    kind = sniff(content)
    if kind is None or name.lower().endswith(_EXECUTABLE_NAMES):
        raise InvalidInput.field("file", "This type of file is not allowed (executables "
                                         "and unknown binary files are refused).")
    attachment = TicketAttachment(id=new_id(), ticket_id=ticket.id, filename=name,
                                  content_type=kind, size=len(content),
                                  sha256=hashlib.sha256(content).hexdigest(),
                                  uploaded_by_id=actor.staff_id)
    attachment.tenant_id = ticket.tenant_id
    session.add(attachment)
    session.flush()
    path = attachment_path(root, attachment)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    audit.record(session, actor, "ticket.attachment_added", "ticket", ticket.id,
                 {"attachment_id": str(attachment.id), "filename": name, "size": len(content)})
    return attachment


def get_attachment(session: Session, ticket_id: Any, attachment_id: Any
                   ) -> TicketAttachment:
    ticket = get_ticket(session, ticket_id)
    found = session.scalars(select(TicketAttachment).where(
        TicketAttachment.ticket_id == ticket.id,
        TicketAttachment.id == _parse_id(attachment_id, "attachment"))).first()
    if found is None:
        raise NotFound("No such attachment.")
    return found


# -- escalation ----------------------------------------------------------------------


@dataclass(frozen=True)
class Escalation:
    ticket_id: uuid.UUID
    breach: str
    priority: str
    notified_id: uuid.UUID | None


def escalate_overdue(session: Session, now: datetime | None = None) -> list[Escalation]:
    """Escalate each breached deadline of open tickets exactly once.

    A breach is claimed with a conditional UPDATE (`..._escalated_at IS NULL`): if two
    runs race, only the one whose UPDATE changed the row acts. Escalating bumps the
    priority one step (deadlines stay: the customer was promised them), adds the owner's
    manager as a watcher — or makes the manager the owner when nobody owns it — and emits
    `ticket.escalated` for plugins (notifications).
    """
    now = now or utcnow()
    done: list[Escalation] = []
    active = Ticket.status.in_(("new", "open", "reopened"))
    breaches = (
        ("first_response", Ticket.response_escalated_at,
         and_(Ticket.first_responded_at.is_(None), Ticket.first_response_due_at < now)),
        ("resolution", Ticket.resolution_escalated_at, Ticket.resolution_due_at < now),
    )
    for breach, column, condition in breaches:
        ids = list(session.scalars(select(Ticket.id).where(active, condition,
                                                           column.is_(None))))
        for tid in ids:
            claimed = session.execute(
                update(Ticket).where(Ticket.id == tid, column.is_(None), active, condition)
                .values({column.key: now}).execution_options(synchronize_session=False))
            if claimed.rowcount != 1:
                continue
            ticket = session.scalars(select(Ticket).where(Ticket.id == tid)
                                     .execution_options(populate_existing=True)).one()
            done.append(_escalate(session, ticket, breach, now))
    return done


def _escalate(session: Session, ticket: Ticket, breach: str, now: datetime) -> Escalation:
    old_priority = ticket.priority
    ticket.priority = ESCALATE_TO[ticket.priority]
    manager_id = None
    if ticket.owner_id is not None:
        owner = session.get(Staff, (ticket.tenant_id, ticket.owner_id))
        manager_id = owner.manager_id if owner is not None else None
    else:
        manager_id = _fallback_manager(session)
    if manager_id is not None:
        if ticket.owner_id is None:
            ticket.owner_id = manager_id
        elif str(manager_id) not in (ticket.watchers or []):
            ticket.watchers = [*(ticket.watchers or []), str(manager_id)]
    ticket.updated_at = now
    session.flush()
    changes = {"breach": breach, "priority": [old_priority, ticket.priority],
               "notified": str(manager_id) if manager_id else None}
    audit.record(session, Actor.system("sla"), "ticket.escalated", "ticket", ticket.id, changes)
    if manager_id is not None:
        from saas.jobs.queue import enqueue_after_commit

        enqueue_after_commit(session, "saas.jobs.tickets:notify_escalation", ticket.tenant_id,
                             str(ticket.id), str(manager_id), breach)
    outbox.emit(session, "ticket.escalated", "ticket", ticket.id,
                {**_snapshot(ticket), "breach": breach,
                 "previous_priority": old_priority,
                 "notify_staff_id": str(manager_id) if manager_id else None})
    return Escalation(ticket.id, breach, ticket.priority, manager_id)


def _fallback_manager(session: Session) -> uuid.UUID | None:
    """An unowned ticket goes to the first active manager (else the owner)."""
    for role in ("manager", "owner"):
        found = session.scalars(select(Staff.id).where(Staff.role == role,
                                                       Staff.active.is_(True))
                                .order_by(Staff.created_at)).first()
        if found is not None:
            return found
    return None


# -- inbound messages ----------------------------------------------------------------


def receive(session: Session, message: InboundMessage) -> Ticket | None:
    """A message from a known phone or email: a reply on the customer's newest open
    ticket (waking it from pending_customer), else a new ticket. Unknown senders: None."""
    sender = (message.sender or "").strip()
    found = find_by_email(session, sender) if "@" in sender else find_by_phone(session, sender)
    if not found:
        return None
    customer = found[0]
    actor = Actor.system(f"inbound:{message.channel}")
    body = (message.body or "").strip()[:MAX_BODY] or "(empty message)"
    ticket = session.scalars(select(Ticket).where(
        Ticket.customer_id == customer.id, Ticket.status.in_(OPEN_STATUSES))
        .order_by(Ticket.opened_at.desc(), Ticket.id.desc())).first()
    if ticket is None:
        channel = message.channel if message.channel in TICKET_CHANNELS else "web"
        subject = (message.subject or body.splitlines()[0] or "Message")[:MAX_SUBJECT]
        return create_ticket(session, actor, {"customer_id": customer.id,
                                              "subject": subject, "description": body,
                                              "channel": channel, "type": "request"})
    session.add(TicketMessage(id=new_id(), ticket_id=ticket.id, kind="inbound", body=body,
                              author_label=sender[:254], channel=message.channel))
    if ticket.status == "pending_customer":
        change_status(session, actor, ticket.id, "open")
    ticket.updated_at = utcnow()
    session.flush()
    outbox.emit(session, "ticket.updated", "ticket", ticket.id,
                {**_snapshot(ticket), "changed": ["inbound"]})
    return ticket


class ServiceDesk:
    """Core plugin: takes over inbound messages that channel plugins hand over."""

    @hookimpl
    def inbound_message(self, message: InboundMessage, tenant) -> str | None:
        from saas.extensions import db

        session = db.session
        if current_tenant_id(session) != tenant.id:
            return None
        ticket = receive(session, message)
        return f"ticket:{ticket.id}" if ticket is not None else None


def init_app(app: Flask) -> None:
    """Register the service desk on the app's plugin host (called from create_app)."""
    from saas.hooks.manager import get_host

    host = get_host(app)
    if host.pm.get_plugin("service_desk") is None:
        host.register(ServiceDesk(), "service_desk", core=True)


# -- timeline ------------------------------------------------------------------------


@timeline_source("tickets")
def ticket_items(session: Session, customer_id: uuid.UUID, before: datetime | None,
                 limit: int) -> list[TimelineItem]:
    stmt = select(Ticket).where(Ticket.customer_id == customer_id)
    if before is not None:
        stmt = stmt.where(Ticket.opened_at < before)
    stmt = stmt.order_by(Ticket.opened_at.desc(), Ticket.id.desc()).limit(limit)
    return [TimelineItem(at=t.opened_at, kind="ticket", title=t.subject,
                         entity_type="ticket", entity_id=str(t.id),
                         body=(t.description or "")[:500] or None,
                         data={"status": t.status, "priority": t.priority,
                               "type": t.type, "channel": t.channel})
            for t in session.scalars(stmt)]


__all__ = ["MESSAGE_KINDS", "TRANSITIONS", "create_ticket", "update_ticket",
           "change_status", "add_message", "add_attachment", "escalate_overdue",
           "receive", "query", "init_app"]
