"""Campaign results on the dashboard: audience, sent, clicked and converted recipients of
each campaign launched in the range, by the campaign-results rule, with the filters."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from saas.analytics import dashboard
from saas.analytics import dashboard_figures as figs
from saas.extensions import db
from saas.models.campaigns import CampaignRecipient
from saas.services import campaigns, customers, segments
from saas.services.customers import bound_tenant
from tests.analytics import world
from tests.analytics.dashboard_world import at, local_today
from tests.api.conftest import add_staff
from tests.hooks.support import GOOD_SETTINGS, EchoPlugin, configure, registered


@pytest.fixture
def launched(app, make_tenant):
    """c1 and c2 (Olivia's, North) and c3 (Ann's, South) get "Spring sale" on T-3;
    c1 clicks its link, c3 orders on T-2 (within the 7-day window)."""
    tenant = make_tenant()
    with registered(app, EchoPlugin(), "echo"):
        configure(app, tenant, "echo", GOOD_SETTINGS)
        with app.app_context():
            ann = add_staff(tenant, "agent")
            tenant.bind()
            actor = tenant.owner_actor()
            world.products(actor, "A")
            ids = {}
            for name, owner, dept in (("c1", tenant.owner_id, "North"),
                                      ("c2", tenant.owner_id, "North"), ("c3", ann, "South")):
                ids[name] = customers.create_customer(db.session, actor, {
                    "name": name, "tags": ["promo"], "owner_id": str(owner),
                    "department": dept}).id
            seg = segments.create_segment(db.session, actor, {
                "name": "Promo", "rule": {"all": [{"tag": "promo"}]}})
            c = campaigns.create_campaign(db.session, actor, {
                "name": "Spring sale", "segment_id": str(seg.id), "channel": "echo",
                "conversion_days": 7, "variants": [{"name": "A", "body": "Hi!"}]})
            db.session.commit()
            with time_machine.travel(at(3), tick=False):
                campaigns.launch(db.session, actor, c.id)
                db.session.commit()
            tenant.bind()
            rid = db.session.scalar(select(CampaignRecipient.id).where(
                CampaignRecipient.customer_id == ids["c1"]))
            link = campaigns.tracked_link(bound_tenant(db.session), rid, "https://x.example")
            campaigns.record_click(db.session, link.rsplit("/", 1)[1])
            world.order(actor, ids["c3"], ["A"], at=at(2))
            db.session.commit()
            tenant.bind()
            dashboard.refresh(db.session)
            db.session.commit()
            yield tenant, ann, c.id
            db.session.rollback()


def _figure(**kw):
    today = local_today()
    return figs.figure(db.session, "campaigns", figs.Filters(
        today - timedelta(days=10), today, "day", **kw))


def test_campaign_results_per_campaign(launched):
    _tenant, _ann, campaign_id = launched
    fig = _figure()
    assert fig.labels == ["Spring sale"]
    assert fig.extra["launched"] == [(local_today() - timedelta(days=3)).isoformat()]
    assert fig.extra["campaign_id"] == [str(campaign_id)]
    assert {s["key"]: s["values"] for s in fig.series} == {
        "audience": [3], "sent": [3], "clicked": [1], "converted": [1]}


def test_campaign_results_by_owner_and_department(launched):
    _tenant, ann, _campaign_id = launched
    assert {s["key"]: s["values"] for s in _figure(owner_id=ann).series} == {
        "audience": [1], "sent": [1], "clicked": [0], "converted": [1]}
    assert {s["key"]: s["values"] for s in _figure(department="North").series} == {
        "audience": [2], "sent": [2], "clicked": [1], "converted": [0]}


def test_a_campaign_launched_before_the_range_is_not_shown(launched):
    today = local_today()
    fig = figs.figure(db.session, "campaigns", figs.Filters(
        today - timedelta(days=2), today, "day"))
    assert fig.labels == [] and all(s["values"] == [] for s in fig.series)
