"""The one limit check, through the services that call it (seats) and directly."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from saas.billing.plans import PLANS, lifting_plan
from saas.extensions import db
from saas.models import Invitation
from saas.services import limits
from saas.services import staff as staff_service
from saas.services.errors import LimitExceeded
from tests.conftest import PASSWORD


def _invite(tenant, email: str):
    return staff_service.invite(db.session, tenant.owner_actor(), email, "agent",
                                ttl_hours=1, base_url="http://127.0.0.1",
                                tenant_slug=tenant.slug)


def test_without_stripe_every_tenant_gets_the_default_plan(app, ctx, make_tenant,
                                                           monkeypatch):
    monkeypatch.setitem(app.config, "BILLING_DEFAULT_PLAN", "pro")
    tenant = make_tenant().bind()
    state = limits.check(db.session, tenant.id, "seats", adding=20)
    assert state.plan.key == "pro" and not state.enabled
    with pytest.raises(LimitExceeded):
        limits.check(db.session, tenant.id, "seats", adding=25)


def test_invitation_beyond_the_seats_of_the_plan_is_refused_naming_the_plan(
        app, ctx, make_tenant, monkeypatch):
    monkeypatch.setitem(app.config, "BILLING_DEFAULT_PLAN", "free")
    tenant = make_tenant().bind()
    _invite(tenant, "a@example.com")
    _invite(tenant, "b@example.com")
    db.session.commit()
    tenant.bind()
    with pytest.raises(LimitExceeded) as info:
        _invite(tenant, "c@example.com")
    exc = info.value
    assert exc.status == 402
    assert exc.limit == "seats" and exc.upgrade_to == "pro"
    assert "Free plan allows 3 staff seats" in exc.message and "Upgrade to Pro" in exc.message
    assert exc.errors == {"seats": [exc.message]}
    db.session.rollback()
    tenant.bind()
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 2


def test_revoked_invitations_free_their_seat(app, ctx, make_tenant, monkeypatch):
    monkeypatch.setitem(app.config, "BILLING_DEFAULT_PLAN", "free")
    tenant = make_tenant().bind()
    first, _ = _invite(tenant, "a@example.com")
    _invite(tenant, "b@example.com")
    staff_service.revoke_invitation(db.session, tenant.owner_actor(), first.id)
    _invite(tenant, "c@example.com")
    assert limits.usage(db.session, tenant.id, "seats") == 3


def test_accepting_an_invitation_is_refused_after_a_downgrade_left_no_seat(
        app, ctx, make_tenant, monkeypatch):
    tenant = make_tenant().bind()
    links = [_invite(tenant, f"p{i}@example.com")[1] for i in range(4)]
    db.session.commit()
    monkeypatch.setitem(app.config, "BILLING_DEFAULT_PLAN", "free")
    tenant.bind()
    with pytest.raises(LimitExceeded):
        staff_service.accept_invitation(db.session, links[0].rsplit("/", 1)[1], "Pat",
                                        PASSWORD)


def test_reactivating_staff_needs_a_free_seat(app, ctx, make_tenant, monkeypatch):
    tenant = make_tenant().bind()
    _inv, link = _invite(tenant, "a@example.com")
    member = staff_service.accept_invitation(db.session, link.rsplit("/", 1)[1], "Al",
                                             PASSWORD)
    staff_service.set_active(db.session, tenant.owner_actor(), member, False)
    _invite(tenant, "b@example.com")
    _invite(tenant, "c@example.com")
    monkeypatch.setitem(app.config, "BILLING_DEFAULT_PLAN", "free")
    with pytest.raises(LimitExceeded) as info:
        staff_service.set_active(db.session, tenant.owner_actor(), member, True)
    assert info.value.limit == "seats"


def test_messages_are_counted_per_month_and_stop_at_the_limit(app, ctx, make_tenant,
                                                              monkeypatch):
    monkeypatch.setitem(app.config, "BILLING_DEFAULT_PLAN", "free")
    tenant = make_tenant().bind()
    limits.consume(db.session, tenant.id, "messages", 600)
    limits.consume(db.session, tenant.id, "messages", 400)
    db.session.commit()
    tenant.bind()
    assert limits.usage(db.session, tenant.id, "messages") == 1000
    assert limits.headroom(db.session, tenant.id, "messages") == 0
    with pytest.raises(LimitExceeded) as info:
        limits.consume(db.session, tenant.id, "messages", 1)
    assert info.value.upgrade_to == "pro"
    assert limits.usage(db.session, tenant.id, "messages") == 1000


def test_usage_counters_belong_to_one_tenant(app, ctx, make_tenant):
    first, second = make_tenant(), make_tenant()
    first.bind()
    limits.record_usage(db.session, first.id, "messages", 7)
    db.session.commit()
    second.bind()
    assert limits.usage(db.session, second.id, "messages") == 0
    first.bind()
    assert limits.usage(db.session, first.id, "messages") == 7


def test_headroom_lets_an_import_stop_at_the_limit(app, ctx, make_tenant, monkeypatch):
    monkeypatch.setitem(app.config, "BILLING_DEFAULT_PLAN", "free")
    tenant = make_tenant().bind()
    assert limits.headroom(db.session, tenant.id, "seats") == 2
    monkeypatch.setitem(app.config, "BILLING_DEFAULT_PLAN", "enterprise")
    assert limits.headroom(db.session, tenant.id, "seats") is None


def test_an_area_can_register_how_its_usage_is_counted(app, ctx, make_tenant, monkeypatch):
    monkeypatch.setitem(app.config, "BILLING_DEFAULT_PLAN", "free")
    monkeypatch.setattr(limits, "_COUNTERS", {})
    limits.register_counter("plugins", lambda session: 2)
    tenant = make_tenant().bind()
    with pytest.raises(LimitExceeded) as info:
        limits.check(db.session, tenant.id, "plugins")
    assert "2 enabled plugins" in info.value.message
    with pytest.raises(ValueError):
        limits.register_counter("rockets", lambda session: 0)


def test_unknown_limit_is_a_programming_error(app, ctx, make_tenant):
    tenant = make_tenant().bind()
    with pytest.raises(ValueError):
        limits.check(db.session, tenant.id, "rockets")


def test_counting_needs_the_tenant_bound(app, ctx, make_tenant):
    tenant = make_tenant()
    with pytest.raises(RuntimeError):
        limits.usage(db.session, tenant.id, "seats")
    with pytest.raises(RuntimeError):
        limits.check(db.session, None, "seats")


def test_api_calls_per_minute_follow_the_plan(app, ctx, make_tenant, monkeypatch):
    monkeypatch.setitem(app.config, "BILLING_DEFAULT_PLAN", "free")
    tenant = make_tenant().bind()
    cap = PLANS["free"].limits["api_calls"]
    for _ in range(cap):
        limits.count_api_call(db.session, tenant.id)
    with pytest.raises(limits.ApiRateExceeded) as info:
        limits.count_api_call(db.session, tenant.id)
    assert info.value.status == 429 and 1 <= info.value.retry_after <= 61
    assert "Upgrade to Pro" in info.value.message
    monkeypatch.setitem(app.config, "BILLING_DEFAULT_PLAN", "pro")
    limits.count_api_call(db.session, tenant.id)  # the upgrade applies at once
    other = uuid.uuid4()
    assert limits.api_calls_this_minute(other) == 0


def test_the_lifting_plan_is_the_cheapest_that_allows_the_total():
    assert lifting_plan("customers", 501).key == "pro"
    assert lifting_plan("customers", 20_001).key == "enterprise"
    assert lifting_plan("api_calls", 10_000) is None


def test_customers_are_counted_and_a_full_plan_refuses_one_more(app, ctx, make_tenant,
                                                                monkeypatch):
    from saas.billing.plans import Plan
    from saas.services import customers as customer_service

    small = Plan("free", "Free", 0, {**PLANS["free"].limits, "customers": 2})
    monkeypatch.setitem(PLANS, "free", small)
    monkeypatch.setitem(app.config, "BILLING_DEFAULT_PLAN", "free")
    tenant = make_tenant().bind()
    actor = tenant.owner_actor()
    for name in ("Ada", "Bo"):
        limits.check(db.session, tenant.id, "customers")
        customer_service.create_customer(db.session, actor, {"name": name})
    assert limits.usage(db.session, tenant.id, "customers") == 2
    with pytest.raises(LimitExceeded) as info:
        limits.check(db.session, tenant.id, "customers")
    assert info.value.limit == "customers" and info.value.upgrade_to == "pro"


def test_enabled_plugins_are_counted(app, ctx, make_tenant):
    from tests.hooks.support import GOOD_SETTINGS, EchoPlugin, configure, registered

    tenant = make_tenant()
    with registered(app, EchoPlugin(), "echo"):
        configure(app, tenant, "echo", GOOD_SETTINGS)
        tenant.bind()
        assert limits.usage(db.session, tenant.id, "plugins") == 1
        configure(app, tenant, "echo", enabled=False)
        tenant.bind()
        assert limits.usage(db.session, tenant.id, "plugins") == 0


def test_unknown_default_plan_stops_the_app_at_start():
    from saas import create_app

    with pytest.raises(ValueError, match="BILLING_DEFAULT_PLAN"):
        create_app({"DATABASE_URL": "sqlite://", "SAAS_ENV": "testing",
                    "BILLING_DEFAULT_PLAN": "gold"})
