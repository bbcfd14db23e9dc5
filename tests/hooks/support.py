"""Test plugins and helpers to register them on the app's plugin manager for one test."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from marshmallow import Schema, fields, validate

from saas.extensions import db
from saas.hooks.hookspecs import hookimpl
from saas.hooks.manager import get_host
from saas.hooks.types import SendResult
from saas.services import plugins as plugin_service
from saas.services.context import Actor


class EchoSettings(Schema):
    url = fields.Url(required=True, metadata={"label": "Endpoint URL"})
    token = fields.String(required=True, metadata={"secret": True})
    greeting = fields.String(load_default="hello")
    retries = fields.Integer(load_default=3, validate=validate.Range(min=0, max=10))


class EchoPlugin:
    """Records every event it is given; can be told to fail, hang or return garbage."""

    def __init__(self, mode: str = "ok", hang: float = 5.0) -> None:
        self.mode = mode
        self.hang = hang
        self.events: list[tuple[str, str, str]] = []
        self.configs: list[dict] = []
        self.sent: list[Any] = []
        self.lock = threading.Lock()

    @hookimpl
    def plugin_settings_schema(self):
        return EchoSettings

    @hookimpl
    def on_event(self, event, tenant, config):
        with self.lock:
            self.events.append((str(event.id), event.name, tenant.slug))
            self.configs.append(dict(config))
        if self.mode == "raise":
            raise RuntimeError("receiver said no")
        if self.mode == "hang":
            time.sleep(self.hang)
        if self.mode == "garbage":
            return object()
        return {"seen": event.name, "key": str(event.id)}

    @hookimpl
    def register_channels(self):
        return [EchoChannel(self)]


class EchoChannel:
    name = "echo"

    def __init__(self, plugin: EchoPlugin) -> None:
        self.plugin = plugin

    def send(self, message, config):
        if self.plugin.mode == "raise":
            raise ConnectionError("gateway unreachable")
        if self.plugin.mode == "garbage":
            return "sent!"
        self.plugin.sent.append(message)
        return SendResult(provider_id=f"echo-{message.id}")


class InboxDesk:
    """A core component taking inbound messages, as the service desk will."""

    def __init__(self) -> None:
        self.received: list[Any] = []

    @hookimpl
    def inbound_message(self, message, tenant):
        self.received.append((message, tenant.slug))
        return f"ticket:{len(self.received)}"


GOOD_SETTINGS = {"url": "https://receiver.example.com/in", "token": "tok-1234567890-secret"}


@contextmanager
def registered(app, plugin: object, name: str, **kw: Any) -> Iterator[object]:
    host = get_host(app)
    host.register(plugin, name, **kw)
    try:
        yield plugin
    finally:
        host.unregister(name)


def configure(app, tenant, name: str, settings: dict | None = None,
              enabled: bool = True) -> None:
    """Save settings and enable `name` for `tenant` through the service."""
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        if settings is not None:
            plugin_service.update_settings(db.session, actor, name, settings)
        plugin_service.set_enabled(db.session, actor, name, enabled)
        db.session.commit()
        db.session.remove()


def emit_event(app, tenant, name: str = "thing.happened", payload: dict | None = None,
               entity_type: str | None = "thing", entity_id: Any = None) -> uuid.UUID:
    """Emit an outbox event as a service would, and commit (jobs run inline)."""
    from saas.services import outbox

    with app.app_context():
        tenant.bind()
        event = outbox.emit(db.session, name, entity_type, entity_id or uuid.uuid4(),
                            payload or {"n": 1})
        event_id = event.id
        db.session.commit()
        db.session.remove()
    return event_id


def system_actor() -> Actor:
    return Actor.system("test")


@contextmanager
def mailing(app, tenant, from_address: str = "care@shop.example.com") -> Iterator[Any]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 and the tenant's email plugin enabled
    to send through it; yields the mailbox."""
    from tests.plugins.servers import smtp_server

    with smtp_server("none") as (port, box):
        configure(app, tenant, "email", {"host": "127.0.0.1", "port": port,
                                         "security": "none", "from_address": from_address})
        yield box
