"""Campaigns through the service layer: definition checks, launch snapshot, exactly-once
claims, skips with reasons, quiet hours, rate limit, A/B winner, pause/resume/cancel."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import select, update

from saas.extensions import db
from saas.models.base import utcnow
from saas.models.campaigns import CampaignRecipient
from saas.models.plugins import Delivery
from saas.services import campaign_results, campaigns, customers, segments
from saas.services import plugins as plugin_service
from saas.services.errors import Conflict, InvalidInput, NotFound
from tests.hooks.support import GOOD_SETTINGS, EchoPlugin, configure, registered


@pytest.fixture
def echo(app):
    plugin = EchoPlugin()
    with registered(app, plugin, "echo"):
        yield plugin


@pytest.fixture
def world(app, make_tenant, echo):
    tenant = make_tenant()
    configure(app, tenant, "echo", GOOD_SETTINGS)
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        yield World(tenant, actor, echo)
        db.session.rollback()


class World:
    def __init__(self, tenant, actor, echo):
        self.tenant, self.actor, self.echo = tenant, actor, echo

    def customers(self, n: int, tag: str = "promo", **extra) -> list:
        out = [customers.create_customer(db.session, self.actor, {
            "name": f"Customer {i:03d}", "tags": [tag], **extra}) for i in range(n)]
        db.session.commit()
        return out

    def segment(self, tag: str = "promo"):
        seg = segments.create_segment(db.session, self.actor, {
            "name": f"Tagged {tag}", "rule": {"all": [{"tag": tag}]}})
        db.session.commit()
        return seg

    def campaign(self, seg, **data):
        values = {"name": "Spring sale", "segment_id": str(seg.id), "channel": "echo",
                  "variants": [{"name": "A", "body": "Hi {{ customer.name }}!"}], **data}
        c = campaigns.create_campaign(db.session, self.actor, values)
        db.session.commit()
        return c

    def rows(self, campaign):
        db.session.expire_all()
        return list(db.session.scalars(select(CampaignRecipient).where(
            CampaignRecipient.campaign_id == campaign.id).order_by(CampaignRecipient.seq)))


def _launch(world, c, at=None):
    out = campaigns.launch(db.session, world.actor, c.id, at)
    db.session.commit()  # jobs run inline after commit
    return out


def test_launch_snapshots_the_segment_and_sends_each_recipient_once(world):
    world.customers(7)
    c = world.campaign(world.segment())
    _launch(world, c)
    rows = world.rows(c)
    assert len(rows) == 7 and {r.status for r in rows} == {"sent"}
    assert sorted(m.body for m in world.echo.sent) == sorted(
        f"Hi Customer {i:03d}!" for i in range(7))
    keys = {d.key for d in db.session.scalars(select(Delivery).where(Delivery.kind == "message"))}
    assert keys == {f"campaign:{c.id}:{r.id}" for r in rows}
    assert campaigns.get_campaign(db.session, c.id).status == "completed"
    # a customer added later is not in the snapshot; running a batch again sends nothing
    world.customers(1)
    campaigns.process_batch(db.session, c.id, 0)
    assert len(world.echo.sent) == 7 and len(world.rows(c)) == 7


def test_empty_segment_is_a_clear_error_at_launch(world):
    c = world.campaign(world.segment("nobody"))
    with pytest.raises(InvalidInput) as err:
        campaigns.launch(db.session, world.actor, c.id)
    assert "segment_id" in err.value.errors and "empty" in err.value.errors["segment_id"][0]


def test_template_errors_are_caught_at_save_with_line_and_name(world):
    seg = world.segment()
    with pytest.raises(InvalidInput) as err:
        world.campaign(seg, variants=[{"name": "A", "body": "Hi\n{{ customer.name "}])
    assert err.value.errors["variants.0.body"][0].startswith("Line 2")
    with pytest.raises(InvalidInput) as err:
        world.campaign(seg, variants=[{"name": "A", "body": "Hi {{ nmae }}"}])
    assert "nmae" in err.value.errors["variants.0.body"][0]
    with pytest.raises(InvalidInput) as err:
        world.campaign(seg, variants=[{"name": "A", "body": "{{ customer.nmae }}"}])
    assert "nmae" in err.value.errors["variants.0.body"][0]
    with pytest.raises(InvalidInput) as err:
        world.campaign(seg, variants=[
            {"name": "A", "body": "{{ ''.__class__.__mro__ }}"}])
    assert "variants.0.body" in err.value.errors


def test_bad_definitions_name_each_field(world):
    with pytest.raises(InvalidInput) as err:
        campaigns.create_campaign(db.session, world.actor, {
            "name": "", "segment_id": "nope", "channel": "pigeon", "variants": [
                {"name": "A", "body": "x", "split_percent": 70},
                {"name": "B", "body": "y", "split_percent": 40}],
            "quiet_start": "25:00", "rate_per_minute": 0, "colour": "red"})
    assert {"name", "segment_id", "channel", "variants", "quiet_start", "rate_per_minute",
            "colour"} <= set(err.value.errors)
    with pytest.raises(InvalidInput) as err:
        world.campaign(world.segment(), variants=[
            {"name": "A", "body": "x", "split_percent": 20},
            {"name": "B", "body": "y", "split_percent": 20}])
    assert {"winner_metric", "test_minutes"} <= set(err.value.errors)


def test_other_tenants_campaign_is_not_found(world, make_tenant, app):
    world.customers(1)
    cid = world.campaign(world.segment()).id
    other = make_tenant()
    other.bind()
    with pytest.raises(NotFound):
        campaigns.get_campaign(db.session, cid)
    with pytest.raises(NotFound):
        campaigns.launch(db.session, other.owner_actor(), cid)


def test_recipients_without_consent_or_opted_out_are_skipped_with_reasons(world, app):
    from tests.plugins.servers import smtp_server

    with smtp_server("none") as (port, box):
        configure(app, world.tenant, "email", {"host": "127.0.0.1", "port": port,
                                               "security": "none",
                                               "from_address": "shop@example.com"})
        world.tenant.bind()
        ok = world.customers(2, emails=["ok@example.com"],
                             consent={"email": {"status": "granted"}})
        customers.update_customer(db.session, world.actor, ok[1].id,
                                  {"emails": ["ok2@example.com"]})
        world.customers(1, emails=["never@example.com"])
        world.customers(1, emails=["gone@example.com"],
                        consent={"email": {"status": "withdrawn"}})
        world.customers(1, consent={"email": {"status": "granted"}})
        c = world.campaign(world.segment(), channel="email", variants=[
            {"name": "A", "subject": "Sale", "body": "Hi {{ customer.name }}"}])
        _launch(world, c)
        rows = world.rows(c)
        assert sorted((r.status, r.reason or "") for r in rows) == [
            ("sent", ""), ("sent", ""), ("skipped", "no_address"),
            ("skipped", "no_consent"), ("skipped", "opted_out")]
        assert sorted(m["To"] for m in box.messages) == ["ok2@example.com", "ok@example.com"]
        assert all("/unsubscribe/" in m.get_content() for m in box.messages)
        prog = campaigns.progress(db.session, c.id).as_dict()
        assert prog["sent"] == 2 and prog["skipped"] == 3
        assert prog["reasons"] == {"no_address": 1, "no_consent": 1, "opted_out": 1}


def test_a_claimed_row_is_sent_by_nobody_else_until_its_lease_ends(world, app):
    world.customers(3)
    c = world.campaign(world.segment())
    app.config["CAMPAIGN_BATCH_SIZE"] = 500
    with time_machine.travel(datetime(2026, 3, 2, 3, 0, tzinfo=UTC), tick=True):
        campaigns.launch(db.session, world.actor, c.id)
        # a worker claimed the first row and died before sending it
        first = db.session.scalars(select(CampaignRecipient).where(
            CampaignRecipient.campaign_id == c.id).order_by(CampaignRecipient.seq)).first()
        db.session.execute(update(CampaignRecipient).where(
            CampaignRecipient.id == first.id).values(status="sending", claimed_at=utcnow(),
                                                    claim_token="dead-worker"))
        db.session.commit()
        assert [r.status for r in world.rows(c)] == ["sending", "sent", "sent"]
        assert campaigns.reclaim_stale(db.session) == 0
        campaigns.process_batch(db.session, c.id, 0)
        assert len(world.echo.sent) == 2
    with time_machine.travel(datetime(2026, 3, 2, 3, 6, tzinfo=UTC), tick=True):
        out = campaigns.tick(db.session)
        db.session.commit()
        assert out["reclaimed"] == 1
    assert [r.status for r in world.rows(c)] == ["sent", "sent", "sent"]
    assert len(world.echo.sent) == 3
    assert len({m.id for m in world.echo.sent}) == 3
    assert campaigns.get_campaign(db.session, c.id).status == "completed"


def test_quiet_hours_defer_sends_to_the_morning_in_the_tenants_zone(world):
    world.customers(2)
    c = world.campaign(world.segment(), quiet_start="21:00", quiet_end="08:00")
    # 23:30 in Shanghai (UTC+8) is 15:30 UTC
    with time_machine.travel(datetime(2026, 3, 2, 15, 30, tzinfo=UTC), tick=False):
        _launch(world, c)
        assert [r.status for r in world.rows(c)] == ["pending", "pending"]
        c = campaigns.get_campaign(db.session, c.id)
        assert c.resume_at == datetime(2026, 3, 3, 0, 0, tzinfo=UTC)  # 08:00 local
        campaigns.tick(db.session)
        db.session.commit()
        assert world.echo.sent == []
    with time_machine.travel(datetime(2026, 3, 3, 0, 1, tzinfo=UTC), tick=False):
        campaigns.tick(db.session)
        db.session.commit()
    assert [r.status for r in world.rows(c)] == ["sent", "sent"]


def test_scheduling_is_in_the_tenants_time_zone(world):
    world.customers(1)
    c = world.campaign(world.segment())
    with time_machine.travel(datetime(2026, 3, 2, 0, 0, tzinfo=UTC), tick=False):
        c = _launch(world, c, "2026-03-02 10:00")
        assert c.status == "scheduled"
        assert c.scheduled_at == datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    with time_machine.travel(datetime(2026, 3, 2, 1, 59, tzinfo=UTC), tick=False):
        assert campaigns.tick(db.session)["started"] == 0
    with time_machine.travel(datetime(2026, 3, 2, 2, 0, tzinfo=UTC), tick=False):
        assert campaigns.tick(db.session)["started"] == 1
        db.session.commit()
    assert [r.status for r in world.rows(c)] == ["sent"]


def test_rate_limit_defers_the_rest_to_the_next_minute(world):
    world.customers(5)
    c = world.campaign(world.segment(), rate_per_minute=2)
    with time_machine.travel(datetime(2026, 3, 2, 3, 0, 10, tzinfo=UTC), tick=False):
        _launch(world, c)
        assert [r.status for r in world.rows(c)].count("sent") == 2
    with time_machine.travel(datetime(2026, 3, 2, 3, 1, 0, tzinfo=UTC), tick=False):
        campaigns.tick(db.session)
        db.session.commit()
        assert [r.status for r in world.rows(c)].count("sent") == 4
    with time_machine.travel(datetime(2026, 3, 2, 3, 2, 0, tzinfo=UTC), tick=False):
        campaigns.tick(db.session)
        db.session.commit()
    assert [r.status for r in world.rows(c)].count("sent") == 5
    assert len(world.echo.sent) == 5


def test_ab_test_sends_the_winner_to_the_rest_after_the_window(world, app, client):
    world.customers(20)
    c = world.campaign(world.segment(), winner_metric="clicks", test_minutes=60, variants=[
        {"name": "A", "body": "A {{ link('https://shop.example.com/a') }}",
         "split_percent": 25},
        {"name": "B", "body": "B {{ link('https://shop.example.com/b') }}",
         "split_percent": 25}])
    with time_machine.travel(datetime(2026, 3, 2, 3, 0, tzinfo=UTC), tick=False):
        _launch(world, c)
    rows = world.rows(c)
    assert sorted(r.status for r in rows).count("held") == 10
    b_links = [m.body.split()[1] for m in world.echo.sent if m.body.startswith("B")]
    assert len(b_links) == 5
    path = b_links[0].split("://", 1)[1].split("/", 1)[1]
    resp = client.get("/" + path)
    assert resp.status_code == 302 and resp.headers["Location"] == "https://shop.example.com/b"
    assert client.get("/" + path[:-3] + "xyz").status_code == 404
    world.tenant.bind()
    with time_machine.travel(datetime(2026, 3, 2, 4, 1, tzinfo=UTC), tick=False):
        assert campaigns.tick(db.session)["winners"] == 1
        db.session.commit()
    stats = campaign_results.results(db.session, c.id)["variants"]
    assert stats["B"]["sent"] == 15 and stats["A"]["sent"] == 5
    assert stats["B"]["clicks"] == 1 and stats["B"]["click_total"] == 1
    assert campaigns.get_campaign(db.session, c.id).status == "completed"


def test_pause_resume_and_cancel(world):
    world.customers(4)
    c = world.campaign(world.segment(), quiet_start="00:00", quiet_end="23:59")
    _launch(world, c)
    campaigns.pause(db.session, world.actor, c.id)
    db.session.commit()
    with pytest.raises(Conflict):
        campaigns.pause(db.session, world.actor, c.id)
    campaigns.resume(db.session, world.actor, c.id)
    db.session.commit()
    assert world.echo.sent == []  # still quiet: resumed, but deferred
    campaigns.cancel(db.session, world.actor, c.id)
    db.session.commit()
    assert {(r.status, r.reason) for r in world.rows(c)} == {("skipped", "cancelled")}
    with pytest.raises(Conflict):
        campaigns.resume(db.session, world.actor, c.id)


def test_a_channel_disabled_mid_campaign_pauses_it_with_the_reason(world, app):
    world.customers(3)
    c = world.campaign(world.segment(), quiet_start="00:00", quiet_end="23:59")
    _launch(world, c)
    plugin_service.set_enabled(db.session, world.actor, "echo", False)
    campaigns.get_campaign(db.session, c.id).quiet_start = None
    campaigns.get_campaign(db.session, c.id).quiet_end = None
    db.session.commit()
    campaigns.process_batch(db.session, c.id, 0)
    c = campaigns.get_campaign(db.session, c.id)
    assert c.status == "paused" and "echo" in c.pause_reason
    assert world.echo.sent == []
    with pytest.raises(InvalidInput):
        campaigns.resume(db.session, world.actor, c.id)
    plugin_service.set_enabled(db.session, world.actor, "echo", True)
    campaigns.resume(db.session, world.actor, c.id)
    db.session.commit()
    assert len(world.echo.sent) == 3


def test_the_whole_audience_is_checked_against_the_message_limit(world, app, monkeypatch):
    from saas.billing import plans

    world.customers(3)
    c = world.campaign(world.segment())
    free = plans.PLANS["free"]
    monkeypatch.setitem(app.config, "BILLING_DEFAULT_PLAN", "free")
    monkeypatch.setitem(plans.PLANS, "free", plans.Plan(
        free.key, free.name, free.rank, {**free.limits, "messages": 2}))
    with pytest.raises(Exception) as err:
        campaigns.launch(db.session, world.actor, c.id)
    assert getattr(err.value, "status", None) == 402
    assert world.rows(c) == [] and world.echo.sent == []


def test_a_conversion_is_credited_to_the_last_campaign_that_reached_the_customer(world):
    from saas.services import orders, products

    def order(customer, at):
        orders.place_order(db.session, world.actor, customer.id, {
            "lines": [{"product_id": str(product.id), "quantity": 1, "unit_price": "10"}],
            "placed_at": at.isoformat()})
        db.session.commit()

    product = products.create_product(db.session, world.actor, {
        "sku": "SKU-1", "name": "Tea", "price": "10", "currency": "CNY"})
    ann, bob = world.customers(2)
    seg = world.segment()
    first = world.campaign(seg, conversion_days=7)
    with time_machine.travel(datetime(2026, 3, 1, 3, 0, tzinfo=UTC), tick=False):
        _launch(world, first)
    later = campaigns.create_campaign(db.session, world.actor, {
        "name": "Follow-up", "segment_id": str(seg.id), "channel": "echo",
        "variants": [{"name": "A", "body": "Again {{ customer.name }}"}]})
    db.session.commit()
    with time_machine.travel(datetime(2026, 3, 3, 3, 0, tzinfo=UTC), tick=False):
        _launch(world, later)
    order(ann, datetime(2026, 3, 2, 9, 0, tzinfo=UTC))    # after the first only
    order(bob, datetime(2026, 3, 4, 9, 0, tzinfo=UTC))    # after both: the later one
    order(bob, datetime(2026, 3, 30, 9, 0, tzinfo=UTC))   # outside every window
    first_res = campaign_results.results(db.session, first.id)["total"]
    later_res = campaign_results.results(db.session, later.id)["total"]
    assert (first_res["conversions"], later_res["conversions"]) == (1, 1)
    assert first_res["sent"] == later_res["sent"] == 2


def test_a_campaign_can_carry_a_survey_link_per_recipient(world):
    from saas.models.surveys import SurveyInvitation
    from saas.services import surveys

    world.customers(2)
    s = surveys.create_survey(db.session, world.actor, {"name": "NPS", "kind": "nps"})
    c = world.campaign(world.segment(), survey_id=str(s.id), variants=[
        {"name": "A", "body": "Tell us: {{ survey_url }}"}])
    _launch(world, c)
    links = [m.body.split(": ", 1)[1] for m in world.echo.sent]
    assert len(set(links)) == 2 and all(f"/t/{world.tenant.slug}/s/" in u for u in links)
    invs = db.session.scalars(select(SurveyInvitation)).all()
    assert {(i.source_type, i.source_id) for i in invs} == {("campaign", str(c.id))}
    token = links[0].rsplit("/", 1)[1]
    surveys.answer(db.session, token, {"q1": 10})
    with pytest.raises(InvalidInput) as err:
        world.campaign(world.segment("other"), survey_id="not-a-survey")
    assert "survey_id" in err.value.errors
