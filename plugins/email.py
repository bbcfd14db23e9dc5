"""Email over the tenant's own SMTP server (plain, STARTTLS or SSL).

Offers the ``email`` channel. Subject and body are templates rendered in Jinja's
sandbox with the message's fields (``subject``, ``body``, ``to``) and its context; when
the platform supplies an ``unsubscribe_url`` (a message tied to a customer) it is
available to the body template, appended if the template does not use it, and sent as
a one-click ``List-Unsubscribe`` header.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr

from marshmallow import Schema, fields, validate

from plugins._templates import render, validate_template
from saas.hooks.hookspecs import hookimpl
from saas.hooks.types import SendResult

DEFAULT_BODY = "{{ body }}"
# Long unsubscribe URLs must stay plain text, not be folded into encoded words.
SMTP_POLICY = SMTP.clone(max_line_length=998)


class EmailSettings(Schema):
    host = fields.String(required=True, validate=validate.Length(min=1, max=255),
                         metadata={"label": "SMTP host"})
    port = fields.Integer(load_default=587, validate=validate.Range(min=1, max=65535),
                          metadata={"label": "SMTP port"})
    security = fields.String(load_default="starttls",
                             validate=validate.OneOf(["starttls", "ssl", "none"]),
                             metadata={"label": "Connection security",
                                       "help": "starttls (port 587), ssl (port 465) or none"})
    username = fields.String(load_default="", metadata={"label": "User name"})
    password = fields.String(load_default="", metadata={"secret": True,
                                                        "label": "Password"})
    from_address = fields.Email(required=True, metadata={"label": "From address"})
    from_name = fields.String(load_default="", validate=validate.Length(max=100),
                              metadata={"label": "From name"})
    subject_template = fields.String(load_default="{{ subject }}",
                                     validate=validate_template,
                                     metadata={"label": "Subject template"})
    body_template = fields.String(load_default=DEFAULT_BODY, validate=validate_template,
                                  metadata={"label": "Body template", "multiline": True})
    ca_pem = fields.String(load_default="", metadata={
        "label": "Trusted CA certificate (PEM)", "multiline": True,
        "help": "Only for a server whose certificate a private CA signed."})
    timeout = fields.Integer(load_default=15, validate=validate.Range(min=1, max=120),
                             metadata={"label": "Timeout (seconds)"})


def _tls_context(config) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if config["ca_pem"].strip():
        context.load_verify_locations(cadata=config["ca_pem"])
    return context


def compose(message, config) -> EmailMessage:
    """The email as it will be sent; pure, so tests and previews can look at it."""
    unsubscribe = (message.context or {}).get("unsubscribe_url")
    values = {**dict(message.context or {}), "subject": message.subject or "",
              "body": message.body, "to": message.to, "unsubscribe_url": unsubscribe}
    subject = render(config["subject_template"], values).strip().replace("\n", " ")
    body = render(config["body_template"], values)
    if unsubscribe and unsubscribe not in body:
        body = f"{body.rstrip()}\n\n--\nUnsubscribe / 退订: {unsubscribe}\n"
    msg = EmailMessage(policy=SMTP_POLICY)
    sender = config["from_address"]
    msg["From"] = formataddr((config["from_name"], sender)) if config["from_name"] else sender
    msg["To"] = message.to
    msg["Subject"] = subject
    local = re.sub(r"[^A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]", "-", message.id)
    msg["Message-ID"] = f"<{local}@{sender.rpartition('@')[2]}>"
    if unsubscribe:
        msg["List-Unsubscribe"] = f"<{unsubscribe}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(body)
    if message.html:
        msg.add_alternative(message.html, subtype="html")
    return msg


class EmailChannel:
    name = "email"

    def send(self, message, config) -> SendResult:
        msg = compose(message, config)
        host, port, security = config["host"], config["port"], config["security"]
        try:
            if security == "ssl":
                smtp = smtplib.SMTP_SSL(host, port, timeout=config["timeout"],
                                        context=_tls_context(config))
            else:
                smtp = smtplib.SMTP(host, port, timeout=config["timeout"])
        except OSError as exc:
            raise ConnectionError(f"SMTP server {host}:{port} unreachable: "
                                  f"{exc.strerror or exc}") from None
        with smtp:
            if security == "starttls":
                smtp.starttls(context=_tls_context(config))
            if config["username"]:
                smtp.login(config["username"], config["password"])
            refused = smtp.send_message(msg)
        if refused:
            raise RuntimeError(f"SMTP server refused recipients: {sorted(refused)}")
        return SendResult(provider_id=msg["Message-ID"], detail={"to": message.to})


@hookimpl
def plugin_settings_schema():
    return EmailSettings


@hookimpl
def register_channels():
    return [EmailChannel()]
