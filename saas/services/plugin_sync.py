"""Merging what plugins pull from external systems into the tenant's data.

Customers are matched by email and merged field by field, last writer wins by
`updated_at`; interactions are logged once per external id. Each record is applied in
a savepoint, so one bad record is reported and skipped without losing the others.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.hooks.types import PulledChanges, PulledCustomer, PulledInteraction
from saas.models.base import utcnow
from saas.models.plugins import PluginConfig, PluginLink
from saas.services.context import Actor
from saas.services.errors import ServiceError

log = logging.getLogger("saas.plugins.sync")

# What an external system may change on our customers; never consent or ownership.
PULLABLE_FIELDS = ("name", "phones", "industry", "address", "company_size", "department",
                   "tags", "custom_fields", "wechat_id", "notes")


@dataclass
class SyncReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    interactions: int = 0
    rejected: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated,
                "unchanged": self.unchanged, "interactions": self.interactions,
                "rejected": self.rejected[:20]}


def link_for(session: Session, plugin: str, entity_type: str,
             entity_id: str) -> PluginLink | None:
    return session.scalars(select(PluginLink).where(
        PluginLink.plugin == plugin, PluginLink.entity_type == entity_type,
        PluginLink.entity_id == entity_id)).first()


def remember_link(session: Session, plugin: str, entity_type: str, entity_id: str,
                  external_id: str, remote_updated_at: datetime | None = None) -> PluginLink:
    link = link_for(session, plugin, entity_type, entity_id)
    if link is None:
        link = PluginLink(plugin=plugin, entity_type=entity_type, entity_id=entity_id,
                          external_id=str(external_id)[:120])
        session.add(link)
    link.external_id = str(external_id)[:120]
    link.remote_updated_at = remote_updated_at
    return link


def record_push(session: Session, plugin: str, customer_id: str, result: Any) -> None:
    """Remember the external id a `sync_customer` call returned."""
    if isinstance(result, Mapping) and result.get("external_id"):
        remember_link(session, plugin, "customer", str(customer_id),
                      str(result["external_id"]))


def apply_changes(session: Session, plugin: str, changes: Any) -> SyncReport:
    report = SyncReport()
    if changes is None:
        return report
    if not isinstance(changes, PulledChanges):
        report.rejected.append(f"pull_changes returned {type(changes).__name__}")
        return report
    actor = Actor.system(f"plugin:{plugin}")
    for item in changes.customers:
        _guarded(session, report, item, lambda i=item: _merge_customer(session, actor,
                                                                        plugin, i, report))
    for item in changes.interactions:
        _guarded(session, report, item, lambda i=item: _log_interaction(session, actor,
                                                                         plugin, i, report))
    return report


def _guarded(session: Session, report: SyncReport, item: Any, apply) -> None:
    savepoint = session.begin_nested()
    try:
        apply()
        savepoint.commit()
    except (ServiceError, ValueError, TypeError, AttributeError) as exc:
        savepoint.rollback()
        message = getattr(exc, "message", None) or str(exc)
        errors = getattr(exc, "errors", None)
        detail = f" {errors}" if errors else ""
        report.rejected.append(f"{getattr(item, 'email', '?')}: {message}{detail}"[:300])


def _merge_customer(session: Session, actor: Actor, plugin: str, item: PulledCustomer,
                    report: SyncReport) -> None:
    from saas.services import customers as customer_service

    if not isinstance(item, PulledCustomer) or not isinstance(item.updated_at, datetime) \
            or item.updated_at.tzinfo is None:
        raise TypeError("a pulled customer needs an email and an aware updated_at")
    values = {k: v for k, v in dict(item.fields or {}).items() if k in PULLABLE_FIELDS}
    found = [c for c in customer_service.find_by_email(session, item.email)
             if c.merged_into_id is None]
    if not found:
        customer = customer_service.create_customer(session, actor, {
            "kind": "person", **values, "name": values.get("name") or item.email,
            "emails": [item.email], "source_channel": plugin[:40]})
        report.created += 1
    else:
        customer = found[0]
        if item.updated_at > customer.updated_at:
            before = customer.updated_at
            customer_service.update_customer(session, actor, customer.id, values)
            if customer.updated_at != before:
                report.updated += 1
            else:
                report.unchanged += 1
        else:
            report.unchanged += 1
    if item.external_id:
        remember_link(session, plugin, "customer", str(customer.id), item.external_id,
                      item.updated_at)


def _log_interaction(session: Session, actor: Actor, plugin: str, item: PulledInteraction,
                     report: SyncReport) -> None:
    from saas.services import customers as customer_service
    from saas.services.interactions import log_interaction

    if not isinstance(item, PulledInteraction):
        raise TypeError(f"not a PulledInteraction: {type(item).__name__}")
    if item.external_id and session.scalar(select(PluginLink.id).where(
            PluginLink.plugin == plugin, PluginLink.entity_type == "interaction",
            PluginLink.external_id == str(item.external_id))) is not None:
        return
    found = [c for c in customer_service.find_by_email(session, item.email)
             if c.merged_into_id is None]
    if not found:
        raise ValueError("no customer has this email")
    interaction = log_interaction(session, actor, found[0].id, {
        "channel": item.channel, "direction": "in", "summary": item.summary,
        "occurred_at": item.occurred_at})
    if item.external_id:
        remember_link(session, plugin, "interaction", str(interaction.id), item.external_id)
    report.interactions += 1


def last_pulled(cfg: PluginConfig) -> datetime | None:
    raw = (cfg.state or {}).get("pulled_at")
    return datetime.fromisoformat(raw) if raw else None


def mark_pulled(cfg: PluginConfig, started: datetime, report: SyncReport | None,
                error: str | None = None) -> None:
    """Advance the cursor only after a successful pull, so failures are pulled again."""
    state = dict(cfg.state or {})
    if error is None:
        state["pulled_at"] = started.isoformat()
        state["last_report"] = report.as_dict() if report else None
        state.pop("last_error", None)
    else:
        state["last_error"] = error[:1000]
    state["last_attempt_at"] = utcnow().isoformat()
    cfg.state = state
