"""Two-way sync of customers with a HubSpot-style CRM.

Push: every created or updated customer with an email is upserted as a contact keyed by
email (``POST /crm/v3/objects/contacts/batch/upsert``). Pull: contacts modified since
the last pull are fetched (``POST /crm/v3/objects/contacts/search``) and merged back,
last writer wins by modification time. Which of our fields travel, under which
property names, is the tenant's field mapping.
"""

from __future__ import annotations

from datetime import datetime

from marshmallow import Schema, ValidationError, fields, validate

from plugins._http import request_json
from saas.hooks.hookspecs import hookimpl
from saas.hooks.types import PulledChanges, PulledCustomer

# Our customer fields that may be mapped; "phone" travels as our first phone number.
MAPPABLE = ("name", "phone", "industry", "address", "company_size", "department",
            "wechat_id", "notes")
DEFAULT_MAPPING = ["name=firstname", "phone=phone", "industry=industry"]
PAGE_SIZE = 100
MAX_PAGES = 50


def parse_mapping(lines: list[str]) -> dict[str, str]:
    """``["name=firstname", ...]`` → ``{"name": "firstname"}``; raises ValidationError."""
    mapping: dict[str, str] = {}
    problems = []
    for line in lines:
        ours, sep, theirs = (part.strip() for part in line.partition("="))
        if not sep or not ours or not theirs:
            problems.append(f"“{line}” is not ours=theirs.")
        elif ours not in MAPPABLE:
            problems.append(f"{ours} cannot be synced; use one of: {', '.join(MAPPABLE)}.")
        elif not theirs.replace("_", "").isalnum() or theirs == "email":
            problems.append(f"{theirs} is not a property name (email is always synced).")
        else:
            mapping[ours] = theirs
    if problems:
        raise ValidationError(problems)
    return mapping


class CrmSettings(Schema):
    base_url = fields.Url(required=True, require_tld=False, schemes={"http", "https"},
                          metadata={"label": "API base URL",
                                    "help": "e.g. https://api.hubapi.com"})
    token = fields.String(required=True, validate=validate.Length(min=8),
                          metadata={"secret": True, "label": "Private app token"})
    field_mapping = fields.List(fields.String(), load_default=lambda: list(DEFAULT_MAPPING),
                                validate=parse_mapping,
                                metadata={"label": "Field mapping",
                                          "help": "One per line: our field=their property"})
    timeout = fields.Integer(load_default=15, validate=validate.Range(min=1, max=60),
                             metadata={"label": "Timeout (seconds)"})


def _headers(config) -> dict[str, str]:
    return {"Authorization": f"Bearer {config['token']}"}


def _url(config, path: str) -> str:
    return config["base_url"].rstrip("/") + path


def contact_properties(customer: dict, mapping: dict[str, str]) -> dict[str, str]:
    props = {"email": customer["email"]}
    for ours, theirs in mapping.items():
        value = customer.get(ours)
        if value not in (None, "", []):
            props[theirs] = str(value)
    return props


@hookimpl
def plugin_settings_schema():
    return CrmSettings


@hookimpl
def sync_customer(event, customer, tenant, config):
    if not customer.get("email"):
        return {"skipped": "the customer has no email"}
    mapping = parse_mapping(config["field_mapping"])
    _, answer = request_json(
        "POST", _url(config, "/crm/v3/objects/contacts/batch/upsert"),
        {"inputs": [{"idProperty": "email", "id": customer["email"],
                     "properties": contact_properties(customer, mapping)}]},
        headers=_headers(config), timeout=config["timeout"])
    results = (answer or {}).get("results") if isinstance(answer, dict) else None
    if not results or not results[0].get("id"):
        raise ValueError(f"upsert answered without a contact id: {str(answer)[:200]}")
    return {"external_id": str(results[0]["id"])}


def _parse_time(value) -> datetime:
    stamp = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if stamp.tzinfo is None:
        raise ValueError(f"time without zone: {value}")
    return stamp


@hookimpl
def pull_changes(since, tenant, config):
    mapping = parse_mapping(config["field_mapping"])
    back = {theirs: ours for ours, theirs in mapping.items()}
    filters = []
    if since is not None:
        filters = [{"filters": [{"propertyName": "lastmodifieddate", "operator": "GT",
                                 "value": str(int(since.timestamp() * 1000))}]}]
    body = {"filterGroups": filters, "limit": PAGE_SIZE,
            "properties": ["email", "lastmodifieddate", *back],
            "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]}
    customers = []
    for _ in range(MAX_PAGES):
        _, answer = request_json("POST", _url(config, "/crm/v3/objects/contacts/search"),
                                 body, headers=_headers(config), timeout=config["timeout"])
        for contact in (answer or {}).get("results", []):
            props = contact.get("properties") or {}
            if not props.get("email"):
                continue
            values: dict = {}
            for theirs, ours in back.items():
                if props.get(theirs) not in (None, ""):
                    if ours == "phone":
                        values["phones"] = [props[theirs]]
                    else:
                        values[ours] = props[theirs]
            customers.append(PulledCustomer(
                email=props["email"], fields=values, external_id=str(contact["id"]),
                updated_at=_parse_time(contact.get("updatedAt")
                                       or props["lastmodifieddate"])))
        after = (((answer or {}).get("paging") or {}).get("next") or {}).get("after")
        if not after:
            break
        body = {**body, "after": after}
    return PulledChanges(customers=customers)
