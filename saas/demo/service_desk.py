"""Demo service desk: tickets of every status and cause with conversations, the
template's visit plans with generated tasks (one recorded), and care rules — all
through the services.

Runs after loyalty (ORDER 70 > 60), so customers have tiers for the visit plans and the
loyalty catalogue has a discount for the win-back rule.
"""

from __future__ import annotations

import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.models import Staff, Tenant
from saas.models.customers import Customer
from saas.models.visits import VisitTask
from saas.services import care, loyalty, tickets, visits
from saas.services.context import Actor

ORDER = 70
SUBJECTS = [
    ("complaint", "快递太慢 Delivery took two weeks", "Delivery"),
    ("complaint", "茶叶受潮 Tea arrived damp", "Product quality"),
    ("request", "修改发票抬头 Change invoice title", "Billing"),
    ("question", "如何冲泡白茶 How to brew white tea?", "Usage question"),
    ("complaint", "店员态度差 Rude staff in store", "Service attitude"),
    ("request", "换货 Exchange a broken teapot", "Product quality"),
]
REPLIES = ["您好，我们马上处理。Hello, we are on it.",
           "已为您安排补发。A replacement is on its way.",
           "请提供订单号。Could you send the order number?"]


def generate(session: Session, tenant: Tenant, staff: list[Staff], rng: random.Random,
             size: int) -> None:
    agents = [s for s in staff if s.role in ("agent", "manager", "owner")] or staff
    owner = next((s for s in staff if s.role == "owner"), staff[0])
    customers = list(session.scalars(select(Customer).where(
        Customer.merged_into_id.is_(None)).order_by(Customer.created_at)))
    if not customers:
        return
    for _ in range(max(1, size // 2)):
        kind, subject, cause = rng.choice(SUBJECTS)
        agent = rng.choice(agents)
        actor = Actor.of_staff(agent)
        ticket = tickets.create_ticket(session, actor, {
            "customer_id": rng.choice(customers).id, "subject": subject, "type": kind,
            "priority": rng.choice(("low", "normal", "normal", "high", "urgent")),
            "cause": cause, "owner_id": agent.id, "channel": rng.choice(
                ("web", "phone", "email", "sms")),
            "description": subject.split(" ", 1)[-1]})
        path = rng.choice([[], ["reply"], ["reply", "pending_customer"],
                           ["reply", "resolved"], ["reply", "resolved", "closed"],
                           ["reply", "resolved", "reopened"]])
        for step in path:
            if step == "reply":
                tickets.add_message(session, actor, ticket.id, "note", "核实中 Checking.")
                tickets.add_message(session, actor, ticket.id, "reply", rng.choice(REPLIES))
            else:
                tickets.change_status(session, actor, ticket.id, step)
    owner_actor = Actor.of_staff(owner)
    visits.list_plans(session)
    visits.generate(session)
    task = session.scalars(select(VisitTask).where(VisitTask.status == "planned")
                           .order_by(VisitTask.id)).first()
    if task is not None:
        visits.record_visit(session, owner_actor, task.id, {
            "outcome": "客户满意 Happy with the service", "rating": 4,
            "needs": "想了解新品 Wants to hear about new teas",
            "next_step": "寄送样品 Send samples"})
    care.create_rule(session, owner_actor, {
        "name": "生日祝福 Birthday", "kind": "birthday", "channel": "email",
        "subject": "{{ name }}，生日快乐 Happy birthday",
        "template": "{{ name }}，{{ company }} 祝您生日快乐！Happy birthday from {{ company }}!"})
    care.create_rule(session, owner_actor, {
        "name": "售后回访 Follow-up", "kind": "post_purchase", "channel": "sms",
        "days_after": 7, "template": "{{ name }}，订单 {{ order_number }} 还满意吗？"})
    discount = next((r for r in loyalty.list_rewards(session, active_only=True)
                     if r.kind in ("coupon", "discount")), None)
    if discount is not None:
        care.create_rule(session, owner_actor, {
            "name": "流失挽回 Win-back", "kind": "win_back", "channel": "sms",
            "reward_id": discount.id,
            "template": "{{ name }}，好久不见！优惠码 {{ coupon_code }} 享 "
                        "{{ discount_percent }}% 折扣。"})
