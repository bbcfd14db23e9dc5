"""Signed outbound webhooks (the Standard Webhooks scheme).

Every event that matches an endpoint's filters is POSTed to it as JSON
``{"type", "timestamp", "data"}`` with three headers:

- ``webhook-id``: the event id, the same on every retry (receivers drop repeats);
- ``webhook-timestamp``: Unix seconds of this attempt;
- ``webhook-signature``: ``v1,`` + base64 HMAC-SHA256 of ``"{id}.{timestamp}.{body}"``
  keyed with the base64-decoded part of the tenant's ``whsec_...`` secret.

Receivers check it with :func:`verify` (see docs/plugins.md).
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from urllib.parse import urlparse

from marshmallow import Schema, ValidationError, fields, validate

from plugins._http import request_json
from saas.hooks.hookspecs import hookimpl

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
TOLERANCE = 5 * 60


class WebhookVerificationError(ValueError):
    pass


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _key(secret: str) -> bytes:
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("the secret is not whsec_ followed by base64") from exc
    if len(key) < 16:
        raise ValueError("the secret must hold at least 16 bytes")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(secret: str, headers: Mapping[str, str], body: bytes,
           tolerance: int = TOLERANCE, now: float | None = None) -> dict:
    """Receiver side: check a delivery's signature and age; return the parsed payload.

    Raises `WebhookVerificationError` when a header is missing, the timestamp is older
    (or newer) than `tolerance` seconds, or no ``v1`` signature matches.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id, stamp, given = (lower.get("webhook-id"), lower.get("webhook-timestamp"),
                            lower.get("webhook-signature"))
    if not (msg_id and stamp and given):
        raise WebhookVerificationError("missing webhook headers")
    try:
        timestamp = int(stamp)
    except ValueError as exc:
        raise WebhookVerificationError("bad webhook-timestamp") from exc
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        raise WebhookVerificationError("timestamp outside the tolerance")
    expected = sign(secret, msg_id, timestamp, body).split(",", 1)[1]
    for candidate in given.split():
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(signature, expected):
            return json.loads(body)
    raise WebhookVerificationError("no matching signature")


class Endpoint(fields.String):
    """One endpoint per line: ``URL [event-pattern ...]`` (no pattern: every event)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        parts = text.split()
        if not parts:
            raise ValidationError("Give a URL.")
        url = urlparse(parts[0])
        if url.scheme not in ("http", "https") or not url.netloc:
            raise ValidationError(f"{parts[0]} is not an http(s) URL.")
        for pattern in parts[1:]:
            if not all(c.isalnum() or c in "._*-" for c in pattern):
                raise ValidationError(f"{pattern} is not an event name or pattern.")
        return " ".join(parts)


def _valid_secret(value: str) -> None:
    if not value.startswith(SECRET_PREFIX):
        raise ValidationError("The secret starts with whsec_.")
    try:
        _key(value)
    except ValueError as exc:
        raise ValidationError(f"Not a usable secret: {exc}.") from exc


class WebhookSettings(Schema):
    endpoints = fields.List(Endpoint(), required=True, validate=validate.Length(min=1, max=10),
                            metadata={"label": "Endpoints",
                                      "help": "One per line: URL, then event names or "
                                              "patterns such as customer.* (none: all)."})
    secret = fields.String(required=True, validate=_valid_secret,
                           metadata={"secret": True, "label": "Signing secret",
                                     "help": "whsec_ followed by base64 (24+ bytes)."})
    timeout = fields.Integer(load_default=10, validate=validate.Range(min=1, max=30),
                             metadata={"label": "Timeout (seconds)"})


def matches(line: str, event_name: str) -> bool:
    patterns = line.split()[1:]
    return not patterns or any(fnmatch.fnmatchcase(event_name, p) for p in patterns)


@hookimpl
def plugin_settings_schema():
    return WebhookSettings


@hookimpl
def on_event(event, tenant, config):
    targets = [line for line in config["endpoints"] if matches(line, event.name)]
    if not targets:
        return {"skipped": "no endpoint subscribes to this event"}
    body = json.dumps({"type": event.name, "timestamp": event.occurred_at.isoformat(),
                       "tenant": tenant.slug,
                       "data": {"id": event.entity_id, "entity_type": event.entity_type,
                                **dict(event.payload)}},
                      separators=(",", ":"), default=str).encode()
    sent = []
    for line in targets:
        url = line.split()[0]
        stamp = int(time.time())
        status, _ = request_json("POST", url, raw=body, timeout=config["timeout"], headers={
            "webhook-id": str(event.id), "webhook-timestamp": str(stamp),
            "webhook-signature": sign(config["secret"], str(event.id), stamp, body)})
        sent.append({"url": url, "status": status})
    return {"sent": sent}
