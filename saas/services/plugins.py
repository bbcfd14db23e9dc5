"""Per-tenant plugin enablement and settings, channels and inbound messages.

Installed is not enabled: a plugin acts for a tenant only after its admin enabled it.
Settings are declared by the plugin's marshmallow schema and read through one helper,
`plugin_settings`, which applies the schema's defaults and decrypts secrets; no other
code reads the stored dicts.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from marshmallow import Schema, ValidationError, fields, missing
from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.hooks.manager import PluginHost, get_host
from saas.hooks.types import InboundMessage, TenantInfo
from saas.models import Tenant
from saas.models.base import new_id, utcnow
from saas.models.plugins import Delivery, PluginConfig
from saas.services import audit, limits, outbox
from saas.services.context import Actor
from saas.services.errors import Conflict, InvalidInput, NotFound
from saas.tenancy import current_tenant_id

log = logging.getLogger("saas.plugins")

MASK = "••••"
STATUS_ENABLED = "enabled"
STATUS_DISABLED = "disabled"
STATUS_MISSING = "missing"
STATUS_BROKEN = "broken"


class ConsentWithdrawn(Conflict):
    """The customer withdrew consent for this channel; nothing was queued."""


@dataclass(frozen=True)
class PluginStatus:
    name: str
    status: str
    version: str | None
    description: str
    hooks: tuple[str, ...]
    channels: tuple[str, ...]
    has_settings: bool
    error: str | None = None


def tenant_info(tenant: Tenant) -> TenantInfo:
    return TenantInfo(id=tenant.id, slug=tenant.slug, name=tenant.name, locale=tenant.locale,
                      timezone=tenant.timezone, currency=tenant.currency)


def bound_tenant(session: Session) -> Tenant:
    tenant = session.get(Tenant, current_tenant_id(session))
    if tenant is None:
        raise NotFound("No tenant bound.")
    return tenant


# -- the schema --------------------------------------------------------------------


def settings_schema(name: str, host: PluginHost | None = None) -> Schema | None:
    """The plugin's settings schema as an instance (plugins may return the class)."""
    host = host or get_host()
    try:
        declared = host.call(name, "plugin_settings_schema")
    except Exception as exc:
        log.exception("plugin %s failed to declare its settings", name)
        raise InvalidInput(f"Plugin {name} failed to declare its settings: "
                           f"{type(exc).__name__}.") from exc
    if declared is None:
        return None
    schema = declared() if isinstance(declared, type) else declared
    if not isinstance(schema, Schema):
        raise InvalidInput(f"Plugin {name} declared settings that are not a schema.")
    return schema


def secret_fields(schema: Schema | None) -> set[str]:
    if schema is None:
        return set()
    return {n for n, f in schema.fields.items() if f.metadata.get("secret")}


def schema_defaults(schema: Schema) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, field in schema.fields.items():
        default = field.load_default
        if default is missing:
            continue
        out[name] = default() if callable(default) else default
    return out


def describe_settings(name: str, host: PluginHost | None = None) -> list[dict[str, Any]]:
    """The settings schema as plain field descriptions, for generated forms and clients."""
    schema = settings_schema(name, host)
    if schema is None:
        return []
    defaults, secrets = schema_defaults(schema), secret_fields(schema)
    out = []
    for fname, field in schema.fields.items():
        choices = None
        for validator in field.validators:
            choices = getattr(validator, "choices", None) or choices
        out.append({"name": fname, "type": type(field).__name__,
                    "required": bool(field.required), "secret": fname in secrets,
                    "default": None if fname in secrets else defaults.get(fname),
                    "label": field.metadata.get("label") or fname.replace("_", " ").title(),
                    "help": field.metadata.get("help"),
                    "multiline": bool(field.metadata.get("multiline"))
                    or isinstance(field, fields.List),
                    "choices": [str(c) for c in choices] if choices else None})
    return out


def mask(value: Any) -> str:
    """Enough of a secret to recognise it, never enough to use it."""
    text = str(value or "")
    if not text:
        return ""
    return MASK + text[-4:] if len(text) >= 16 else MASK


# -- reading and writing a tenant's settings ---------------------------------------


def get_config(session: Session, name: str) -> PluginConfig | None:
    return session.scalars(select(PluginConfig).where(PluginConfig.plugin == name)).first()


def _stored(cfg: PluginConfig | None) -> dict[str, Any]:
    if cfg is None:
        return {}
    raw = dict(cfg.settings or {})
    if cfg.secrets:
        raw.update(json.loads(cfg.secrets))
    return raw


def _validation_errors(exc: ValidationError) -> dict[str, list[str]]:
    messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
    out: dict[str, list[str]] = {}
    for field, msgs in messages.items():
        if isinstance(msgs, dict):
            flat = [f"{k}: {'; '.join(map(str, v)) if isinstance(v, list) else v}"
                    for k, v in msgs.items()]
        elif isinstance(msgs, list):
            flat = [str(m) for m in msgs]
        else:
            flat = [str(msgs)]
        out[str(field)] = flat
    return out


def plugin_settings(session: Session, name: str,
                    host: PluginHost | None = None) -> Mapping[str, Any]:
    """This tenant's settings of `name`: saved values, else the schema's defaults;
    secrets decrypted. Raises `InvalidInput` when what is saved no longer validates."""
    schema = settings_schema(name, host)
    if schema is None:
        return MappingProxyType({})
    stored = {k: v for k, v in _stored(get_config(session, name)).items()
              if k in schema.fields}
    try:
        loaded = schema.load(stored)
    except ValidationError as exc:
        raise InvalidInput(f"The settings of plugin {name} are incomplete or invalid.",
                           _validation_errors(exc)) from exc
    return MappingProxyType(dict(loaded))


def settings_for_display(session: Session, name: str,
                         host: PluginHost | None = None) -> dict[str, Any]:
    """Saved values (else defaults) with every secret masked, for forms and the API."""
    schema = settings_schema(name, host)
    if schema is None:
        return {}
    values = {**schema_defaults(schema), **_stored(get_config(session, name))}
    secrets = secret_fields(schema)
    return {k: (mask(v) if k in secrets else v) for k, v in values.items()
            if k in schema.fields}


def update_settings(session: Session, actor: Actor, name: str, data: Mapping[str, Any],
                    host: PluginHost | None = None) -> PluginConfig:
    """Validate and save a tenant's settings of `name`.

    A secret left empty (or sent back masked) keeps its saved value, so forms never need
    to show it. Nothing is saved unless every field validates.
    """
    host = host or get_host()
    _require_installed(host, name)
    schema = settings_schema(name, host)
    if schema is None:
        raise InvalidInput(f"Plugin {name} has no settings.")
    if not isinstance(data, Mapping):
        raise InvalidInput("Send the settings as an object.")
    unknown = sorted(set(data) - set(schema.fields))
    if unknown:
        raise InvalidInput("Unknown settings.", {k: ["Unknown setting."] for k in unknown})
    cfg = get_config(session, name)
    before = _stored(cfg)
    secrets = secret_fields(schema)
    incoming = dict(data)
    for key in secrets:
        value = incoming.get(key)
        if value in (None, "") or (isinstance(value, str) and value.startswith(MASK)):
            if key in before:
                incoming[key] = before[key]
            else:
                incoming.pop(key, None)
    try:
        loaded = schema.load(incoming)
    except ValidationError as exc:
        raise InvalidInput(f"The settings of plugin {name} are invalid.",
                           _validation_errors(exc)) from exc
    dumped = schema.dump(loaded)
    plain = {k: v for k, v in dumped.items() if k not in secrets}
    hidden = {k: v for k, v in dumped.items() if k in secrets and v not in (None, "")}
    if cfg is None:
        cfg = PluginConfig(plugin=name, enabled=False, settings={}, state={})
        session.add(cfg)
    cfg.settings = plain
    cfg.secrets = json.dumps(hidden) if hidden else None
    changes = {k: [before.get(k), v] for k, v in plain.items() if before.get(k) != v}
    changes.update({k: "changed" for k, v in hidden.items() if before.get(k) != v})
    audit.record(session, actor, "plugin.settings_changed", "plugin", name, changes)
    session.flush()
    return cfg


def set_enabled(session: Session, actor: Actor, name: str, enabled: bool,
                host: PluginHost | None = None) -> PluginConfig:
    """Enable (settings must validate first) or disable a plugin for the bound tenant.

    Disabling never needs the plugin to be installed, so a missing plugin can be switched
    off."""
    host = host or get_host()
    cfg = get_config(session, name)
    if enabled:
        _require_installed(host, name)
        plugin_settings(session, name, host)
    elif cfg is None and host.get(name) is None:
        raise NotFound(f"No plugin named {name}.")
    if cfg is None:
        cfg = PluginConfig(plugin=name, enabled=False, settings={}, state={})
        session.add(cfg)
    if cfg.enabled != enabled:
        if enabled:
            limits.check(session, None, "plugins")
        cfg.enabled = enabled
        audit.record(session, actor, "plugin.enabled" if enabled else "plugin.disabled",
                     "plugin", name, {"enabled": [not enabled, enabled]})
    session.flush()
    return cfg


def enabled_names(session: Session) -> list[str]:
    return list(session.scalars(select(PluginConfig.plugin)
                                .where(PluginConfig.enabled.is_(True))
                                .order_by(PluginConfig.plugin)))


def is_enabled(session: Session, name: str) -> bool:
    cfg = get_config(session, name)
    return bool(cfg and cfg.enabled)


def _require_installed(host: PluginHost, name: str) -> None:
    if host.get(name) is None:
        raise NotFound(f"No plugin named {name} is installed.")


# -- what the admin sees -----------------------------------------------------------


def list_plugins(session: Session, host: PluginHost | None = None) -> list[PluginStatus]:
    """Installed plugins with this tenant's status, plus enabled ones no longer installed."""
    host = host or get_host()
    configs = {c.plugin: c for c in session.scalars(select(PluginConfig))}
    out = []
    for info in host.installed():
        cfg = configs.get(info.name)
        out.append(PluginStatus(
            name=info.name, version=info.version, description=info.description,
            status=STATUS_ENABLED if cfg and cfg.enabled else STATUS_DISABLED,
            hooks=info.hooks, channels=tuple(channels_of(info.name, host)),
            has_settings=host.implements(info.name, "plugin_settings_schema")))
    listed = {p.name for p in out}
    for name, error in sorted(host.broken.items()):
        if name not in listed:
            listed.add(name)
            out.append(PluginStatus(name=name, status=STATUS_BROKEN, version=None,
                                    description="", hooks=(), channels=(),
                                    has_settings=False, error=error))
    for name, cfg in sorted(configs.items()):
        if name not in listed and cfg.enabled:
            out.append(PluginStatus(name=name, status=STATUS_MISSING, version=None,
                                    description="", hooks=(), channels=(),
                                    has_settings=False,
                                    error="Not installed: its deliveries are paused."))
    return out


def plugin_status(session: Session, name: str, host: PluginHost | None = None) -> PluginStatus:
    for status in list_plugins(session, host):
        if status.name == name:
            return status
    raise NotFound(f"No plugin named {name}.")


# -- channels ---------------------------------------------------------------------


def channels_of(name: str, host: PluginHost | None = None) -> dict[str, Any]:
    """The channel objects a plugin offers, by channel name (bad entries are ignored)."""
    host = host or get_host()
    try:
        offered = host.call(name, "register_channels") or []
    except Exception:
        log.exception("plugin %s failed to register its channels", name)
        return {}
    found: dict[str, Any] = {}
    for channel in offered if isinstance(offered, list | tuple) else []:
        cname = getattr(channel, "name", None)
        if isinstance(cname, str) and callable(getattr(channel, "send", None)):
            found[cname] = channel
    return found


def channel_provider(session: Session, channel_name: str,
                     host: PluginHost | None = None) -> str:
    """The enabled plugin (first by name) that offers `channel_name` to this tenant."""
    host = host or get_host()
    for name in enabled_names(session):
        if host.get(name) is not None and channel_name in channels_of(name, host):
            return name
    raise InvalidInput.field("channel", f"No enabled plugin offers the {channel_name} "
                                        "channel.")


def available_channels(session: Session, host: PluginHost | None = None) -> list[str]:
    host = host or get_host()
    names: set[str] = set()
    for name in enabled_names(session):
        if host.get(name) is not None:
            names.update(channels_of(name, host))
    return sorted(names)


def _customer_consent(session: Session, customer_id: str, channel: str) -> str | None:
    from saas.models.customers import Customer

    try:
        cid = uuid.UUID(str(customer_id))
    except ValueError as exc:
        raise InvalidInput.field("customer_id", "Not a customer id.") from exc
    customer = session.scalars(select(Customer).where(Customer.id == cid)).first()
    if customer is None:
        raise NotFound("No such customer.")
    from saas.services import consent  # issue 11: the state derived from the history

    return consent.current_status(session, customer, channel)


def send_via_channel(session: Session, tenant: Tenant | uuid.UUID, channel_name: str,
                     message: Mapping[str, Any], *, key: str | None = None,
                     host: PluginHost | None = None) -> Delivery:
    """Queue one message through the tenant's enabled plugin for `channel_name`.

    The attempt is recorded as a `Delivery` (kind "message") and sent by a job after
    commit, with the same retries, backoff and dead state as events. `key` makes the call
    idempotent: a second call with the same key returns the first delivery. When the
    message names a `customer_id` whose consent for this channel is withdrawn,
    `ConsentWithdrawn` is raised and nothing is queued.
    """
    host = host or get_host()
    tenant_id = getattr(tenant, "id", tenant)
    if current_tenant_id(session) != tenant_id:
        raise NotFound("No such tenant.")
    errors: dict[str, list[str]] = {}
    for field in ("to", "body"):
        value = message.get(field) if isinstance(message, Mapping) else None
        if not isinstance(value, str) or not value.strip():
            errors[field] = ["This field is required."]
    if errors:
        raise InvalidInput("The message is incomplete.", errors)
    plugin = channel_provider(session, channel_name, host)
    from saas.models.customers import CONSENT_CHANNELS

    customer_id = message.get("customer_id")
    consent_applies = bool(customer_id) and channel_name in CONSENT_CHANNELS
    if consent_applies and _customer_consent(session, customer_id, channel_name) == "withdrawn":
        raise ConsentWithdrawn(f"The customer withdrew consent for {channel_name}.")
    key = str(key or new_id())
    existing = session.scalars(select(Delivery).where(Delivery.plugin == plugin,
                                                      Delivery.key == key)).first()
    if existing is not None:
        return existing
    payload = {k: message[k] for k in ("to", "body", "subject", "html", "customer_id",
                                       "context") if message.get(k) is not None}
    if consent_applies:
        from saas.services.unsubscribe import unsubscribe_url

        payload["context"] = {"unsubscribe_url": unsubscribe_url(bound_tenant(session),
                                                                 customer_id, channel_name),
                              **dict(payload.get("context") or {})}
    payload = json.loads(json.dumps(payload, default=str))
    limits.consume(session, None, "messages", 1)
    delivery = Delivery(plugin=plugin, kind="message", key=key,
                        event_name=f"message.{channel_name}", channel=channel_name,
                        payload=payload, status="pending", attempts=0,
                        next_retry_at=utcnow())
    session.add(delivery)
    session.flush()
    from saas.jobs.queue import enqueue_after_commit

    enqueue_after_commit(session, "saas.jobs.deliveries:run_delivery", tenant_id, delivery.id)
    return delivery


# -- inbound -----------------------------------------------------------------------


def receive_inbound(session: Session, plugin: str, message: InboundMessage,
                    host: PluginHost | None = None) -> str | None:
    """A channel plugin hands over what a customer sent; the service desk takes it.

    Emits `message.received` (so other plugins can react) and asks the `inbound_message`
    hook of core components and enabled plugins; returns the first reference given.
    """
    host = host or get_host()
    if not is_enabled(session, plugin):
        raise NotFound(f"Plugin {plugin} is not enabled.")
    tenant = bound_tenant(session)
    outbox.emit(session, "message.received", "message", message.provider_id or None,
                {"channel": message.channel, "sender": message.sender,
                 "subject": message.subject, "body": message.body[:10000],
                 "plugin": plugin, "provider_id": message.provider_id})
    return host.call_many(enabled_names(session), "inbound_message", message=message,
                          tenant=tenant_info(tenant))
