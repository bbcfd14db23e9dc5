"""Demo tiers, segments and loyalty: the template's tiers applied to fresh measures, a
reward catalogue, membership levels, a saved segment, and points moving on a few
customers (welcome bonus, referral codes, redemptions), all through the services.

Runs after the customers generator (ORDER 60 > 50) so the measures have orders to read.
Points earned by orders arrive through the order events; a customer without enough
points for a redemption first gets a staff adjustment, so the ledger shows every kind
of entry whatever the queue did.
"""

from __future__ import annotations

import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.models import Staff, Tenant
from saas.models.customers import Customer
from saas.services import loyalty, measures, referrals, segments, tiers
from saas.services.context import Actor

ORDER = 60
REWARDS = [
    {"name": "紫砂茶杯 Clay cup", "kind": "gift", "points_cost": 300, "stock": 20,
     "description": "门店领取 Pick up in store"},
    {"name": "满200减20 券 ¥20 voucher", "kind": "coupon", "points_cost": 200, "valid_days": 90},
    {"name": "九折 10% off", "kind": "discount", "points_cost": 500, "discount_percent": 10,
     "valid_days": 60},
]
LEVELS = [
    {"name": "银卡 Silver", "basis": "points", "threshold": 1000, "window_months": 12,
     "benefits": "生日双倍积分 Double birthday points"},
    {"name": "金卡 Gold", "basis": "spend", "threshold": 5000, "window_months": 12,
     "benefits": "免费包邮与专属客服 Free delivery, dedicated service"},
]
SEGMENT = {"name": "高价值活跃 High value, active",
           "description": "重点维护 Keep close",
           "rule": {"all": [{"measure": "value_segment", "op": "=", "value": "high"},
                            {"measure": "behaviour", "op": "=", "value": "active"}]}}


def generate(session: Session, tenant: Tenant, staff: list[Staff], rng: random.Random,
             size: int) -> None:
    owner = next((s for s in staff if s.role == "owner"), staff[0])
    actor = Actor.of_staff(owner)
    loyalty.program(session)
    for data in REWARDS:
        loyalty.create_reward(session, actor, data)
    for data in LEVELS:
        loyalty.create_level(session, actor, data)
    measures.refresh_all(session)
    tiers.list_tiers(session)
    tiers.apply(session, actor)
    segments.create_segment(session, actor, SEGMENT)

    ids = list(session.scalars(select(Customer.id).where(Customer.merged_into_id.is_(None))
                               .order_by(Customer.created_at, Customer.id)))
    rewards = loyalty.list_rewards(session, active_only=True)
    for customer_id in rng.sample(ids, k=min(len(ids), max(3, size // 4))):
        referrals.code_for(session, actor, customer_id)
        reward = rng.choice(rewards)
        short = reward.points_cost - loyalty.balance(session, customer_id)
        if short > 0:
            loyalty.adjust(session, actor, customer_id, short + rng.randrange(0, 200),
                           "欢迎积分 Welcome points")
        loyalty.redeem(session, actor, customer_id, reward.id)
    measures.refresh_all(session)  # points balances in the measures
