"""Membership-level changes on the customer 360 timeline, in the reader's language."""

from __future__ import annotations

import pytest

from saas.extensions import db
from saas.services import loyalty
from tests.services.tiers_world import World
from tests.web.helpers import login


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_level_change_is_shown_in_the_readers_language(app, client, make_tenant, locale):
    tenant = make_tenant(template="retail", locale=locale)
    with app.app_context():
        tenant.bind()
        w = World(tenant)
        loyalty.create_level(db.session, w.actor, {"name": "Silver", "basis": "points",
                                                   "threshold": 300})
        c = w.customer("Li Lei")
        w.order(c, "250")  # 250 earned + the first-order bonus of 100
        db.session.commit()
        cid = str(c.id)
        db.session.remove()
    login(client, tenant)
    html = client.get(f"/t/{tenant.slug}/customers/{cid}").get_data(as_text=True)
    timeline = html[html.index('class="timeline"'):]
    assert 'class="kind-level"' in timeline
    if locale == "zh_CN":
        assert "会员等级 无 → Silver" in timeline
        assert "达到：12 个月内获得 350.00 积分（门槛 300）" in timeline
        assert "Level - → Silver" not in timeline and "Reached" not in timeline
    else:
        assert "Membership level none → Silver" in timeline
        assert "Reached: 350.00 points earned in 12 months (threshold 300)" in timeline
