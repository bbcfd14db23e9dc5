"""The forum plugin against a Discourse-style API served on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from plugins.forum import username_for
from saas.extensions import db
from saas.jobs.deliveries import pull_for_tenant
from saas.models.interactions import Interaction
from saas.models.plugins import Delivery, PluginLink
from saas.services import customers as customer_service
from saas.services import plugins as plugin_service
from tests.hooks.support import configure
from tests.plugins.fake_apis import FakeDiscourse
from tests.plugins.servers import http_server

KEY = "discourse-key-0123456789"


@pytest.fixture
def forum():
    fake = FakeDiscourse(KEY)
    with http_server(fake) as (url, received):
        fake.url, fake.received = url, received
        yield fake


def _settings(url: str, **over) -> dict:
    return {"base_url": url, "api_key": KEY, "announcement_category": 5, **over}


def _create(app, tenant, email, tags=()):
    with app.app_context():
        tenant.bind()
        customer = customer_service.create_customer(
            db.session, tenant.owner_actor(),
            {"kind": "person", "name": "Li Lei", "emails": [email], "tags": list(tags)})
        db.session.commit()
        return customer.id


def test_opted_in_customer_gets_one_forum_account(app, make_tenant, forum):
    tenant = make_tenant()
    configure(app, tenant, "forum", _settings(forum.url))
    customer_id = _create(app, tenant, "li.lei@example.com", tags=["forum", "vip"])
    _create(app, tenant, "han.mei@example.com", tags=["vip"])
    with app.app_context():
        tenant.bind()
        customer_service.update_customer(db.session, tenant.owner_actor(), customer_id,
                                         {"industry": "Tea"})
        db.session.commit()
        results = [d.result["on_customer_event"] for d in db.session.scalars(
            select(Delivery).order_by(Delivery.created_at))]
        link = db.session.scalars(select(PluginLink)).one()
    [user] = forum.users.values()
    assert (user["email"], user["username"]) == ("li.lei@example.com",
                                                 username_for("li.lei@example.com"))
    assert results[1] == {"skipped": "not opted in"}
    assert results[0]["external_id"] == results[2]["external_id"] == str(user["id"])
    assert (link.entity_id, link.external_id) == (str(customer_id), str(user["id"]))
    assert all(r.headers["api-key"] == KEY for r in forum.received)


def test_announcement_is_posted_as_a_topic_in_the_category(app, make_tenant, forum):
    tenant = make_tenant()
    configure(app, tenant, "forum", _settings(forum.url))
    with app.app_context():
        tenant.bind()
        d = plugin_service.send_via_channel(
            db.session, tenant.id, "forum",
            {"to": "announcements", "subject": "Spring tea fair",
             "body": "Join us on 1 April."}, key="campaign-3")
        db.session.commit()
        db.session.refresh(d)
    [topic] = forum.topics
    assert (topic["title"], topic["raw"], topic["category"]) == \
        ("Spring tea fair", "Join us on 1 April.", 5)
    assert d.status == "succeeded"
    assert d.result["send"]["provider_id"] == f"topic-{topic['id']}"


def test_members_posts_become_interactions_once(app, make_tenant, forum):
    tenant = make_tenant()
    configure(app, tenant, "forum", _settings(forum.url))
    customer_id = _create(app, tenant, "li.lei@example.com", tags=["forum"])
    username = username_for("li.lei@example.com")
    forum.add_post(username, "Which oolong  for\nbeginners?",
                   when=datetime.now(UTC) - timedelta(minutes=5))
    forum.add_post("stranger", "Spam")
    with app.app_context():
        first = pull_for_tenant(tenant.id, "forum")
        forum.add_post(username, "Thanks!", topic_title="Oolong")
        second = pull_for_tenant(tenant.id, "forum")
        third = pull_for_tenant(tenant.id, "forum")
        tenant.bind()
        notes = db.session.scalars(select(Interaction).order_by(Interaction.occurred_at)
                                   ).all()
    assert (first["interactions"], second["interactions"], third["interactions"]) == \
        (1, 1, 0)
    assert [n.summary for n in notes] == [
        "Forum post in “Tea talk”: Which oolong for beginners?",
        "Forum post in “Oolong”: Thanks!"]
    assert {(n.customer_id, n.channel, n.direction) for n in notes} == \
        {(customer_id, "social", "in")}


def test_wrong_api_key_fails_readably(app, make_tenant, forum):
    tenant = make_tenant()
    configure(app, tenant, "forum", _settings(forum.url, api_key="not-the-key"))
    _create(app, tenant, "li.lei@example.com", tags=["forum"])
    with app.app_context():
        tenant.bind()
        [d] = db.session.scalars(select(Delivery)).all()
    assert d.status == "failed"
    assert "answered 403" in d.last_error
    assert forum.users == {}
