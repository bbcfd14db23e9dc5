"""Says hello to every event of the tenants that enabled it."""

from __future__ import annotations

import json
import urllib.request

from marshmallow import Schema, fields, validate
from pluggy import HookimplMarker

# The CRM's marker; a plugin needs only pluggy, not the CRM package itself.
hookimpl = HookimplMarker("saas")

__version__ = "0.2.0"


class HelloSettings(Schema):
    greeting = fields.String(load_default="Hello", validate=validate.Length(min=1, max=40),
                             metadata={"label": "Greeting"})
    echo_url = fields.Url(load_default="", require_tld=False, allow_none=True,
                          metadata={"label": "Also POST the greeting to this URL"})


@hookimpl
def plugin_settings_schema():
    return HelloSettings


@hookimpl
def on_event(event, tenant, config):
    text = f"{config['greeting']}, {tenant.name}! {event.name} happened."
    if config["echo_url"]:
        body = json.dumps({"id": str(event.id), "text": text}).encode()
        req = urllib.request.Request(config["echo_url"], data=body, method="POST",  # noqa: S310
                                     headers={"Content-Type": "application/json",
                                              "Idempotency-Key": str(event.id)})
        with urllib.request.urlopen(req, timeout=5):  # noqa: S310
            pass
    return {"greeting": text}
