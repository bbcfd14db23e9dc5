"""A Discourse-style community forum.

- Customers who opt in (the tenant's opt-in tag, default ``forum``) and have an email get
  a forum account when they are created or updated.
- The ``forum`` channel posts announcements (campaigns send through it): the message's
  subject becomes the topic title, its body the post.
- Posts by known members are pulled periodically and logged as interactions on the
  customer with that email.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime
from urllib.parse import quote

from marshmallow import Schema, fields, validate

from plugins._http import request_json
from saas.hooks.hookspecs import hookimpl
from saas.hooks.types import PulledChanges, PulledInteraction, SendResult

MAX_SUMMARY = 500


class ForumSettings(Schema):
    base_url = fields.Url(required=True, require_tld=False, schemes={"http", "https"},
                          metadata={"label": "Forum URL"})
    api_key = fields.String(required=True, validate=validate.Length(min=8),
                            metadata={"secret": True, "label": "API key"})
    api_username = fields.String(load_default="system", validate=validate.Length(min=1),
                                 metadata={"label": "API user name"})
    announcement_category = fields.Integer(load_default=None, allow_none=True,
                                           metadata={"label": "Announcement category id"})
    opt_in_tag = fields.String(load_default="forum", validate=validate.Length(min=1, max=40),
                               metadata={"label": "Opt-in tag",
                                         "help": "Customers with this tag get an account."})
    timeout = fields.Integer(load_default=15, validate=validate.Range(min=1, max=60),
                             metadata={"label": "Timeout (seconds)"})


def _call(config, method: str, path: str, body=None):
    headers = {"Api-Key": config["api_key"], "Api-Username": config["api_username"]}
    return request_json(method, config["base_url"].rstrip("/") + path, body,
                        headers=headers, timeout=config["timeout"])[1]


def username_for(email: str) -> str:
    """A stable, valid forum user name from an email (the same customer, the same name)."""
    local = re.sub(r"[^A-Za-z0-9_]", "_", email.split("@")[0])[:14].strip("_") or "member"
    return f"{local}_{hashlib.sha256(email.lower().encode()).hexdigest()[:5]}"


def _find_user(config, email: str) -> dict | None:
    found = _call(config, "GET", f"/admin/users/list/all.json?email={quote(email)}")
    for user in found if isinstance(found, list) else []:
        if str(user.get("email", "")).lower() == email.lower():
            return user
    return None


@hookimpl
def plugin_settings_schema():
    return ForumSettings


@hookimpl
def on_customer_event(event, customer, tenant, config):
    if event.name not in ("customer.created", "customer.updated"):
        return {"skipped": event.name}
    if config["opt_in_tag"] not in (customer.get("tags") or []):
        return {"skipped": "not opted in"}
    email = customer.get("email")
    if not email:
        return {"skipped": "no email"}
    existing = _find_user(config, email)
    if existing is not None:
        return {"external_id": str(existing["id"]), "username": existing["username"]}
    username = username_for(email)
    answer = _call(config, "POST", "/users.json", {
        "name": customer.get("name") or username, "email": email, "username": username,
        "password": secrets.token_urlsafe(24), "active": True, "approved": True})
    if not isinstance(answer, dict) or not answer.get("success"):
        message = answer.get("message") if isinstance(answer, dict) else answer
        raise RuntimeError(f"the forum refused the account: {message}")
    return {"external_id": str(answer["user_id"]), "username": username}


class ForumChannel:
    name = "forum"

    def send(self, message, config) -> SendResult:
        body = {"title": (message.subject or message.body.splitlines()[0])[:200],
                "raw": message.body}
        if config["announcement_category"]:
            body["category"] = config["announcement_category"]
        answer = _call(config, "POST", "/posts.json", body)
        if not isinstance(answer, dict) or not answer.get("topic_id"):
            raise ValueError(f"the forum answered without a topic: {str(answer)[:200]}")
        return SendResult(provider_id=f"topic-{answer['topic_id']}",
                          detail={"post_id": answer.get("id")})


@hookimpl
def register_channels():
    return [ForumChannel()]


@hookimpl
def pull_changes(since, tenant, config):
    latest = _call(config, "GET", "/posts.json") or {}
    posts = [p for p in latest.get("latest_posts", [])
             if since is None or _parse(p["created_at"]) > since]
    if not posts:
        return PulledChanges()
    users = _call(config, "GET", "/admin/users/list/all.json") or []
    emails = {u["username"]: u["email"] for u in users if u.get("email")}
    interactions = []
    for post in posts:
        email = emails.get(post.get("username"))
        if not email:
            continue
        text = " ".join(str(post.get("raw") or "").split())
        summary = f"Forum post in “{post.get('topic_title', '')}”: {text}"
        interactions.append(PulledInteraction(
            email=email, channel="social", summary=summary[:MAX_SUMMARY],
            occurred_at=_parse(post["created_at"]), external_id=f"post-{post['id']}"))
    return PulledChanges(interactions=interactions)


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
