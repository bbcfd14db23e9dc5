"""Opt-outs through a campaign's own unsubscribe link: the link works without login,
withdraws the consent, and counts for that campaign and variant only (mail through the
SMTP plugin against aiosmtpd)."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.models.campaigns import CampaignRecipient
from saas.models.customers import Customer
from saas.services import campaign_results, campaigns, customers, segments
from tests.hooks.support import configure
from tests.plugins.servers import smtp_server

LINK = re.compile(r"(http://\S+/unsubscribe/[\w.\-]+)")


def _campaign(actor, seg, name: str):
    c = campaigns.create_campaign(db.session, actor, {
        "name": name, "segment_id": str(seg.id), "channel": "email",
        "variants": [
            {"name": "A", "subject": "A", "split_percent": 50,
             "body": "Hi {{ customer.name }}. Stop: {{ unsubscribe_url }}"},
            {"name": "B", "subject": "B", "split_percent": 50,
             "body": "Hello {{ customer.name }}"}]})  # B: the plugin appends the link
    db.session.commit()
    return c


@pytest.fixture
def mail_world(app, make_tenant):
    with smtp_server("none") as (port, box):
        tenant = make_tenant()
        configure(app, tenant, "email", {"host": "127.0.0.1", "port": port,
                                         "security": "none",
                                         "from_address": "shop@example.com"})
        yield tenant, box


def test_unsubscribe_link_counts_for_its_campaign_and_variant_only(app, client, mail_world):
    from saas.services.unsubscribe import _serializer

    tenant, box = mail_world
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        for i in range(4):
            customers.create_customer(db.session, actor, {
                "name": f"P{i}", "emails": [f"p{i}@example.com"], "tags": ["news"],
                "consent": {"email": {"status": "granted"}}})
        seg = segments.create_segment(db.session, actor, {
            "name": "News", "rule": {"all": [{"tag": "news"}]}})
        ids = []
        for name in ("First", "Second"):
            c = _campaign(actor, seg, name)
            campaigns.launch(db.session, actor, c.id)
            db.session.commit()
            ids.append(c.id)
        names = {v.id: v.name for v in campaigns.variants(db.session, ids[1])}
        second = {r.id.hex: names[r.variant_id] for r in db.session.scalars(
            select(CampaignRecipient).where(CampaignRecipient.campaign_id == ids[1]))}
        db.session.remove()
    assert len(box.messages) == 8
    links = {}
    with app.app_context():
        for m in box.messages:
            body = LINK.search(m.get_content()).group(1)
            assert m["List-Unsubscribe"] == f"<{body}>"  # header and body: the same link
            links[_serializer().loads(body.rsplit("/", 1)[1])["r"]] = (body, m["To"])
    assert len(links) == 8  # one link per message, naming its recipient row
    rid = next(r for r, v in second.items() if v == "A")
    link, _email = links[rid]
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    assert client.get(path).status_code == 200  # no login; GET only asks
    assert client.post(path).status_code == 200
    assert client.post(path).status_code == 200  # again: idempotent
    with app.app_context():
        tenant.bind()
        row = db.session.scalars(select(CampaignRecipient).where(
            CampaignRecipient.id == uuid.UUID(hex=rid))).one()
        c = db.session.scalars(select(Customer).where(Customer.id == row.customer_id)).one()
        assert c.consent["email"]["status"] == "withdrawn" and row.opted_out_at is not None
        second_res = campaign_results.results(db.session, ids[1])
        first_res = campaign_results.results(db.session, ids[0])
        db.session.remove()
    assert second_res["variants"]["A"]["opt_outs"] == 1
    assert second_res["variants"]["B"]["opt_outs"] == 0
    assert first_res["total"]["opt_outs"] == 0  # another campaign's link does not count


def test_a_withdrawal_by_staff_after_the_message_still_counts(app, mail_world):
    tenant, box = mail_world
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        c1 = customers.create_customer(db.session, actor, {
            "name": "Q", "emails": ["q@example.com"], "tags": ["n"],
            "consent": {"email": {"status": "granted"}}})
        seg = segments.create_segment(db.session, actor, {
            "name": "N", "rule": {"all": [{"tag": "n"}]}})
        c = _campaign(actor, seg, "Only")
        campaigns.launch(db.session, actor, c.id)
        db.session.commit()
        customers.update_customer(db.session, actor, c1.id, {
            "consent": {"email": {"status": "withdrawn", "source": "phone call"}}})
        db.session.commit()
        res = campaign_results.results(db.session, c.id)
        db.session.remove()
    assert res["total"]["opt_outs"] == 1 and len(box.messages) == 1
