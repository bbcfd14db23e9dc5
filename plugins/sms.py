"""SMS through an HTTP gateway.

Offers the ``sms`` channel: each message is POSTed as JSON
(``{"id", "to", "from", "text"}``) with the gateway token as a bearer credential and the
message id as ``Idempotency-Key``; the gateway answers with its ``message_id``.
Inbound SMS arrive at ``/t/<slug>/ext/sms/inbound`` (same token) and are handed to the
service desk.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime

from marshmallow import Schema, fields, validate

from plugins._http import request_json
from plugins._templates import render, validate_template
from saas.hooks.hookspecs import hookimpl
from saas.hooks.types import InboundMessage, PluginRoute, SendResult


class SmsSettings(Schema):
    gateway_url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False,
                             metadata={"label": "Gateway URL"})
    auth_token = fields.String(required=True, validate=validate.Length(min=8),
                               metadata={"secret": True, "label": "Gateway token"})
    sender_id = fields.String(load_default="", validate=validate.Length(max=20),
                              metadata={"label": "Sender id"})
    body_template = fields.String(load_default="{{ body }}", validate=validate_template,
                                  metadata={"label": "Text template", "multiline": True})
    timeout = fields.Integer(load_default=10, validate=validate.Range(min=1, max=60),
                             metadata={"label": "Timeout (seconds)"})


class SmsChannel:
    name = "sms"

    def send(self, message, config) -> SendResult:
        text = render(config["body_template"],
                      {**dict(message.context or {}), "body": message.body,
                       "to": message.to}).strip()
        if not text:
            raise ValueError("the rendered text is empty")
        _, answer = request_json(
            "POST", config["gateway_url"],
            {"id": message.id, "to": message.to, "from": config["sender_id"], "text": text},
            headers={"Authorization": f"Bearer {config['auth_token']}",
                     "Idempotency-Key": message.id},
            timeout=config["timeout"])
        provider_id = answer.get("message_id") if isinstance(answer, dict) else None
        if not provider_id:
            raise ValueError(f"gateway answered without a message_id: {str(answer)[:200]}")
        return SendResult(provider_id=str(provider_id), detail={"to": message.to})


def inbound(request, tenant, config):
    """The gateway forwards a received SMS: ``{"from", "text", "id"}``."""
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), config["auth_token"].encode()):
        return {"error": "bad token"}, 401
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not data.get("from") or not data.get("text"):
        return {"error": "send JSON with 'from' and 'text'"}, 400
    return InboundMessage(channel="sms", sender=str(data["from"])[:64],
                          body=str(data["text"])[:2000],
                          provider_id=str(data.get("id") or "")[:100] or None,
                          received_at=datetime.now(UTC))


@hookimpl
def plugin_settings_schema():
    return SmsSettings


@hookimpl
def register_channels():
    return [SmsChannel()]


@hookimpl
def register_routes():
    return [PluginRoute("/inbound", inbound, methods=("POST",))]
