"""Demo customers with two years of orders and interactions.

Each customer gets a purchase rhythm (a mean gap between orders and a basket size); every
fourth one stops buying part-way through, so churn analysis has customers whose gaps grow
past their usual rhythm. Everything goes through the services, like real use.
"""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy.orm import Session

from saas.demo import faker_for
from saas.models import Staff, Tenant
from saas.models.base import utcnow
from saas.services import contacts, custom_fields, customers, interactions, orders, products
from saas.services.context import Actor
from saas.services.identifiers import normalise_phone

ORDER = 50
HISTORY_DAYS = 730
PRODUCTS = [
    ("TEA-LJ-250", "西湖龙井 250g West Lake Longjing", "茶叶 Tea", "268.00"),
    ("TEA-PE-357", "普洱茶饼 357g Pu'er cake", "茶叶 Tea", "198.00"),
    ("TEA-TG-125", "铁观音 125g Tieguanyin", "茶叶 Tea", "128.00"),
    ("TEA-BL-100", "祁门红茶 100g Keemun black", "茶叶 Tea", "88.00"),
    ("SET-GIFT-01", "茶礼盒 Tea gift box", "礼盒 Gift sets", "599.00"),
    ("CUP-CL-6", "青瓷茶杯 6只 Celadon cups x6", "茶具 Teaware", "168.00"),
    ("POT-ZS-01", "紫砂壶 Yixing clay teapot", "茶具 Teaware", "458.00"),
    ("KET-EL-01", "电热水壶 Electric kettle", "茶具 Teaware", "239.00"),
    ("SNK-MC-01", "绿茶曲奇 Matcha cookies", "茶点 Snacks", "36.50"),
    ("SNK-NT-01", "坚果礼包 Nut pack", "茶点 Snacks", "59.90"),
    ("CLS-TASTE", "品茶课程 Tea tasting class", "服务 Services", "299.00"),
    ("MBR-YEAR", "年度会员 Annual membership", "服务 Services", "365.00"),
]
CHANNELS = ["门店 store", "天猫 Tmall", "微信小程序 WeChat", "京东 JD", "website"]
SOURCES = ["walk-in", "wechat", "referral", "tmall", "exhibition", "website"]
INDUSTRIES = ["餐饮 Catering", "酒店 Hotels", "零售 Retail", "IT", "金融 Finance",
              "教育 Education"]
TAGS = ["vip", "gift-buyer", "wholesale", "new", "price-sensitive", "tea-lover"]
SUMMARIES = {
    "need": ["想订购中秋礼盒", "Asked for a quote for 20 gift boxes", "需要发票抬头变更",
             "Wants a tasting class for the team"],
    "feedback": ["对新茶很满意", "Packaging arrived slightly damaged", "建议增加小包装",
                 "Loved the Longjing, will reorder"],
    "problem": ["快递延迟三天", "Charged twice on the last order", "茶叶受潮"],
    "solution": ["已补发并致歉", "Refunded the duplicate charge", "安排上门更换"],
}


def _phone(rng: random.Random) -> str | None:
    number = f"1{rng.choice(['38', '39', '50', '58', '86', '88'])}{rng.randint(0, 99999999):08d}"
    return normalise_phone(number)


def _customer_data(rng: random.Random, zh, en, staff: list[Staff], categories: list[str],
                   i: int) -> dict:
    company = rng.random() < 0.3
    fake = zh if rng.random() < 0.6 else en
    name = fake.company() if company else fake.name()
    owner = rng.choice(staff)
    data = {
        "kind": "company" if company else "person", "name": name,
        "phones": [p for p in [_phone(rng)] if p],
        "emails": [f"c{i}.{en.user_name()}@{en.free_email_domain()}"],
        "category": rng.choice(categories) if categories else None,
        "owner_id": owner.id, "source_channel": rng.choice(SOURCES),
        "tags": rng.sample(TAGS, rng.randint(0, 2)),
        "purchasing_power": rng.choice(["high", "medium", "medium", "low"]),
        "address": zh.address() if fake is zh else en.address().replace("\n", ", "),
        "consent": {"email": rng.choice(["granted", "granted", "withdrawn"]),
                    "sms": rng.choice(["granted", "withdrawn"])},
        "custom_fields": {"favourite_tea": rng.choice(["green", "black", "oolong", "puer"])},
    }
    if company:
        data.update(industry=rng.choice(INDUSTRIES),
                    company_size=rng.choice(["1-10", "11-50", "51-200", "200+"]))
    else:
        data["birthday"] = fake.date_of_birth(minimum_age=20, maximum_age=70).isoformat()
        if rng.random() < 0.5:
            data["wechat_id"] = f"wx_{en.user_name()}{rng.randint(10, 99)}"
    return data


def _order_times(rng: random.Random, lapses: bool) -> list:
    """Purchase times over the history: a personal mean gap, jittered; a lapsing buyer
    stops 4-10 months ago."""
    now = utcnow()
    gap = rng.choice([14, 30, 45, 60, 90, 120])
    start = now - timedelta(days=rng.randint(HISTORY_DAYS // 2, HISTORY_DAYS))
    stop = now - timedelta(days=rng.randint(120, 300)) if lapses else now
    times, at = [], start
    while at < stop:
        times.append(at)
        at += timedelta(days=max(3.0, rng.gauss(gap, gap / 3)), hours=rng.randint(0, 12))
    return times


def generate(session: Session, tenant: Tenant, staff: list[Staff], rng: random.Random,
             size: int) -> None:
    owner = next(s for s in staff if s.role == "owner")
    actor = Actor.of_staff(owner)
    sellers = [s for s in staff if s.role in ("owner", "manager", "agent")] or [owner]
    zh, en = faker_for(rng, "zh_CN"), faker_for(rng, "en_US")
    custom_fields.create_definition(session, actor, "favourite_tea", "Favourite tea / 喜好茶类",
                                    "choice", choices=["green", "black", "oolong", "puer"])
    catalogue = [products.create_product(session, actor, {
        "sku": sku, "name": name, "category": category, "price": price})
        for sku, name, category, price in PRODUCTS]
    categories = customers.categories(tenant)
    for i in range(size):
        data = _customer_data(rng, zh, en, sellers, categories, i)
        customer = customers.create_customer(session, actor, data)
        seller = Actor.of_staff(next(s for s in sellers if s.id == data["owner_id"]))
        if customer.kind == "company":
            for n in range(rng.randint(1, 3)):
                contacts.create_contact(session, seller, customer.id, {
                    "name": zh.name(), "title": rng.choice(["采购经理", "行政主管", "CEO"]),
                    "phone": _phone(rng), "primary": n == 0})
        favourites = rng.sample(catalogue, 3)
        lapsed = i % 4 == 1
        times = _order_times(rng, lapsed)
        for at in times:
            picks = {p.sku: p for p in rng.sample(favourites, rng.randint(1, 2))}
            if rng.random() < 0.2:
                extra = rng.choice(catalogue)
                picks[extra.sku] = extra
            recent = (utcnow() - at).days < 7
            status = rng.choice(["placed", "paid"]) if recent else "completed"
            order = orders.place_order(session, seller, customer.id, {
                "lines": [{"product_id": p.id, "quantity": rng.choice([1, 1, 1, 2, 3])}
                          for p in picks.values()],
                "placed_at": at, "channel": rng.choice(CHANNELS), "status": status})
            if not recent and rng.random() < 0.03:
                orders.refund_order(session, seller, order.id, reason="quality")
        for _ in range(rng.randint(1, 4)):
            kind = rng.choice(list(SUMMARIES))
            when = utcnow() - timedelta(days=rng.randint(1, HISTORY_DAYS))
            interactions.log_interaction(session, seller, customer.id, {
                "channel": rng.choice(["phone", "wechat", "visit", "email", "meeting"]),
                "direction": rng.choice(["in", "out"]), "kind": kind,
                "summary": rng.choice(SUMMARIES[kind]), "occurred_at": when,
                "follow_up_on": (utcnow() + timedelta(days=rng.randint(1, 30))).date()
                if rng.random() < 0.15 else None})
        if lapsed:
            customers.update_customer(session, actor, customer.id, {"lifecycle_stage": "lapsed"})
        elif times:
            customers.update_customer(session, actor, customer.id,
                                      {"lifecycle_stage": "customer"})
    session.flush()
