"""Referral codes: a customer shares a code; whoever registers with it and then places a
first order earns the referrer the programme's referral bonus — once.

Rules: a customer is referred at most once, never by themself, and never by someone they
referred directly or down the chain (no loops); codes are per tenant, so another
tenant's code is simply unknown.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from saas.models.base import utcnow
from saas.models.loyalty import Referral, ReferralCode
from saas.models.orders import COUNTED_STATUSES, Order
from saas.services import audit, outbox
from saas.services.context import Actor
from saas.services.customers import get_customer
from saas.services.errors import Conflict, InvalidInput

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
MAX_CHAIN = 1000


def code_for(session: Session, actor: Actor, customer_id: Any) -> ReferralCode:
    """The customer's referral code, made on first request."""
    customer = get_customer(session, customer_id)
    found = session.scalars(select(ReferralCode).where(
        ReferralCode.customer_id == customer.id)).first()
    if found is not None:
        return found
    for _ in range(10):
        code = "R" + "".join(secrets.choice(ALPHABET) for _ in range(7))
        if not session.scalar(select(ReferralCode.id).where(ReferralCode.code == code)):
            break
    found = ReferralCode(customer_id=customer.id, code=code)
    session.add(found)
    session.flush()
    audit.record(session, actor, "referral_code.created", "customer", customer.id,
                 {"code": code})
    return found


def _referrer_chain(session: Session, customer_id: uuid.UUID) -> set[uuid.UUID]:
    """Everyone above `customer_id` in the referral tree."""
    seen: set[uuid.UUID] = set()
    current = customer_id
    for _ in range(MAX_CHAIN):
        up = session.scalar(select(Referral.referrer_id).where(Referral.referred_id == current))
        if up is None or up in seen:
            break
        seen.add(up)
        current = up
    return seen


def register(session: Session, actor: Actor, referred_id: Any, code: Any) -> Referral:
    """Record that `referred_id` came through `code` (before their first order)."""
    referred = get_customer(session, referred_id)
    if not isinstance(code, str) or not code.strip():
        raise InvalidInput.field("code", "Enter a referral code.")
    owner = session.scalars(select(ReferralCode).where(
        ReferralCode.code == code.strip().upper())).first()
    if owner is None:
        raise InvalidInput.field("code", "Unknown referral code.")
    if owner.customer_id == referred.id:
        raise InvalidInput.field("code", "A customer cannot refer themself.")
    if session.scalar(select(Referral.id).where(Referral.referred_id == referred.id)):
        raise Conflict("This customer was already referred.",
                       {"code": ["Already referred by someone."]})
    if referred.id in _referrer_chain(session, owner.customer_id):
        raise InvalidInput.field("code", "This would make a referral loop: the code's owner "
                                         "was referred by this customer.")
    if session.scalar(select(func.count()).select_from(Order).where(
            Order.customer_id == referred.id, Order.status.in_(COUNTED_STATUSES))):
        raise InvalidInput.field("code", "Referrals count only before the first order.")
    referral = Referral(referrer_id=owner.customer_id, referred_id=referred.id,
                        code=owner.code)
    session.add(referral)
    session.flush()
    payload = {"referrer_id": owner.customer_id, "referred_id": referred.id,
               "code": owner.code}
    audit.record(session, actor, "referral.registered", "customer", referred.id, payload)
    outbox.emit(session, "referral.registered", "customer", referred.id, payload)
    return referral


def reward_referrer(session: Session, referred_id: uuid.UUID) -> None:
    """Called on the referred customer's first order: the referrer's bonus, once."""
    from saas.services.loyalty import award_bonus

    referral = session.scalars(select(Referral).where(
        Referral.referred_id == referred_id, Referral.rewarded_at.is_(None))).first()
    if referral is None:
        return
    award_bonus(session, Actor.system("referral"), referral.referrer_id, "referral",
                str(referral.id))
    referral.rewarded_at = utcnow()


def referrals_of(session: Session, customer_id: Any) -> list[Referral]:
    customer = get_customer(session, customer_id)
    return list(session.scalars(select(Referral).where(
        Referral.referrer_id == customer.id).order_by(Referral.created_at.desc())))
