"""Automated care rules: template checks, occasions, consent, quiet hours, coupons."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from saas.extensions import db
from saas.models.care import CareRule, CareSend
from saas.models.loyalty import Coupon
from saas.models.plugins import Delivery
from saas.services import care, customers, loyalty, measures
from saas.services.errors import Conflict, InvalidInput
from tests.hooks.support import configure
from tests.services.tiers_world import World

SH = ZoneInfo("Asia/Shanghai")
MORNING = datetime(2026, 11, 24, 10, 0, tzinfo=SH)


@pytest.fixture
def world(app, make_tenant):
    tenant = make_tenant()
    configure(app, tenant, "sms", {"gateway_url": "http://127.0.0.1:9/send",
                                   "auth_token": "token-123456"})
    with app.app_context():
        tenant.bind()
        yield tenant, tenant.owner_actor()
        db.session.rollback()
        db.session.remove()


def _rule(actor, **data):
    return care.create_rule(db.session, actor, {
        "name": "Birthday", "kind": "birthday", "channel": "sms",
        "template": "Happy birthday, {{ name }}! — {{ company }}", **data})


def test_unknown_template_variable_is_refused_by_name(world):
    _t, actor = world
    with pytest.raises(InvalidInput) as exc:
        _rule(actor, template="Hi {{ name }}, use {{ coupon_code }}")
    assert exc.value.errors["template"][0].startswith("Unknown variable: coupon_code")
    with pytest.raises(InvalidInput) as exc:
        _rule(actor, template="Hi {{ name ")
    assert "Template error" in exc.value.errors["template"][0]
    assert db.session.scalar(select(func.count()).select_from(CareRule)) == 0


def test_rule_fields_are_checked(world):
    _t, actor = world
    with pytest.raises(InvalidInput) as exc:
        care.create_rule(db.session, actor, {"name": "", "kind": "party", "channel": "fax",
                                             "template": "x", "colour": 1})
    assert {"name", "kind", "channel", "colour"} <= set(exc.value.errors)
    with pytest.raises(InvalidInput) as exc:
        care.create_rule(db.session, actor, {"name": "F", "kind": "post_purchase",
                                             "channel": "sms", "template": "Thanks"})
    assert "days_after" in exc.value.errors
    with pytest.raises(InvalidInput) as exc:
        care.create_rule(db.session, actor, {"name": "W", "kind": "win_back",
                                             "channel": "sms", "template": "Back?"})
    assert "reward_id" in exc.value.errors
    _rule(actor)
    with pytest.raises(Conflict):
        _rule(actor)


def test_birthday_greeting_goes_once_per_year_and_respects_consent(world):
    _t, actor = world
    _rule(actor)
    customers.create_customer(db.session, actor, {"name": "Li", "phones": ["13800138000"],
                                                  "birthday": "1990-11-24"})
    customers.create_customer(db.session, actor, {
        "name": "No", "phones": ["13800138001"], "birthday": "1991-11-24",
        "consent": {"sms": {"status": "withdrawn"}}})
    customers.create_customer(db.session, actor, {"name": "Other day",
                                                  "phones": ["13800138002"],
                                                  "birthday": "1990-11-25"})
    first = care.run(db.session, now=MORNING)
    again = care.run(db.session, now=MORNING + timedelta(hours=3))
    assert (first.sent, first.skipped, again.sent, again.already) == (1, 1, 0, 2)
    [delivery] = db.session.scalars(select(Delivery).where(Delivery.kind == "message")).all()
    assert delivery.payload["body"].startswith("Happy birthday, Li!")
    statuses = sorted(s.status for s in db.session.scalars(select(CareSend)))
    assert statuses == ["sent", "skipped"]


def test_nothing_is_sent_or_claimed_in_quiet_hours(world):
    _t, actor = world
    _rule(actor)
    customers.create_customer(db.session, actor, {"name": "Li", "phones": ["13800138000"],
                                                  "birthday": "1990-11-24"})
    night = care.run(db.session, now=datetime(2026, 11, 24, 22, 30, tzinfo=SH))
    assert night.quiet and night.sent == 0
    assert db.session.scalar(select(func.count()).select_from(CareSend)) == 0
    care.set_quiet_hours(db.session, actor, "23:00", "07:00")
    assert care.run(db.session, now=datetime(2026, 11, 24, 22, 30, tzinfo=SH)).sent == 1
    with pytest.raises(InvalidInput):
        care.set_quiet_hours(db.session, actor, "25:00", "7")


def test_holiday_greeting_from_the_tenant_calendar(world):
    _t, actor = world
    care.create_rule(db.session, actor, {"name": "Holiday", "kind": "holiday",
                                         "channel": "sms",
                                         "template": "{{ holiday }} greetings, {{ name }}"})
    customers.create_customer(db.session, actor, {"name": "Li", "phones": ["13800138000"]})
    assert care.run(db.session, now=MORNING).sent == 0
    national_day = datetime(2026, 10, 1, 10, 0, tzinfo=SH)
    assert care.run(db.session, now=national_day).sent == 1
    assert care.run(db.session, now=national_day).sent == 0
    body = db.session.scalars(select(Delivery)).one().payload["body"]
    assert body == "国庆节 National Day greetings, Li"


def test_post_purchase_follow_up_n_days_after_an_order(world):
    tenant, actor = world
    w = World(tenant)
    c = w.customer("Buyer", phones=["13800138000"])
    order = w.order(c, 120, at=datetime(2026, 11, 21, 15, 0, tzinfo=SH))
    care.create_rule(db.session, actor, {"name": "Follow-up", "kind": "post_purchase",
                                         "channel": "sms", "days_after": 3,
                                         "template": "How is order {{ order_number }}?"})
    assert care.run(db.session, now=datetime(2026, 11, 23, 10, 0, tzinfo=SH)).sent == 0
    assert care.run(db.session, now=MORNING).sent == 1
    assert care.run(db.session, now=MORNING + timedelta(days=1)).sent == 0
    body = db.session.scalars(select(Delivery)).one().payload["body"]
    assert body == f"How is order {order.number}?"


def test_win_back_offers_a_catalogue_coupon_to_churned_customers(world):
    tenant, actor = world
    w = World(tenant)
    lapsed = w.customer("Lapsed", phones=["13800138000"])
    w.order(lapsed, 50, days_ago=500)
    loyal = w.customer("Loyal", phones=["13800138001"])
    w.order(loyal, 50, days_ago=1)
    measures.refresh_customers(db.session, [lapsed.id, loyal.id])
    care.set_quiet_hours(db.session, actor, "00:00", "00:00")   # never quiet
    reward = loyalty.create_reward(db.session, actor, {
        "name": "Come back 20%", "kind": "discount", "points_cost": 1,
        "discount_percent": 20, "valid_days": 30})
    care.create_rule(db.session, actor, {
        "name": "Win back", "kind": "win_back", "channel": "sms", "reward_id": reward.id,
        "template": "{{ name }}, {{ discount_percent }}% off with {{ coupon_code }}"})
    assert care.run(db.session).sent == 1
    assert care.run(db.session).sent == 0
    [coupon] = db.session.scalars(select(Coupon)).all()
    assert coupon.customer_id == lapsed.id and coupon.discount_percent == 20
    body = db.session.scalars(select(Delivery)).one().payload["body"]
    assert body == f"Lapsed, 20% off with {coupon.code}"


def test_without_a_channel_plugin_nothing_is_claimed(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        care.create_rule(db.session, actor, {"name": "B", "kind": "birthday",
                                             "channel": "email", "template": "Hi {{ name }}"})
        customers.create_customer(db.session, actor, {"name": "Li", "emails": ["l@x.cn"],
                                                      "birthday": "1990-11-24"})
        result = care.run(db.session, now=MORNING)
        assert (result.sent, result.skipped) == (0, 1)
        assert db.session.scalar(select(func.count()).select_from(CareSend)) == 0
        db.session.rollback()


def test_leap_day_birthday_is_greeted_on_28_february():
    assert care._birthday_matches(date(1992, 2, 29), date(2027, 2, 28))
    assert not care._birthday_matches(date(1992, 2, 29), date(2028, 2, 28))
    assert care._birthday_matches(date(1992, 2, 29), date(2028, 2, 29))
