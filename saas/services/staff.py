"""Staff: invitations, accepting them, roles, deactivation and authentication."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from saas.models import ROLES, Invitation, Staff
from saas.models.base import utcnow
from saas.services import audit, limits, outbox
from saas.services.context import Actor
from saas.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from saas.services.passwords import hash_password, password_problems, verify_password
from saas.services.tenants import EMAIL_RE, normalise_email

_RANK = {role: i for i, role in enumerate(ROLES)}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def get_staff(session: Session, staff_id: uuid.UUID | str) -> Staff:
    try:
        sid = staff_id if isinstance(staff_id, uuid.UUID) else uuid.UUID(str(staff_id))
    except ValueError as exc:
        raise NotFound("No such staff member.") from exc
    staff = session.scalars(select(Staff).where(Staff.id == sid)).first()
    if staff is None:
        raise NotFound("No such staff member.")
    return staff


def list_staff(session: Session, role: str | None = None, active: bool | None = None):
    stmt = select(Staff).order_by(Staff.active.desc(), Staff.name, Staff.id)
    if role is not None:
        stmt = stmt.where(Staff.role == role)
    if active is not None:
        stmt = stmt.where(Staff.active.is_(active))
    return stmt


def _check_can_grant(actor: Actor, role: str) -> None:
    if role not in ROLES:
        raise InvalidInput.field("role", f"Choose one of: {', '.join(ROLES)}.")
    if role == "owner" and actor.role != "owner":
        raise Forbidden("Only the owner can grant the owner role.", {"role": ["Owner only."]})
    if _RANK.get(actor.role, 99) > _RANK[role]:
        raise Forbidden("You cannot grant a role above your own.",
                        {"role": ["Above your own role."]})


def invite(session: Session, actor: Actor, email: str, role: str, ttl_hours: int,
           base_url: str, tenant_slug: str) -> tuple[Invitation, str]:
    """Create an invitation and return it with its one-time link."""
    email = normalise_email(email)
    if not EMAIL_RE.match(email):
        raise InvalidInput.field("email", "Enter a valid email address.")
    _check_can_grant(actor, role)
    if session.scalar(select(func.count()).select_from(Staff).where(Staff.email == email)):
        raise Conflict("Already a staff member.", {"email": ["Already a staff member."]})
    limits.check(session, None, "seats", adding=1)
    token = secrets.token_urlsafe(32)
    inv = Invitation(email=email, role=role, token_hash=_hash(token),
                     expires_at=utcnow() + timedelta(hours=ttl_hours),
                     invited_by_id=actor.staff_id)
    session.add(inv)
    session.flush()
    link = f"{base_url.rstrip('/')}/t/{tenant_slug}/invite/{token}"
    audit.record(session, actor, "staff.invited", "invitation", inv.id,
                 {"email": email, "role": role})
    outbox.emit(session, "staff.invited", "invitation", inv.id, {"email": email, "role": role})
    from saas.jobs.queue import enqueue_after_commit

    enqueue_after_commit(session, "saas.jobs.mail:send_invitation", inv.tenant_id, inv.id,
                         link)
    return inv, link


def list_invitations(session: Session):
    return select(Invitation).order_by(Invitation.created_at.desc(), Invitation.id.desc())


def revoke_invitation(session: Session, actor: Actor,
                      invitation_id: uuid.UUID | str) -> Invitation:
    """Make a pending invitation's link useless; revoking twice changes nothing."""
    try:
        iid = invitation_id if isinstance(invitation_id, uuid.UUID) else uuid.UUID(
            str(invitation_id))
    except ValueError as exc:
        raise NotFound("No such invitation.") from exc
    inv = session.scalars(select(Invitation).where(Invitation.id == iid)).first()
    if inv is None:
        raise NotFound("No such invitation.")
    if inv.accepted_at is not None:
        raise Conflict("This invitation has already been accepted.")
    if inv.revoked_at is None:
        inv.revoked_at = utcnow()
        audit.record(session, actor, "staff.invitation_revoked", "invitation", inv.id,
                     {"email": inv.email})
    return inv


def find_invitation(session: Session, token: str) -> Invitation:
    """The invitation behind a link, if it can still be used."""
    inv = session.scalars(select(Invitation).where(Invitation.token_hash == _hash(token))).first()
    if inv is None or inv.revoked_at is not None:
        raise NotFound("This invitation link is not valid.")
    if inv.accepted_at is not None:
        raise Conflict("This invitation has already been used.")
    if inv.expires_at < utcnow():
        raise Conflict("This invitation has expired. Ask for a new one.")
    return inv


def accept_invitation(session: Session, token: str, name: str, password: str,
                      ip: str | None = None) -> Staff:
    inv = find_invitation(session, token)
    errors: dict[str, list[str]] = {}
    if not (name or "").strip():
        errors["name"] = ["Enter your name."]
    problems = password_problems(password or "", inv.email)
    if problems:
        errors["password"] = problems
    if errors:
        raise InvalidInput("Please correct the form.", errors)
    if session.scalar(select(func.count()).select_from(Staff).where(Staff.email == inv.email)):
        raise Conflict("Already a staff member.", {"email": ["Already a staff member."]})
    limits.check(session, None, "seats", adding=0)  # its seat was counted at invitation
    staff = Staff(email=inv.email, name=name.strip(), role=inv.role,
                  password_hash=hash_password(password))
    session.add(staff)
    session.flush()
    inv.accepted_at = utcnow()
    inv.accepted_staff_id = staff.id
    actor = Actor.of_staff(staff, ip=ip)
    audit.record(session, actor, "staff.joined", "staff", staff.id,
                 {"email": staff.email, "role": staff.role})
    outbox.emit(session, "staff.joined", "staff", staff.id, {"role": staff.role})
    return staff


def change_role(session: Session, actor: Actor, staff: Staff, role: str) -> Staff:
    _check_can_grant(actor, role)
    if staff.role == "owner" and actor.role != "owner":
        raise Forbidden("Only the owner can change the owner's role.")
    if staff.role == "owner" and role != "owner" and _owner_count(session) <= 1:
        raise Conflict("A tenant needs at least one owner.", {"role": ["Last owner."]})
    if staff.role != role:
        audit.record(session, actor, "staff.role_changed", "staff", staff.id,
                     {"role": [staff.role, role]})
        staff.role = role
    return staff


def _owner_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Staff).where(
        Staff.role == "owner", Staff.active.is_(True))) or 0


def set_active(session: Session, actor: Actor, staff: Staff, active: bool) -> Staff:
    if staff.id == actor.staff_id and not active:
        raise Conflict("You cannot deactivate yourself.")
    if staff.role == "owner" and actor.role != "owner":
        raise Forbidden("Only the owner can deactivate an owner.")
    if staff.role == "owner" and not active and _owner_count(session) <= 1:
        raise Conflict("A tenant needs at least one active owner.")
    if active and not staff.active:
        limits.check(session, None, "seats", adding=1)
    if staff.active != active:
        staff.active = active
        audit.record(session, actor, "staff.activated" if active else "staff.deactivated",
                     "staff", staff.id, {"email": staff.email})
        outbox.emit(session, "staff.updated", "staff", staff.id, {"active": active})
    return staff


def authenticate(session: Session, email: str, password: str, ip: str | None = None,
                 user_agent: str | None = None) -> Staff | None:
    """The active staff member with these credentials in the bound tenant, or None."""
    staff = session.scalars(select(Staff).where(Staff.email == normalise_email(email))).first()
    ok = verify_password(staff.password_hash if staff else None, password or "")
    if not ok or staff is None or not staff.active:
        if staff is not None:
            audit.record(session, Actor(label=staff.email, ip=ip, user_agent=user_agent),
                         "auth.login_failed", "staff", staff.id)
        return None
    staff.last_login_at = utcnow()
    audit.record(session, Actor.of_staff(staff, ip, user_agent), "auth.login", "staff",
                 staff.id)
    return staff
