"""The campaign form refuses a variant reading a customer field the author's role may not
see in clear (403, the message next to that variant's field, nothing saved); with the
field visible the same form saves."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from saas.extensions import db
from saas.models.campaigns import Campaign
from saas.services import customers, field_access, segments
from tests.hooks.support import GOOD_SETTINGS, EchoPlugin, configure, registered
from tests.web.helpers import field_errors, login_as, use_cheap_password_hashing


@pytest.fixture
def world(app, make_tenant, monkeypatch):
    use_cheap_password_hashing(monkeypatch)
    with registered(app, EchoPlugin(), "echo"):
        tenant = make_tenant()
        configure(app, tenant, "echo", GOOD_SETTINGS)
        with app.app_context():
            tenant.bind()
            actor = tenant.owner_actor()
            customers.create_customer(db.session, actor, {"name": "C", "tags": ["vip"]})
            seg = segments.create_segment(db.session, actor, {
                "name": "VIP", "rule": {"all": [{"tag": "vip"}]}})
            db.session.commit()
            segment_id = str(seg.id)
            db.session.remove()
        yield tenant, segment_id


def _form(segment_id: str, part: str, source: str) -> dict:
    data = {"name": "Spring sale", "segment_id": segment_id, "channel": "echo",
            "survey_id": "", "quiet_start": "", "quiet_end": "", "rate_per_minute": "",
            "winner_metric": "", "test_minutes": "", "conversion_days": "",
            "variants-0-name": "A", "variants-0-split_percent": "50",
            "variants-0-subject": "", "variants-0-body": "Hi {{ customer.name }}",
            "variants-1-name": "B", "variants-1-split_percent": "50",
            "variants-1-subject": "", "variants-1-body": "Hello"}
    data[f"variants-1-{part}"] = source
    return data


def _count(app, tenant) -> int:
    with app.app_context():
        tenant.bind()
        n = db.session.scalar(select(func.count()).select_from(Campaign))
        db.session.remove()
    return n


@pytest.mark.parametrize("part", ["subject", "body"])
@pytest.mark.parametrize("level", ["hidden", "masked", "read"])
def test_campaign_form_refuses_a_variable_the_author_may_not_see(app, client, world,
                                                                 level, part):
    tenant, segment_id = world
    with app.app_context():
        tenant.bind()
        field_access.set_permissions(db.session, tenant.owner_actor(), [
            {"role": "manager", "field": "phones", "level": level}], confirm=True)
        db.session.commit()
        db.session.remove()
    login_as(app, client, tenant, "manager")
    resp = client.post(f"/t/{tenant.slug}/campaigns/new",
                       data=_form(segment_id, part, "Call {{ customer.phone }}"))
    if level == "read":
        assert resp.status_code == 303
        assert _count(app, tenant) == 1
    else:
        assert resp.status_code == 403
        html = resp.get_data(as_text=True)
        assert "customer.phone" in field_errors(html, f"variants-1-{part}")
        assert field_errors(html, "variants-0-body") == ""
        assert _count(app, tenant) == 0
