"""Demo campaigns and surveys: a segment, a finished A/B campaign with results (sent,
delivered, clicks, conversions, opt-outs per variant) and a post-visit survey with answers
over the last months (NPS/CSAT by dimension, agent and tier, text comments).

The demo has no mail server, so the campaign is history: it is defined through the
campaign service, then its sends are written as they would have been recorded (recipient
rows and succeeded deliveries, a week ago); conversions are real orders placed through the
order service, and the survey answers go through the survey service (loyalty bonus,
timeline, follow-up tickets for low scores). Runs after the service desk (ORDER 80 > 70).
"""

from __future__ import annotations

import contextlib
import random
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.models import Staff, Tenant
from saas.models.base import new_id, utcnow
from saas.models.campaigns import Campaign, CampaignRecipient
from saas.models.customers import Customer
from saas.models.plugins import Delivery
from saas.models.products import Product
from saas.services import campaigns, orders, segments, surveys
from saas.services.context import Actor
from saas.services.errors import ServiceError

ORDER = 80
COMMENTS = ["师傅很专业 The technician was very professional.", "来得太晚了 Arrived late.",
            "服务很好，谢谢！Great service, thanks!", "希望提前电话通知 Please call ahead.",
            ""]


def _segment(session: Session, actor: Actor):
    return segments.create_segment(session, actor, {
        "name": "演示活动受众 Demo campaign audience",
        "description": "Customers of the demo campaign",
        "rule": {"all": [{"tag": "no-marketing", "op": "lacks"}]}})


def _campaign_history(session: Session, tenant: Tenant, actor: Actor,
                      customers: list[Customer], rng: random.Random) -> None:
    from saas.services.plugins import available_channels

    seg = _segment(session, actor)
    # defining a campaign needs an enabled channel; the demo only records history
    channel = (available_channels(session) or ["email"])[0]
    campaign = Campaign(id=new_id(), name="双十一促销 Singles' Day sale", status="draft",
                        segment_id=seg.id, channel=channel, winner_metric="clicks",
                        test_minutes=120, conversion_days=7, audience_size=0,
                        created_by_id=actor.staff_id)
    session.add(campaign)
    session.flush()
    campaigns._save_variants(session, campaign, [
        {"name": "A", "subject": "{{ customer.name }}，双十一特惠", "split_percent": 20,
         "body": "您好 {{ customer.name }}，全场八折：{{ link('https://shop.example.com/sale') }}"
                 "\n退订: {{ unsubscribe_url }}"},
        {"name": "B", "subject": "Singles' Day: 20% off for {{ customer.name }}",
         "split_percent": 20,
         "body": "Hi {{ customer.name }}, everything is 20% off: "
                 "{{ link('https://shop.example.com/sale') }}\nStop: {{ unsubscribe_url }}"}])
    vs = campaigns.variants(session, campaign.id)
    sent_at = utcnow() - timedelta(days=7)
    assigned = campaigns._assign([c.id for c in customers], campaign, vs)
    winner = vs[1]
    products = list(session.scalars(select(Product).limit(5)))
    for seq, (customer, variant_id) in enumerate(zip(customers, assigned, strict=True)):
        variant_id = variant_id or winner.id
        rid = new_id()
        delivery = Delivery(id=new_id(), plugin=channel, kind="message",
                            key=f"campaign:{campaign.id}:{rid}", event_name=f"message.{channel}",
                            channel=channel, payload={"customer_id": str(customer.id)},
                            status="succeeded" if rng.random() > 0.04 else "dead",
                            attempts=1, completed_at=sent_at)
        session.add(delivery)
        clicks = rng.random() < (0.35 if variant_id == winner.id else 0.2)
        session.add(CampaignRecipient(
            id=rid, campaign_id=campaign.id, customer_id=customer.id, variant_id=variant_id,
            seq=seq, batch=0, status="sent", address=customer.email or customer.phone,
            claimed_at=sent_at, sent_at=sent_at, delivery_id=delivery.id,
            click_count=rng.randint(1, 3) if clicks else 0,
            first_clicked_at=sent_at + timedelta(hours=2) if clicks else None,
            opted_out_at=sent_at + timedelta(hours=5) if rng.random() < 0.05 else None))
        if clicks and products and rng.random() < 0.5:
            with contextlib.suppress(ServiceError):  # a product without a price, say
                orders.place_order(session, actor, customer.id, {
                    "placed_at": (sent_at + timedelta(days=rng.randint(1, 6))).isoformat(),
                    "lines": [{"product_id": rng.choice(products).id, "quantity": 1}]})
    campaign.status = "completed"
    campaign.launched_at = sent_at
    campaign.test_ends_at = sent_at + timedelta(minutes=120)
    campaign.winner_variant_id = winner.id
    campaign.audience_size = len(customers)
    campaign.finished_at = sent_at + timedelta(hours=3)
    session.flush()


def _survey(session: Session, actor: Actor, staff: list[Staff], customers: list[Customer],
            rng: random.Random) -> None:
    survey = surveys.create_survey(session, actor, {
        "name": "上门服务回访 After-visit survey", "kind": "custom",
        "trigger": "visit.recorded", "expiry_days": 14, "questions": [
            {"id": "nps", "text": "您会向朋友推荐我们吗？Would you recommend us?",
             "kind": "nps", "dimension": "loyalty"},
            {"id": "service", "text": "对服务满意吗？How satisfied are you with the service?",
             "kind": "csat", "dimension": "service"},
            {"id": "punctual", "text": "准时吗？Was the visit on time?", "kind": "rating",
             "dimension": "punctuality"},
            {"id": "liked", "text": "您喜欢什么？What did you like?", "kind": "multiple",
             "choices": ["专业 Expertise", "态度 Attitude", "速度 Speed"],
             "dimension": "service", "required": False},
            {"id": "comment", "text": "其他意见 Anything else?", "kind": "text",
             "required": False}]})
    agents = [s for s in staff if s.role in ("agent", "manager")] or staff
    now = utcnow()
    for i, customer in enumerate(customers):
        agent = rng.choice(agents)
        inv = surveys.invite(session, survey.id, customer.id, "visit", f"demo-{i}", agent.id)
        happy = rng.random() < 0.7
        values = {"nps": str(rng.randint(8, 10) if happy else rng.randint(2, 8)),
                  "service": str(rng.randint(4, 5) if happy else rng.randint(2, 4)),
                  "punctual": str(rng.randint(3, 5)),
                  "liked": rng.sample(["专业 Expertise", "态度 Attitude", "速度 Speed"],
                                      rng.randint(0, 2)),
                  "comment": rng.choice(COMMENTS)}
        answer = surveys.answer(session, inv.token, values)
        answer.answered_at = now - timedelta(days=rng.randint(0, 120))
    session.flush()


def generate(session: Session, tenant: Tenant, staff: list[Staff], rng: random.Random,
             size: int) -> None:
    owner = next((s for s in staff if s.role == "owner"), staff[0])
    actor = Actor.of_staff(owner)
    customers = list(session.scalars(select(Customer).where(
        Customer.merged_into_id.is_(None)).order_by(Customer.created_at)))
    if not customers:
        return
    _campaign_history(session, tenant, actor, customers, rng)
    _survey(session, actor, staff, rng.sample(customers, max(1, min(len(customers),
                                                                  size * 2 // 3))), rng)
