"""Finding customers that are probably the same person or company.

Reasons, strongest first: the same phone (E.164) or email (lower-cased) — found through
`customer_lookups`, where the customer service keeps the blind index of every normalised
value — the same name, or a similar name at the same address (equal `address_index`, the
address's blind index: addresses are encrypted too). Name similarity is pg_trgm's `similarity()`
on PostgreSQL and difflib's ratio on SQLite, with the same threshold. Pairs staff
dismissed ("not a duplicate") are not offered again; merged customers never appear.
"""

from __future__ import annotations

import difflib
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from saas.models.customers import Customer, CustomerLookup
from saas.models.imports import DuplicateDismissal
from saas.services import audit, customers
from saas.services.context import Actor
from saas.services.errors import InvalidInput
from saas.services.identifiers import lookup_value

SIMILARITY = 0.6
REASONS = ("same_email", "same_phone", "same_name", "similar_name_same_address")
REASON_LABELS = {"same_email": "Same email", "same_phone": "Same phone",
                 "same_name": "Same name",
                 "similar_name_same_address": "Similar name and same address"}
MAX_PAIRS = 200
REASON_FIELDS = {"same_email": "emails", "same_phone": "phones",
                 "similar_name_same_address": "address", "same_name": None}
"""The protectable field (`field_access` key) whose value a reason's detail shows;
None = the name, which every role sees."""


@dataclass
class Pair:
    first: Customer
    second: Customer
    reasons: list[str] = field(default_factory=list)
    detail: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[uuid.UUID, uuid.UUID]:
        return self.first.id, self.second.id


def _ordered(a: uuid.UUID, b: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    return (a, b) if a < b else (b, a)


def _by_lookup(session: Session, kind: str, limit: int) -> list[tuple[Any, Any, str]]:
    a, b = aliased(CustomerLookup), aliased(CustomerLookup)
    ca, cb = aliased(Customer), aliased(Customer)
    stmt = (select(a.customer_id, b.customer_id, a.value)
            .join(b, and_(b.kind == a.kind, b.value == a.value,
                          b.customer_id > a.customer_id))
            .join(ca, ca.id == a.customer_id).join(cb, cb.id == b.customer_id)
            .where(a.kind == kind, ca.merged_into_id.is_(None), cb.merged_into_id.is_(None))
            .order_by(a.value, a.customer_id, b.customer_id).limit(limit))
    return list(session.execute(stmt))


def _same_name(session: Session, limit: int) -> list[tuple[Any, Any, str]]:
    a, b = aliased(Customer), aliased(Customer)
    stmt = (select(a.id, b.id, a.name)
            .join(b, and_(func.lower(b.name) == func.lower(a.name), b.id > a.id))
            .where(a.merged_into_id.is_(None), b.merged_into_id.is_(None))
            .order_by(a.name, a.id, b.id).limit(limit))
    return list(session.execute(stmt))


def _similar_at_address(session: Session, limit: int) -> list[tuple[Any, Any, str]]:
    a, b = aliased(Customer), aliased(Customer)
    base = (select(a.id, b.id, a.address_index, a.name, b.name)
            .join(b, and_(b.address_index == a.address_index, b.id > a.id,
                          func.lower(b.name) != func.lower(a.name)))
            .where(a.merged_into_id.is_(None), b.merged_into_id.is_(None),
                   a.address_index.is_not(None)))
    if session.get_bind().dialect.name == "postgresql":
        stmt = base.where(func.similarity(a.name, b.name) >= SIMILARITY) \
            .order_by(a.address_index, a.id, b.id).limit(limit)
        return [(x, y, addr) for x, y, addr, _n1, _n2 in session.execute(stmt)]
    found = []
    for x, y, addr, n1, n2 in session.execute(base.order_by(a.address_index, a.id, b.id)):
        if name_similarity(n1, n2) >= SIMILARITY:
            found.append((x, y, addr))
            if len(found) >= limit:
                break
    return found


def name_similarity(first: str, second: str) -> float:
    """The SQLite stand-in for pg_trgm's similarity: difflib's ratio, case-insensitive."""
    return difflib.SequenceMatcher(None, first.lower(), second.lower()).ratio()


def candidates(session: Session, limit: int = 50, reason: str | None = None) -> list[Pair]:
    """Up to `limit` candidate pairs, each with every reason that links them."""
    if not 1 <= limit <= MAX_PAIRS:
        raise InvalidInput.field("limit", f"Use 1-{MAX_PAIRS}.")
    if reason is not None and reason not in REASONS:
        raise InvalidInput.field("reason", f"Choose one of: {', '.join(REASONS)}.")
    dismissed = {(d.first_id, d.second_id) for d in session.scalars(select(DuplicateDismissal))}
    found: dict[tuple, list[tuple[str, str]]] = defaultdict(list)
    sources = {"same_email": lambda n: _by_lookup(session, "email", n),
               "same_phone": lambda n: _by_lookup(session, "phone", n),
               "same_name": lambda n: _same_name(session, n),
               "similar_name_same_address": lambda n: _similar_at_address(session, n)}
    for name in REASONS:
        if reason and name != reason:
            continue
        for x, y, detail in sources[name](limit + len(dismissed)):
            pair = _ordered(x, y)
            if pair not in dismissed and (name, detail) not in found[pair]:
                found[pair].append((name, detail))
    keys = list(found)[:limit]
    ids = {i for k in keys for i in k}
    people = {c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_(ids)))}
    pairs = []
    for a, b in keys:
        reasons = found[(a, b)]
        pairs.append(Pair(people[a], people[b], [r for r, _ in reasons],
                          [_shown(people[a], r, d) for r, d in reasons]))
    return pairs


def redacted_detail(access: Any, reasons: list[str], detail: list[str]) -> list[str | None]:
    """`detail` as the viewer's role may see it (issue 11): the shared value masked when
    its field is masked, None when hidden. The reason itself stays: that two records share
    a phone says nothing about the phone."""
    from saas.services import field_access

    shown: list[str | None] = []
    for reason, value in zip(reasons, detail, strict=False):
        key = REASON_FIELDS.get(reason)
        if key is None or access.can_see_clear(key):
            shown.append(value)
        elif key in access.hidden:
            shown.append(None)
        else:
            shown.append(field_access.mask_value(key, value))
    return shown


def _shown(customer: Customer, reason: str, index: str) -> str:
    """The plain value behind a blind index the pair shares (decrypted from the customer)."""
    if reason == "similar_name_same_address":
        return customer.address or ""
    if reason in ("same_email", "same_phone"):
        values = customer.emails if reason == "same_email" else customer.phones
        return next((v for v in values or () if lookup_value(v) == index), "")
    return index


def dismiss(session: Session, actor: Actor, first_id: Any, second_id: Any) -> None:
    """Record that two customers are not the same; the queue stops offering the pair."""
    first = customers.get_customer(session, first_id)
    second = customers.get_customer(session, second_id)
    if first.id == second.id:
        raise InvalidInput.field("second_id", "Choose two different customers.")
    a, b = _ordered(first.id, second.id)
    exists = session.scalar(select(DuplicateDismissal.id).where(
        DuplicateDismissal.first_id == a, DuplicateDismissal.second_id == b))
    if exists is None:
        session.add(DuplicateDismissal(first_id=a, second_id=b, staff_id=actor.staff_id))
        audit.record(session, actor, "duplicate.dismissed", "customer", a,
                     {"first_id": a, "second_id": b})
