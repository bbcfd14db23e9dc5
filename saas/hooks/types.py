"""Plain values passed to and returned from hooks.

Plugins see these instead of ORM rows so that a hook call can run in another thread
under a time limit, be retried later, and never touch the caller's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class TenantInfo:
    id: uuid.UUID
    slug: str
    name: str
    locale: str = "en"
    timezone: str = "UTC"
    currency: str = "CNY"


@dataclass(frozen=True)
class PluginEvent:
    """One outbox event; ``id`` doubles as the idempotency key receivers can dedupe on."""

    id: uuid.UUID
    name: str
    entity_type: str | None
    entity_id: str | None
    payload: Mapping[str, Any]
    occurred_at: datetime
    tenant_id: uuid.UUID


@dataclass(frozen=True)
class OutboundMessage:
    """One message to one recipient through a channel.

    ``id`` is stable across retries (the delivery's idempotency key): channels pass it to
    providers that deduplicate.
    """

    id: str
    to: str
    body: str
    subject: str | None = None
    customer_id: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    html: str | None = None


@dataclass(frozen=True)
class SendResult:
    provider_id: str
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InboundMessage:
    channel: str
    sender: str
    body: str
    subject: str | None = None
    provider_id: str | None = None
    received_at: datetime | None = None


@dataclass(frozen=True)
class PluginRoute:
    rule: str
    view: Callable[..., Any]
    methods: tuple[str, ...] = ("GET",)


@dataclass(frozen=True)
class PulledCustomer:
    """A customer as the external system has it; matched by ``email``."""

    email: str
    fields: Mapping[str, Any]
    updated_at: datetime
    external_id: str | None = None


@dataclass(frozen=True)
class PulledInteraction:
    """Something a customer did elsewhere (a forum post), logged on their record."""

    email: str
    channel: str
    summary: str
    occurred_at: datetime
    external_id: str | None = None


@dataclass(frozen=True)
class PulledChanges:
    customers: list[PulledCustomer] = field(default_factory=list)
    interactions: list[PulledInteraction] = field(default_factory=list)
