"""API tokens: shown once, stored hashed, scoped read or write, revocable.

A token reads `crm_<tenant id hex>_<secret>`: the tenant part lets the API bind the
tenant before looking the hash up, so the lookup itself runs under row-level security.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.models import ApiToken, Staff
from saas.models.base import utcnow
from saas.services import audit
from saas.services.context import Actor
from saas.services.errors import InvalidInput, NotFound

SCOPES = ("read", "write")
LAST_USED_GRANULARITY = timedelta(minutes=1)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(session: Session, actor: Actor, name: str, scope: str) -> tuple[ApiToken, str]:
    errors = {}
    if not (name or "").strip() or len(name) > 100:
        errors["name"] = ["Give the token a name (up to 100 characters)."]
    if scope not in SCOPES:
        errors["scope"] = ["Choose read or write."]
    if errors:
        raise InvalidInput("Token has errors.", errors)
    if actor.staff_id is None:
        raise InvalidInput.field("staff", "A token belongs to a staff member.")
    from saas.tenancy import current_tenant_id

    tenant_id = current_tenant_id(session)
    secret = secrets.token_urlsafe(32)
    raw = f"crm_{tenant_id.hex}_{secret}"
    token = ApiToken(name=name.strip(), scope=scope, staff_id=actor.staff_id,
                     token_hash=_hash(raw), prefix=raw[:12] + secret[:4])
    session.add(token)
    session.flush()
    audit.record(session, actor, "token.created", "api_token", token.id,
                 {"name": token.name, "scope": scope})
    return token, raw


def parse_tenant(raw: str) -> uuid.UUID | None:
    parts = (raw or "").split("_", 2)
    if len(parts) != 3 or parts[0] != "crm":
        return None
    try:
        return uuid.UUID(hex=parts[1])
    except ValueError:
        return None


def resolve_token(session: Session, raw: str) -> tuple[ApiToken, Staff] | None:
    """The live token and its staff member, in the tenant already bound to `session`."""
    token = session.scalars(select(ApiToken).where(ApiToken.token_hash == _hash(raw))).first()
    if token is None or token.revoked_at is not None:
        return None
    staff = session.scalars(select(Staff).where(Staff.id == token.staff_id)).first()
    if staff is None or not staff.active:
        return None
    now = utcnow()
    # At most one write a minute per token: busy integrations must not turn every read
    # into an UPDATE that serialises on the token's row.
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_GRANULARITY:
        token.last_used_at = now
    return token, staff


def list_tokens(session: Session, staff_id: uuid.UUID | None = None):
    stmt = select(ApiToken).order_by(ApiToken.created_at.desc())
    if staff_id is not None:
        stmt = stmt.where(ApiToken.staff_id == staff_id)
    return stmt


def revoke(session: Session, actor: Actor, token_id: uuid.UUID | str,
           own_only: bool = False) -> ApiToken:
    try:
        tid = uuid.UUID(str(token_id))
    except ValueError as exc:
        raise NotFound("No such token.") from exc
    token = session.scalars(select(ApiToken).where(ApiToken.id == tid)).first()
    if token is None or (own_only and token.staff_id != actor.staff_id):
        raise NotFound("No such token.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(session, actor, "token.revoked", "api_token", token.id,
                     {"name": token.name})
    return token
