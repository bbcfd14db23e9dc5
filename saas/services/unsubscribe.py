"""Unsubscribe links in customer messages: signed, not stored, one customer and channel.

Consent is the platform's, not a plugin's: channels only carry the link (and email's
``List-Unsubscribe`` header); following it withdraws the consent through the customer
service, so the change is validated, audited and emitted like any other.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from saas.models import Tenant
from saas.services.context import Actor
from saas.services.errors import NotFound
from saas.tenancy import current_tenant_id

UNSUBSCRIBE_SALT = "saas.unsubscribe"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)


def unsubscribe_url(tenant: Tenant, customer_id: Any, channel: str,
                    recipient_id: uuid.UUID | None = None) -> str:
    """A link that withdraws one customer's consent for one channel, without login.

    Signed, not stored: the mail can be forwarded, but the link can only ever do this. A
    campaign message's link also names its recipient row (so campaign and variant), which
    is how results count opt-outs per variant."""
    data = {"t": tenant.id.hex, "c": str(customer_id), "ch": channel}
    if recipient_id is not None:
        data["r"] = recipient_id.hex
    token = _serializer().dumps(data)
    base = current_app.config.get("BASE_URL", "").rstrip("/")
    return f"{base}/t/{tenant.slug}/unsubscribe/{token}"


def _payload(session: Session, token: str) -> dict:
    try:
        data = _serializer().loads(token)
    except BadSignature as exc:
        raise NotFound("This unsubscribe link is not valid.") from exc
    tenant_id = current_tenant_id(session)
    if not isinstance(data, dict) or tenant_id is None or data.get("t") != tenant_id.hex:
        raise NotFound("This unsubscribe link is not valid.")
    return data


def read_unsubscribe_token(session: Session, token: str) -> tuple[str, str]:
    """(customer id, channel) of a valid link for the bound tenant, else `NotFound`."""
    data = _payload(session, token)
    return str(data.get("c")), str(data.get("ch"))


def unsubscribe(session: Session, token: str) -> str:
    """Withdraw the consent a link names (idempotent); returns the channel."""
    from saas.services.customers import update_customer

    data = _payload(session, token)
    customer_id, channel = str(data.get("c")), str(data.get("ch"))
    update_customer(session, Actor.system("unsubscribe link"), customer_id,
                    {"consent": {channel: {"status": "withdrawn",
                                           "source": "unsubscribe link"}}})
    if data.get("r"):
        _mark_recipient(session, data["r"], customer_id)
    return channel


def _mark_recipient(session: Session, recipient_hex: str, customer_id: str) -> None:
    """The campaign message whose link was followed counts the opt-out (first time only)."""
    from sqlalchemy import update

    from saas.models.base import utcnow
    from saas.models.campaigns import CampaignRecipient

    try:
        rid, cid = uuid.UUID(hex=recipient_hex), uuid.UUID(customer_id)
    except ValueError:
        return
    session.execute(update(CampaignRecipient).where(
        CampaignRecipient.id == rid, CampaignRecipient.customer_id == cid,
        CampaignRecipient.opted_out_at.is_(None)).values(opted_out_at=utcnow()))
