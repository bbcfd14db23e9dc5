"""Campaigns: define, launch (snapshot the segment), send in batches exactly once, steer.

Life of a campaign: `draft` → (`scheduled` →) `running` ⇄ `paused` → `completed`, or
`cancelled` at any point before the end. Launch freezes the audience into
`campaign_recipients`; batch jobs (`saas.jobs.campaigns:send_batch`) then claim rows in
chunks — the claim (`pending` → `sending` with a token) is committed before anything is
sent, and the sends commit together with the rows' `sent` status, so a crash leaves either
`sending` rows without messages (the sweep returns them to `pending` once the lease has
run out) or `sent` rows with their messages, never both or neither. The channel key
`campaign:<id>:<recipient id>` makes any resend a no-op.

Quiet hours and the per-channel rate limit never drop anything: the batch stops, notes
when it may go on (`resume_at`), and the periodic tick dispatches again then.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from saas.models import Tenant
from saas.models.base import new_id, utcnow
from saas.models.campaigns import (
    WINNER_METRICS,
    Campaign,
    CampaignRecipient,
    CampaignVariant,
)
from saas.models.customers import CONSENT_CHANNELS, Customer
from saas.services import audit, field_access, limits, outbox
from saas.services import campaign_templates as templates
from saas.services import segments as segment_service
from saas.services.context import Actor
from saas.services.customers import parse_id
from saas.services.errors import Conflict, InvalidInput, LimitExceeded, NotFound
from saas.services.plugins import (
    ConsentWithdrawn,
    available_channels,
    bound_tenant,
    channel_provider,
    send_via_channel,
)

FIELDS = {"name", "segment_id", "channel", "variants", "quiet_start", "quiet_end",
          "rate_per_minute", "winner_metric", "test_minutes", "conversion_days",
          "survey_id"}
EDITABLE = ("draft", "scheduled")
ACTIVE = ("running", "paused")
CLICK_SALT = "saas.campaign.click"
ADDRESS_FIELD = {"email": "email", "sms": "phone", "phone": "phone", "wechat": "wechat_id"}


# -- reading ------------------------------------------------------------------------


def get_campaign(session: Session, campaign_id: Any) -> Campaign:
    found = session.scalars(select(Campaign).where(
        Campaign.id == parse_id(campaign_id, "campaign"))).first()
    if found is None:
        raise NotFound("No such campaign.")
    return found


def query(status: str | None = None):
    stmt = select(Campaign)
    if status:
        stmt = stmt.where(Campaign.status == status)
    return stmt


def variants(session: Session, campaign_id: uuid.UUID) -> list[CampaignVariant]:
    return list(session.scalars(select(CampaignVariant).where(
        CampaignVariant.campaign_id == campaign_id).order_by(CampaignVariant.name)))


@dataclass(frozen=True)
class Progress:
    total: int
    counts: dict[str, int]
    reasons: dict[str, int]

    @property
    def done(self) -> int:
        return sum(self.counts.get(s, 0) for s in ("sent", "failed", "skipped"))

    @property
    def percent(self) -> int:
        return int(self.done * 100 / self.total) if self.total else 0

    def as_dict(self) -> dict[str, Any]:
        return {"total": self.total, "done": self.done, "percent": self.percent,
                **{s: self.counts.get(s, 0) for s in
                   ("held", "pending", "sending", "sent", "failed", "skipped")},
                "reasons": self.reasons}


def progress(session: Session, campaign_id: Any) -> Progress:
    campaign = get_campaign(session, campaign_id)
    rows = session.execute(select(CampaignRecipient.status, CampaignRecipient.reason,
                                  func.count())
                           .where(CampaignRecipient.campaign_id == campaign.id)
                           .group_by(CampaignRecipient.status,
                                     CampaignRecipient.reason)).all()
    counts: dict[str, int] = {}
    reasons: dict[str, int] = {}
    for status, reason, n in rows:
        counts[status] = counts.get(status, 0) + n
        if reason and status in ("skipped", "failed"):
            key = reason.split(":", 1)[0]
            reasons[key] = reasons.get(key, 0) + n
    return Progress(sum(counts.values()), counts, reasons)


# -- writing the definition ---------------------------------------------------------


def _hhmm(value: Any, field: str, errors: dict) -> str | None:
    if value in (None, ""):
        return None
    try:
        parsed = time.fromisoformat(str(value))
    except ValueError:
        errors[field] = ["Use HH:MM (24-hour)."]
        return None
    return parsed.strftime("%H:%M")


def _int(data: Mapping, name: str, low: int, high: int, errors: dict) -> int | None:
    value = data.get(name)
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        errors[name] = ["Enter a whole number."]
        return None
    if isinstance(value, bool) or not low <= number <= high:
        errors[name] = [f"Enter a number from {low} to {high}."]
        return None
    return number


def _clean_variants(raw: Any, channel: str | None, errors: dict) -> list[dict]:
    if raw is None or (isinstance(raw, list) and not raw):
        errors["variants"] = ["Add at least one variant."]
        return []
    if not isinstance(raw, list) or len(raw) > 5:
        errors["variants"] = ["Send a list of 1-5 variants."]
        return []
    out, names = [], set()
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            errors[f"variants.{i}"] = ["Send an object."]
            continue
        unknown = set(item) - {"name", "subject", "body", "split_percent"}
        for key in unknown:
            errors[f"variants.{i}.{key}"] = ["Unknown field."]
        name = str(item.get("name") or chr(ord("A") + i)).strip()[:40]
        if name in names:
            errors[f"variants.{i}.name"] = ["Variant names must differ."]
        names.add(name)
        split = _int(item, "split_percent", 1, 100, errors_for := {})
        for key, msgs in errors_for.items():
            errors[f"variants.{i}.{key}"] = msgs
        if split is None and "split_percent" not in errors_for:
            split = 100 if len(raw) == 1 else None
            if split is None:
                errors[f"variants.{i}.split_percent"] = ["Give each variant a share."]
        for part, required in (("body", True), ("subject", False)):
            try:
                templates.validate(item.get(part), f"variants.{i}.{part}", required)
            except InvalidInput as exc:
                errors.update(exc.errors)
        if channel == "email" and not str(item.get("subject") or "").strip():
            errors.setdefault(f"variants.{i}.subject", ["An email needs a subject."])
        out.append({"name": name, "subject": item.get("subject") or None,
                    "body": item.get("body") or "", "split_percent": split or 0})
    total = sum(v["split_percent"] for v in out)
    if out and total > 100:
        errors["variants"] = [f"The shares add up to {total}%; at most 100%."]
    return out


def _clean(session: Session, data: Mapping[str, Any], campaign: Campaign | None
           ) -> tuple[dict[str, Any], list[dict] | None]:
    if not isinstance(data, Mapping):
        raise InvalidInput("Send the campaign as an object.")
    errors: dict[str, list[str]] = {key: ["Unknown field."] for key in set(data) - FIELDS}
    values: dict[str, Any] = {}
    creating = campaign is None
    if creating or "name" in data:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 200:
            errors["name"] = ["Enter a name of 1-200 characters."]
        else:
            values["name"] = name.strip()
    if creating or "segment_id" in data:
        try:
            values["segment_id"] = segment_service.get_segment(
                session, data.get("segment_id")).id
        except NotFound:
            errors["segment_id"] = ["Choose one of your saved segments."]
    if creating or "channel" in data:
        channel = data.get("channel")
        if channel not in available_channels(session):
            errors["channel"] = ["Choose a channel an enabled plugin offers."]
        else:
            values["channel"] = channel
    for key in ("quiet_start", "quiet_end"):
        if key in data:
            values[key] = _hhmm(data[key], key, errors)
    if (values.get("quiet_start") is None) != (values.get("quiet_end") is None) and (
            "quiet_start" in data or "quiet_end" in data):
        errors.setdefault("quiet_end", ["Give both ends of the quiet hours, or neither."])
    for key, low, high in (("rate_per_minute", 1, 100000), ("test_minutes", 1, 10080),
                           ("conversion_days", 1, 365)):
        if key in data:
            values[key] = _int(data, key, low, high, errors)
    if values.get("conversion_days") is None:
        values.pop("conversion_days", None)
    if "winner_metric" in data:
        metric = data.get("winner_metric") or None
        if metric is not None and metric not in WINNER_METRICS:
            errors["winner_metric"] = [f"Choose from: {', '.join(WINNER_METRICS)}."]
        values["winner_metric"] = metric
    if "survey_id" in data:
        values["survey_id"] = None
        if data.get("survey_id"):
            from saas.services.surveys import get_survey

            try:
                values["survey_id"] = get_survey(session, data["survey_id"]).id
            except NotFound:
                errors["survey_id"] = ["Choose one of your surveys."]
    channel = values.get("channel") or (campaign.channel if campaign else None)
    cleaned_variants = None
    if creating or "variants" in data:
        cleaned_variants = _clean_variants(data.get("variants"), channel, errors)
    splits = [v["split_percent"] for v in cleaned_variants or []]
    metric = values.get("winner_metric", campaign.winner_metric if campaign else None)
    minutes = values.get("test_minutes", campaign.test_minutes if campaign else None)
    if len(splits) > 1 and sum(splits) < 100 and not errors.get("variants"):
        if not metric:
            errors["winner_metric"] = ["A test on part of the audience needs a metric "
                                       "to pick the winner."]
        if not minutes:
            errors["test_minutes"] = ["Say how long the test runs."]
    if errors:
        first = next(iter(errors.items()))
        raise InvalidInput(f"The campaign has errors ({first[0]}: {first[1][0]})", errors)
    return values, cleaned_variants


def _save_variants(session: Session, campaign: Campaign, cleaned: list[dict]) -> None:
    for old in variants(session, campaign.id):
        session.delete(old)
    session.flush()
    for item in cleaned:
        session.add(CampaignVariant(campaign_id=campaign.id, **item))
    session.flush()


def create_campaign(session: Session, actor: Actor, data: Mapping[str, Any]) -> Campaign:
    values, cleaned = _clean(session, data, None)
    field_access.check_variants(session, actor, cleaned)
    campaign = Campaign(id=new_id(), status="draft", created_by_id=actor.staff_id,
                        audience_size=0, **values)
    session.add(campaign)
    session.flush()
    _save_variants(session, campaign, cleaned or [])
    audit.record(session, actor, "campaign.created", "campaign", campaign.id,
                 {"name": campaign.name, "channel": campaign.channel})
    return campaign


def update_campaign(session: Session, actor: Actor, campaign_id: Any,
                    data: Mapping[str, Any]) -> Campaign:
    campaign = get_campaign(session, campaign_id)
    if campaign.status not in EDITABLE:
        raise Conflict(f"A {campaign.status} campaign cannot be edited.")
    values, cleaned = _clean(session, data, campaign)
    field_access.check_variants(session, actor, cleaned)
    for key, value in values.items():
        setattr(campaign, key, value)
    if cleaned is not None:
        _save_variants(session, campaign, cleaned)
    audit.record(session, actor, "campaign.updated", "campaign", campaign.id,
                 {k: str(v) for k, v in values.items()})
    session.flush()
    return campaign


# -- time: schedule, quiet hours ----------------------------------------------------


def tenant_zone(tenant: Tenant) -> ZoneInfo:
    try:
        return ZoneInfo(tenant.timezone or "UTC")
    except Exception:
        return ZoneInfo("UTC")


def parse_local(value: Any, tenant: Tenant, field: str = "scheduled_at") -> datetime:
    """A time the user typed in the tenant's zone (or an aware one) → aware UTC."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except ValueError as exc:
            raise InvalidInput.field(field, "Use YYYY-MM-DD HH:MM.") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tenant_zone(tenant))
    return moment.astimezone(UTC)


def quiet_until(campaign: Campaign, tenant: Tenant, now: datetime) -> datetime | None:
    """When the quiet hours that `now` falls in end (UTC), or None outside them."""
    if not campaign.quiet_start or not campaign.quiet_end:
        return None
    zone = tenant_zone(tenant)
    local = now.astimezone(zone)
    start, end = time.fromisoformat(campaign.quiet_start), time.fromisoformat(
        campaign.quiet_end)
    t = local.time()
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return None
    end_day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(end_day, end, tzinfo=zone).astimezone(UTC)


# -- launch -------------------------------------------------------------------------


def launch(session: Session, actor: Actor, campaign_id: Any, at: Any = None) -> Campaign:
    """Start now, or schedule for `at` (tenant's local time). The segment must not be
    empty and the plan must allow the whole audience's messages, checked now and again
    when a scheduled campaign starts."""
    campaign = get_campaign(session, campaign_id)
    if campaign.status not in EDITABLE:
        raise Conflict(f"A {campaign.status} campaign cannot be launched again.")
    tenant = bound_tenant(session)
    if campaign.channel not in available_channels(session):
        raise InvalidInput.field("channel", f"No enabled plugin offers the "
                                            f"{campaign.channel} channel any more.")
    if not variants(session, campaign.id):
        raise InvalidInput.field("variants", "Add at least one variant.")
    size = segment_service.count(session, campaign.segment_id)
    if size == 0:
        raise InvalidInput.field("segment_id", "The segment is empty: nobody would get "
                                               "this campaign.")
    limits.check(session, None, "messages", adding=size)
    now = utcnow()
    when = parse_local(at, tenant) if at not in (None, "") else None
    if when is not None and when > now:
        campaign.status = "scheduled"
        campaign.scheduled_at = when
        audit.record(session, actor, "campaign.scheduled", "campaign", campaign.id,
                     {"scheduled_at": when.isoformat()})
        session.flush()
        return campaign
    start(session, campaign, actor)
    return campaign


def _assign(ids: list[uuid.UUID], campaign: Campaign, vs: list[CampaignVariant]
            ) -> list[uuid.UUID | None]:
    """Shuffle (seeded by the campaign, so reproducible) and cut by the shares; the part
    no share covers is held for the winner."""
    order = list(range(len(ids)))
    random.Random(campaign.id.int).shuffle(order)
    out: list[uuid.UUID | None] = [None] * len(ids)
    n, pos = len(ids), 0
    total = sum(v.split_percent for v in vs)
    for i, variant in enumerate(vs):
        take = n - pos if (total >= 100 and i == len(vs) - 1) else \
            round(n * variant.split_percent / 100)
        for k in order[pos:pos + take]:
            out[k] = variant.id
        pos += take
    return out


def start(session: Session, campaign: Campaign, actor: Actor | None = None) -> int:
    """Snapshot the audience into recipient rows and queue the batches."""
    actor = actor or Actor.system("campaigns")
    ids = list(session.scalars(select(Customer.id).where(
        Customer.merged_into_id.is_(None),
        segment_service.segment_filter(session, campaign.segment_id))
        .order_by(Customer.id)))
    if not ids:
        raise InvalidInput.field("segment_id", "The segment is empty: nobody would get "
                                               "this campaign.")
    limits.check(session, None, "messages", adding=len(ids))
    vs = variants(session, campaign.id)
    assigned = _assign(ids, campaign, vs)
    size = int(current_app.config.get("CAMPAIGN_BATCH_SIZE") or 500)
    tenant_id = campaign.tenant_id
    rows = [{"tenant_id": tenant_id, "id": new_id(), "campaign_id": campaign.id,
             "customer_id": cid, "variant_id": vid, "seq": i, "batch": i // size,
             "status": "pending" if vid is not None else "held", "click_count": 0,
             "created_at": utcnow()}
            for i, (cid, vid) in enumerate(zip(ids, assigned, strict=True))]
    for i in range(0, len(rows), 5000):
        session.execute(insert(CampaignRecipient), rows[i:i + 5000])
    now = utcnow()
    campaign.status = "running"
    campaign.launched_at = now
    campaign.audience_size = len(ids)
    campaign.pause_reason = None
    if any(v is None for v in assigned) and campaign.test_minutes:
        campaign.test_ends_at = now + timedelta(minutes=campaign.test_minutes)
    audit.record(session, actor, "campaign.launched", "campaign", campaign.id,
                 {"audience": len(ids)})
    outbox.emit(session, "campaign.launched", "campaign", campaign.id,
                {"name": campaign.name, "audience": len(ids), "channel": campaign.channel})
    session.flush()
    dispatch(session, campaign)
    return len(ids)


def dispatch(session: Session, campaign: Campaign) -> int:
    """Queue one job per batch that still has pending rows (after commit)."""
    from saas.jobs.queue import enqueue_after_commit

    batches = session.scalars(select(CampaignRecipient.batch).where(
        CampaignRecipient.campaign_id == campaign.id,
        CampaignRecipient.status == "pending").distinct().order_by(
        CampaignRecipient.batch)).all()
    campaign.resume_at = None
    for batch in batches:
        enqueue_after_commit(session, "saas.jobs.campaigns:send_batch", campaign.tenant_id,
                             str(campaign.id), batch)
    return len(batches)


# -- pause, resume, cancel ----------------------------------------------------------


def _pause(session: Session, campaign: Campaign, reason: str) -> None:
    campaign.status = "paused"
    campaign.pause_reason = reason
    outbox.emit(session, "campaign.paused", "campaign", campaign.id, {"reason": reason})


def pause(session: Session, actor: Actor, campaign_id: Any) -> Campaign:
    campaign = get_campaign(session, campaign_id)
    if campaign.status != "running":
        raise Conflict(f"A {campaign.status} campaign cannot be paused.")
    _pause(session, campaign, "Paused by staff.")
    audit.record(session, actor, "campaign.paused", "campaign", campaign.id, {})
    session.flush()
    return campaign


def resume(session: Session, actor: Actor, campaign_id: Any) -> Campaign:
    campaign = get_campaign(session, campaign_id)
    if campaign.status != "paused":
        raise Conflict(f"A {campaign.status} campaign cannot be resumed.")
    if campaign.channel not in available_channels(session):
        raise InvalidInput.field("channel", f"No enabled plugin offers the "
                                            f"{campaign.channel} channel: enable it first.")
    campaign.status = "running"
    campaign.pause_reason = None
    audit.record(session, actor, "campaign.resumed", "campaign", campaign.id, {})
    session.flush()
    dispatch(session, campaign)
    return campaign


def cancel(session: Session, actor: Actor, campaign_id: Any) -> Campaign:
    """Stop for good; rows not yet claimed are skipped with the reason `cancelled`."""
    campaign = get_campaign(session, campaign_id)
    if campaign.status in ("completed", "cancelled"):
        raise Conflict(f"A {campaign.status} campaign cannot be cancelled.")
    campaign.status = "cancelled"
    campaign.finished_at = utcnow()
    session.execute(update(CampaignRecipient).where(
        CampaignRecipient.campaign_id == campaign.id,
        CampaignRecipient.status.in_(("pending", "held"))).values(
        status="skipped", reason="cancelled"))
    audit.record(session, actor, "campaign.cancelled", "campaign", campaign.id, {})
    session.flush()
    return campaign


# -- sending ------------------------------------------------------------------------


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=CLICK_SALT)


def tracked_link(tenant: Tenant, recipient_id: uuid.UUID, url: str) -> str:
    """A signed redirect that records the click; only ever leads to the signed `url`."""
    token = _serializer().dumps({"r": recipient_id.hex, "u": url})
    base = current_app.config.get("BASE_URL", "").rstrip("/")
    return f"{base}/t/{tenant.slug}/campaigns/r/{token}"


def record_click(session: Session, token: str) -> str:
    """Count a click of a tracked link of the bound tenant; returns where it leads."""
    try:
        data = _serializer().loads(token)
        rid = uuid.UUID(hex=data["r"])
        url = str(data["u"])
    except (BadSignature, KeyError, TypeError, ValueError) as exc:
        raise NotFound("This link is not valid.") from exc
    recipient = session.scalars(select(CampaignRecipient).where(
        CampaignRecipient.id == rid)).first()
    if recipient is None:
        raise NotFound("This link is not valid.")
    recipient.click_count = (recipient.click_count or 0) + 1
    recipient.first_clicked_at = recipient.first_clicked_at or utcnow()
    return url


def _lock(session: Session, campaign_id: uuid.UUID, lock: bool = False) -> Campaign | None:
    """The campaign as committed now; `lock` (PostgreSQL) serialises the rate-limit
    accounting of concurrent batches. Sends never hold the lock, so workers share a
    campaign in parallel."""
    stmt = select(Campaign).where(Campaign.id == campaign_id).execution_options(
        populate_existing=True)
    if lock and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def _used_this_minute(session: Session, channel: str, now: datetime) -> int:
    minute = now.replace(second=0, microsecond=0)
    return session.scalar(select(func.count()).select_from(CampaignRecipient).join(
        Campaign, (Campaign.tenant_id == CampaignRecipient.tenant_id)
        & (Campaign.id == CampaignRecipient.campaign_id)).where(
        Campaign.channel == channel, CampaignRecipient.claimed_at >= minute,
        CampaignRecipient.status.in_(("sending", "sent")))) or 0


def _address(customer: Customer, channel: str) -> str | None:
    attr = ADDRESS_FIELD.get(channel)
    if attr:
        return getattr(customer, attr, None) or None
    return customer.email or customer.phone or str(customer.id)


def _skip_reason(customer: Customer | None, channel: str) -> tuple[str | None, str | None]:
    if customer is None:
        return "deleted", None
    if customer.merged_into_id is not None:
        return "merged", None
    address = _address(customer, channel)
    if not address:
        return "no_address", None
    if channel in CONSENT_CHANNELS:
        entry = (customer.consent or {}).get(channel)
        status = entry.get("status") if isinstance(entry, dict) else entry
        if status == "withdrawn":
            return "opted_out", address
        if status != "granted":
            return "no_consent", address
    return None, address


def _send_one(session: Session, tenant: Tenant, campaign: Campaign,
              variant: CampaignVariant, recipient: CampaignRecipient,
              customer: Customer | None, now: datetime) -> None:
    reason, address = _skip_reason(customer, campaign.channel)
    recipient.address = address
    if reason:
        recipient.status, recipient.reason = "skipped", reason
        return
    assert customer is not None and address is not None
    survey_url = ""
    if campaign.survey_id:
        from saas.services.surveys import invite

        survey_url = invite(session, campaign.survey_id, customer.id, "campaign",
                            str(campaign.id)).url
    values = templates.context(
        templates.customer_values(customer), campaign.name,
        lambda url: tracked_link(tenant, recipient.id, str(url)), survey_url=survey_url)
    if campaign.channel in CONSENT_CHANNELS:
        from saas.services.unsubscribe import unsubscribe_url

        values["unsubscribe_url"] = unsubscribe_url(tenant, customer.id, campaign.channel,
                                                    recipient.id)
    try:
        body = templates.render(variant.body, values)
        subject = templates.render(variant.subject, values) if variant.subject else None
    except Exception as exc:
        recipient.status = "failed"
        recipient.reason = f"template: {type(exc).__name__}: {exc}"[:300]
        return
    try:
        delivery = send_via_channel(
            session, tenant, campaign.channel,
            {"to": address, "body": body, "subject": subject,
             "customer_id": str(customer.id),
             "context": {"campaign_id": str(campaign.id), "variant": variant.name,
                         **({"unsubscribe_url": values["unsubscribe_url"]}
                            if values.get("unsubscribe_url") else {})}},
            key=f"campaign:{campaign.id}:{recipient.id}")
    except ConsentWithdrawn:
        recipient.status, recipient.reason = "skipped", "opted_out"
        return
    recipient.status = "sent"
    recipient.reason = None
    recipient.sent_at = now
    recipient.delivery_id = delivery.id


def _release(session: Session, token: str) -> None:
    session.execute(update(CampaignRecipient).where(
        CampaignRecipient.claim_token == token,
        CampaignRecipient.status == "sending").values(status="pending", claimed_at=None,
                                                       claim_token=None))


def process_batch(session: Session, campaign_id: Any, batch: int) -> dict[str, Any]:
    """Send one batch chunk by chunk, exactly once per row; stops (leaving rows pending)
    when the campaign is not running, in quiet hours, over the rate limit, or when the
    channel or the plan refuses — pausing the campaign with the reason for the last two.
    Commits as it goes (claim, then sends): call it from a job."""
    cid = parse_id(campaign_id, "campaign")
    chunk = int(current_app.config.get("CAMPAIGN_CHUNK_SIZE") or 50)
    tenant = bound_tenant(session)
    sent = 0
    while True:
        campaign = _lock(session, cid)
        if campaign is None:
            return {"sent": sent, "stopped": "missing"}
        if campaign.status != "running":
            session.commit()
            return {"sent": sent, "stopped": campaign.status}
        now = utcnow()
        until = quiet_until(campaign, tenant, now)
        if until is not None:
            campaign.resume_at = until
            session.commit()
            return {"sent": sent, "stopped": "quiet_hours"}
        try:
            channel_provider(session, campaign.channel)
        except InvalidInput:
            _pause(session, campaign, f"The {campaign.channel} channel plugin was "
                                      "disabled.")
            session.commit()
            return {"sent": sent, "stopped": "channel_disabled"}
        allowance = chunk
        if campaign.rate_per_minute:
            campaign = _lock(session, cid, lock=True) or campaign
            allowance = min(chunk, campaign.rate_per_minute
                            - _used_this_minute(session, campaign.channel, now))
            if allowance <= 0:
                campaign.resume_at = now.replace(second=0, microsecond=0) + timedelta(
                    minutes=1)
                session.commit()
                return {"sent": sent, "stopped": "rate_limited"}
        ids = session.scalars(select(CampaignRecipient.id).where(
            CampaignRecipient.campaign_id == cid, CampaignRecipient.batch == batch,
            CampaignRecipient.status == "pending").order_by(CampaignRecipient.seq)
            .limit(allowance)).all()
        if not ids:
            session.commit()
            break
        token = uuid.uuid4().hex
        session.execute(update(CampaignRecipient).where(
            CampaignRecipient.id.in_(ids), CampaignRecipient.status == "pending").values(
            status="sending", claimed_at=now, claim_token=token))
        session.commit()  # the claim is durable before anything is sent
        rows = list(session.scalars(select(CampaignRecipient).where(
            CampaignRecipient.claim_token == token,
            CampaignRecipient.status == "sending").order_by(CampaignRecipient.seq)))
        if not rows:
            continue
        campaign = _lock(session, cid)
        if campaign is None or campaign.status != "running":
            _release(session, token)
            session.commit()
            return {"sent": sent, "stopped": campaign.status if campaign else "missing"}
        vs = {v.id: v for v in variants(session, cid)}
        customers = {c.id: c for c in session.scalars(select(Customer).where(
            Customer.id.in_([r.customer_id for r in rows])))}
        try:
            for row in rows:
                _send_one(session, tenant, campaign, vs[row.variant_id], row,
                          customers.get(row.customer_id), now)
                row.claim_token = None
                sent += row.status == "sent"
        except (LimitExceeded, InvalidInput) as exc:
            session.rollback()
            campaign = _lock(session, cid)
            _release(session, token)
            if campaign is not None:
                _pause(session, campaign, str(exc))
            session.commit()
            return {"sent": sent, "stopped": "paused"}
        inline = _take_delivery_jobs(session) if current_app.config.get(
            "CAMPAIGN_INLINE_DELIVERIES") else []
        session.commit()
        for delivery_id in inline:
            _run_delivery(session, delivery_id)
    campaign = _lock(session, cid)
    if campaign is not None:
        finish_if_done(session, campaign)
    session.commit()
    return {"sent": sent, "stopped": None}


def _take_delivery_jobs(session: Session) -> list:
    """Take this chunk's `run_delivery` jobs off the after-commit list: the batch runs
    them itself, sparing one RQ job per message. Anything it does not finish stays a
    pending delivery that the plugin retry sweep picks up."""
    from sqlalchemy.orm import scoped_session

    from saas.jobs.queue import PENDING_KEY

    real = session() if isinstance(session, scoped_session) else session
    pending = real.info.get(PENDING_KEY, [])
    keep, taken = [], []
    for path, args, kwargs in pending:
        if path == "saas.jobs.deliveries:run_delivery":
            taken.append(args[1])
        else:
            keep.append((path, args, kwargs))
    real.info[PENDING_KEY] = keep
    return taken


def _run_delivery(session: Session, delivery_id: Any) -> None:
    """The same steps as the `run_delivery` job."""
    from saas.services import plugin_deliveries as deliveries

    deliveries.attempt(session, delivery_id)
    session.commit()


def finish_if_done(session: Session, campaign: Campaign) -> bool:
    if campaign.status != "running":
        return False
    left = session.scalar(select(func.count()).select_from(CampaignRecipient).where(
        CampaignRecipient.campaign_id == campaign.id,
        CampaignRecipient.status.in_(("held", "pending", "sending"))))
    if left:
        return False
    campaign.status = "completed"
    campaign.finished_at = utcnow()
    outbox.emit(session, "campaign.completed", "campaign", campaign.id,
                {"name": campaign.name, "audience": campaign.audience_size})
    return True


# -- the periodic tick --------------------------------------------------------------


def reclaim_stale(session: Session, now: datetime | None = None) -> int:
    """Return `sending` rows whose worker died (lease over) to `pending`."""
    now = now or utcnow()
    lease = int(current_app.config.get("CAMPAIGN_CLAIM_LEASE") or 300)
    result = session.execute(update(CampaignRecipient).where(
        CampaignRecipient.status == "sending",
        CampaignRecipient.claimed_at < now - timedelta(seconds=lease)).values(
        status="pending", claimed_at=None, claim_token=None))
    return result.rowcount or 0


def choose_winner(session: Session, campaign: Campaign) -> CampaignVariant | None:
    """Best variant by the campaign's metric (rate over sent; ties: first by name); the
    held recipients get it and are queued."""
    from saas.services.campaign_results import variant_results

    stats = variant_results(session, campaign)
    vs = variants(session, campaign.id)
    if not vs:
        return None
    metric = campaign.winner_metric or "clicks"

    def rate(v: CampaignVariant) -> float:
        s = stats.get(v.name) or {}
        return (s.get(metric, 0) / s["sent"]) if s.get("sent") else 0.0

    winner = max(vs, key=lambda v: (rate(v), -vs.index(v)))
    campaign.winner_variant_id = winner.id
    session.execute(update(CampaignRecipient).where(
        CampaignRecipient.campaign_id == campaign.id,
        CampaignRecipient.status == "held").values(variant_id=winner.id, status="pending"))
    outbox.emit(session, "campaign.winner_chosen", "campaign", campaign.id,
                {"variant": winner.name, "metric": metric})
    return winner


def tick(session: Session, now: datetime | None = None) -> dict[str, int]:
    """Everything time-driven for the bound tenant: start due scheduled campaigns, pick
    due A/B winners, reclaim stale claims, dispatch campaigns whose deferral ended."""
    now = now or utcnow()
    out = {"started": 0, "winners": 0, "reclaimed": reclaim_stale(session, now),
           "dispatched": 0}
    for campaign in session.scalars(select(Campaign).where(
            Campaign.status == "scheduled", Campaign.scheduled_at <= now)).all():
        try:
            start(session, campaign)
            out["started"] += 1
        except (InvalidInput, LimitExceeded) as exc:
            campaign.status = "paused"
            campaign.pause_reason = str(exc)
    for campaign in session.scalars(select(Campaign).where(
            Campaign.status == "running")).all():
        if campaign.test_ends_at and campaign.test_ends_at <= now and \
                campaign.winner_variant_id is None:
            choose_winner(session, campaign)
            out["winners"] += 1
        if finish_if_done(session, campaign):
            continue
        if (campaign.resume_at is not None and campaign.resume_at <= now) or \
                _stalled(session, campaign, now):
            out["dispatched"] += dispatch(session, campaign) > 0
    return out


def _stalled(session: Session, campaign: Campaign, now: datetime) -> bool:
    """Pending rows but no claim for a whole lease: its jobs were lost (Redis restarted,
    a worker died); deferred campaigns wait for `resume_at` instead."""
    if campaign.resume_at is not None:
        return False
    lease = timedelta(seconds=int(current_app.config.get("CAMPAIGN_CLAIM_LEASE") or 300))
    pending = session.scalar(select(func.count()).select_from(CampaignRecipient).where(
        CampaignRecipient.campaign_id == campaign.id,
        CampaignRecipient.status == "pending"))
    if not pending:
        return False
    last = session.scalar(select(func.max(CampaignRecipient.claimed_at)).where(
        CampaignRecipient.campaign_id == campaign.id))
    return (last or campaign.launched_at or now) <= now - lease
