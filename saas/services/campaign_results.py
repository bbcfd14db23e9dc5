"""Campaign results per variant: sent, delivered, failed, clicks, conversions, opt-outs.

Delivered/failed come from the channel deliveries the recipients point at; a conversion
is an order placed within `conversion_days` after the message, counted for the last
campaign that reached the customer before the order (later campaigns take the credit);
an opt-out is a consent withdrawal for the campaign's channel after the message.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from saas.models.campaigns import Campaign, CampaignRecipient, CampaignVariant
from saas.models.customers import Customer
from saas.models.orders import COUNTED_STATUSES, Order
from saas.models.plugins import Delivery

METRICS = ("audience", "sent", "delivered", "failed", "skipped", "clicks", "click_total",
           "conversions", "opt_outs")


def _converted(session: Session, campaign: Campaign) -> set:
    """Recipient ids credited with a conversion."""
    r = CampaignRecipient
    later = aliased(CampaignRecipient)
    window = timedelta(days=campaign.conversion_days or 7)
    rows = session.execute(select(r.id, r.sent_at, Order.placed_at).join(
        Order, and_(Order.tenant_id == r.tenant_id, Order.customer_id == r.customer_id,
                    Order.placed_at >= r.sent_at)).where(
        r.campaign_id == campaign.id, r.status == "sent",
        Order.status.in_(COUNTED_STATUSES),
        ~select(later.id).where(later.customer_id == r.customer_id,
                                later.campaign_id != campaign.id,
                                later.sent_at > r.sent_at,
                                later.sent_at <= Order.placed_at).exists())).all()
    return {rid for rid, sent_at, placed in rows if placed <= sent_at + window}


def _opted_out(session: Session, campaign: Campaign) -> set:
    """Recipients who followed this message's unsubscribe link; a withdrawal by another
    route (staff, API, import) after the message counts too, but a link of another
    campaign never does."""
    out = set()
    for rid, sent_at, opted_at, consent in session.execute(select(
            CampaignRecipient.id, CampaignRecipient.sent_at, CampaignRecipient.opted_out_at,
            Customer.consent).join(
            Customer, and_(Customer.tenant_id == CampaignRecipient.tenant_id,
                           Customer.id == CampaignRecipient.customer_id)).where(
            CampaignRecipient.campaign_id == campaign.id,
            CampaignRecipient.status == "sent")):
        if opted_at is not None:
            out.add(rid)
            continue
        entry = (consent or {}).get(campaign.channel)
        if isinstance(entry, dict) and entry.get("status") == "withdrawn" and entry.get("at") \
                and entry.get("source") != "unsubscribe link":
            try:
                at = datetime.fromisoformat(entry["at"])
            except ValueError:
                continue
            if sent_at and at >= sent_at:
                out.add(rid)
    return out


def variant_results(session: Session, campaign: Campaign) -> dict[str, dict[str, Any]]:
    """{variant name: {metric: number}}; rows held for the winner count under `held`."""
    names = {v.id: v.name for v in session.scalars(select(CampaignVariant).where(
        CampaignVariant.campaign_id == campaign.id))}
    converted = _converted(session, campaign)
    opted = _opted_out(session, campaign)
    out: dict[str, dict[str, Any]] = {n: dict.fromkeys(METRICS, 0) for n in names.values()}
    rows = session.execute(select(
        CampaignRecipient.id, CampaignRecipient.variant_id, CampaignRecipient.status,
        CampaignRecipient.click_count, Delivery.status).outerjoin(
        Delivery, and_(Delivery.tenant_id == CampaignRecipient.tenant_id,
                       Delivery.id == CampaignRecipient.delivery_id)).where(
        CampaignRecipient.campaign_id == campaign.id))
    for rid, vid, status, clicks, delivery_status in rows:
        stats = out.setdefault(names.get(vid, "held"), dict.fromkeys(METRICS, 0))
        stats["audience"] += 1
        if status == "sent":
            stats["sent"] += 1
            if delivery_status == "succeeded":
                stats["delivered"] += 1
            elif delivery_status == "dead":
                stats["failed"] += 1
        elif status == "failed":
            stats["failed"] += 1
        elif status == "skipped":
            stats["skipped"] += 1
        if clicks:
            stats["clicks"] += 1
            stats["click_total"] += clicks
        stats["conversions"] += rid in converted
        stats["opt_outs"] += rid in opted
    return out


def results(session: Session, campaign_id: Any) -> dict[str, Any]:
    from saas.services.campaigns import get_campaign

    campaign = get_campaign(session, campaign_id)
    per_variant = variant_results(session, campaign)
    total = {m: sum(v[m] for v in per_variant.values()) for m in METRICS}
    return {"campaign_id": str(campaign.id), "variants": per_variant, "total": total,
            "winner_variant_id": str(campaign.winner_variant_id)
            if campaign.winner_variant_id else None}


def results_csv(session: Session, campaign_id: Any) -> str:
    data = results(session, campaign_id)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["variant", *METRICS])
    for name, stats in sorted(data["variants"].items()):
        writer.writerow([name, *(stats[m] for m in METRICS)])
    writer.writerow(["total", *(data["total"][m] for m in METRICS)])
    return buf.getvalue()


def recipient_count(session: Session, campaign_id: Any) -> int:
    return session.scalar(select(func.count()).select_from(CampaignRecipient).where(
        CampaignRecipient.campaign_id == campaign_id)) or 0
