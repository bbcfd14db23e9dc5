"""Loyalty pages: earn rules, reward catalogue, levels, coupons, and per customer the
ledger, redemption (also from the 360 page), adjustment and referral; permissions and
other tenants' ids."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from saas.extensions import db
from saas.models.loyalty import PointsEntry, Redemption, Reward
from saas.services import customers
from saas.services import loyalty as loyalty_service
from tests.web.helpers import field_errors, login, login_as


@pytest.fixture
def tenant(make_tenant):
    return make_tenant(template="retail")


def _customer(app, tenant, points: int = 0, name: str = "Li Lei"):
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        c = customers.create_customer(db.session, actor, {"name": name})
        if points:
            loyalty_service.adjust(db.session, actor, c.id, points, "welcome")
        db.session.commit()
        cid = c.id
        db.session.remove()
    return cid


def _reward(app, tenant, **data):
    with app.app_context():
        tenant.bind()
        r = loyalty_service.create_reward(db.session, tenant.owner_actor(), {
            "name": "Mug", "kind": "gift", "points_cost": 100, "stock": 1, **data})
        db.session.commit()
        rid = r.id
        db.session.remove()
    return rid


def _rows(app, tenant, model) -> int:
    with app.app_context():
        tenant.bind()
        n = db.session.scalar(select(func.count()).select_from(model))
        db.session.remove()
    return n


def test_settings_save_multipliers_bonuses_and_contribution_rules(app, client, tenant):
    login(client, tenant)
    html = client.get(f"/t/{tenant.slug}/loyalty/").get_data(as_text=True)
    assert 'name="tier_multipliers.A"' in html
    r = client.post(f"/t/{tenant.slug}/loyalty/program", data={
        "points_per_unit": "2", "expiry_months": "12", "notice_days": "15",
        "cap_per_order": "", "cap_per_month": "5000", "tier_multipliers.A": "1.5",
        "bonus.birthday": "88", "contribution_rows": "2",
        "contribution_rules.0.measure": "order_count", "contribution_rules.0.threshold": "10",
        "contribution_rules.0.points": "200"})
    assert r.status_code == 303
    with app.app_context():
        tenant.bind()
        p = loyalty_service.program(db.session)
        assert (p.points_per_unit, p.cap_per_order, p.cap_per_month) == (2.0, None, 5000)
        assert p.tier_multipliers == {"A": 1.5} and p.bonus == {"birthday": 88}
        assert p.contribution_rules[0]["points"] == 200
        db.session.remove()


def test_bad_settings_show_errors_next_to_each_field_and_save_nothing(app, client, tenant):
    login(client, tenant)
    client.get(f"/t/{tenant.slug}/loyalty/")
    r = client.post(f"/t/{tenant.slug}/loyalty/program", data={
        "points_per_unit": "lots", "expiry_months": "12", "notice_days": "30",
        "tier_multipliers.A": "-1", "contribution_rows": "1",
        "contribution_rules.0.measure": "order_count", "contribution_rules.0.threshold": "x",
        "contribution_rules.0.points": "5"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "number" in field_errors(html, "points_per_unit")
    assert field_errors(html, "tier_multipliers.A")
    assert "number" in field_errors(html, "contribution_rules.0.threshold")
    assert 'value="lots"' in html
    with app.app_context():
        tenant.bind()
        assert loyalty_service.program(db.session).tier_multipliers.get("A") != -1
        db.session.remove()


def test_reward_catalogue_create_edit_and_field_errors(app, client, tenant):
    login(client, tenant)
    r = client.post(f"/t/{tenant.slug}/loyalty/rewards/new", data={
        "name": "10% off", "kind": "discount", "points_cost": "50", "discount_percent": ""})
    assert r.status_code == 422
    assert "percentage" in field_errors(r.get_data(as_text=True), "discount_percent")
    assert _rows(app, tenant, Reward) == 0
    r = client.post(f"/t/{tenant.slug}/loyalty/rewards/new", data={
        "name": "10% off", "kind": "discount", "points_cost": "50", "discount_percent": "10",
        "valid_days": "30"})
    assert r.status_code == 303
    rid = _reward(app, tenant)
    r = client.post(f"/t/{tenant.slug}/loyalty/rewards/{rid}/edit", data={
        "name": "Mug", "kind": "gift", "points_cost": "120", "stock": "5"})
    assert r.status_code == 303
    html = client.get(f"/t/{tenant.slug}/loyalty/").get_data(as_text=True)
    assert re.search(r"Mug.*?<td>120</td><td>5</td>.*?Withdrawn", html, re.S)


def test_bad_reward_edit_is_shown_on_the_form_and_changes_nothing(app, client, tenant):
    rid = _reward(app, tenant)
    login(client, tenant)
    r = client.post(f"/t/{tenant.slug}/loyalty/rewards/{rid}/edit", data={
        "name": "Mug", "kind": "gift", "points_cost": "lots", "stock": "5"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert field_errors(html, "points_cost") and 'value="lots"' in html
    with app.app_context():
        tenant.bind()
        reward = db.session.get(Reward, (tenant.id, rid))
        assert (reward.points_cost, reward.stock) == (100, 1)
        db.session.remove()


def test_refused_redeem_from_the_360_page_goes_back_there_with_the_error(app, client,
                                                                         tenant):
    cid = _customer(app, tenant, points=10)
    rid = _reward(app, tenant, stock=None)
    login(client, tenant)
    entries = _rows(app, tenant, PointsEntry)
    r = client.post(f"/t/{tenant.slug}/loyalty/customers/{cid}/redeem",
                    data={"reward_id": str(rid), "back": "360"})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/customers/{cid}")
    shown = client.get(f"/t/{tenant.slug}/loyalty/customers/{cid}").get_data(as_text=True)
    assert 'class="alert alert-error"' in shown and "Not enough points" in shown
    assert _rows(app, tenant, PointsEntry) == entries
    assert _rows(app, tenant, Redemption) == 0


def test_redeem_from_the_360_page_spends_points_and_takes_stock(app, client, tenant):
    cid = _customer(app, tenant, points=150)
    rid = _reward(app, tenant)
    login(client, tenant)
    html = client.get(f"/t/{tenant.slug}/customers/{cid}").get_data(as_text=True)
    assert 'id="loyalty-panel"' in html and "<strong>150</strong>" in html
    r = client.post(f"/t/{tenant.slug}/loyalty/customers/{cid}/redeem",
                    data={"reward_id": str(rid), "back": "360"})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/customers/{cid}")
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Redeemed for 100 points." in html and "<strong>50</strong>" in html
    # out of stock now: a clear error, nothing written
    cid2 = _customer(app, tenant, points=500, name="Han Meimei")
    r = client.post(f"/t/{tenant.slug}/loyalty/customers/{cid2}/redeem",
                    data={"reward_id": str(rid)})
    assert r.status_code == 422
    assert "out of stock" in field_errors(r.get_data(as_text=True), "reward_id")
    assert _rows(app, tenant, Redemption) == 1


def test_redeeming_more_than_the_balance_is_refused_without_a_ledger_entry(app, client, tenant):
    cid = _customer(app, tenant, points=10)
    rid = _reward(app, tenant, stock=None)
    login(client, tenant)
    entries = _rows(app, tenant, PointsEntry)
    r = client.post(f"/t/{tenant.slug}/loyalty/customers/{cid}/redeem",
                    data={"reward_id": str(rid)})
    assert r.status_code == 422
    assert "Not enough points" in r.get_data(as_text=True)
    assert _rows(app, tenant, PointsEntry) == entries
    with app.app_context():
        tenant.bind()
        assert db.session.get(Reward, (tenant.id, rid)).stock is None
        db.session.remove()


def test_ledger_adjust_and_referral_code(app, client, tenant):
    cid = _customer(app, tenant, points=20)
    login(client, tenant)
    r = client.post(f"/t/{tenant.slug}/loyalty/customers/{cid}/adjust",
                    data={"points": "abc", "reason": ""})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert field_errors(html, "points") and field_errors(html, "reason")
    r = client.post(f"/t/{tenant.slug}/loyalty/customers/{cid}/adjust",
                    data={"points": "-5", "reason": "correction"})
    assert r.status_code == 303
    r = client.post(f"/t/{tenant.slug}/loyalty/customers/{cid}/referral-code")
    assert r.status_code == 303
    html = client.get(f"/t/{tenant.slug}/loyalty/customers/{cid}").get_data(as_text=True)
    assert re.search(r"<code>R[A-Z2-9]{7}</code>", html)
    assert "correction" in html and 'id="balance">15<' in html


def test_referral_code_of_another_tenant_is_unknown(app, client, tenant, make_tenant):
    other = make_tenant()
    referrer = _customer(app, other)
    with app.app_context():
        other.bind()
        from saas.services import referrals

        code = referrals.code_for(db.session, other.owner_actor(), referrer).code
        db.session.commit()
        db.session.remove()
    cid = _customer(app, tenant)
    login(client, tenant)
    r = client.post(f"/t/{tenant.slug}/loyalty/customers/{cid}/referral", data={"code": code})
    assert r.status_code == 422
    assert "Unknown referral code" in field_errors(r.get_data(as_text=True), "code")


def test_unknown_coupon_is_a_field_error(client, tenant):
    login(client, tenant)
    r = client.post(f"/t/{tenant.slug}/loyalty/coupons/use", data={"code": "NOPE"})
    assert r.status_code == 422
    assert "No such coupon" in field_errors(r.get_data(as_text=True), "code")


@pytest.mark.parametrize("role,method,path,status", [
    ("readonly", "get", "/", 200),
    ("readonly", "post", "/program", 403),
    ("manager", "get", "/rewards/new", 403),
    ("agent", "post", "/levels", 403),
    ("readonly", "post", "/customers/{cid}/redeem", 403),
    ("readonly", "post", "/customers/{cid}/adjust", 403),
    ("readonly", "get", "/customers/{cid}", 200),
    ("admin", "get", "/rewards/new", 200),
])
def test_permissions_per_role(app, client, tenant, role, method, path, status):
    cid = _customer(app, tenant)
    login_as(app, client, tenant, role)
    r = getattr(client, method)(f"/t/{tenant.slug}/loyalty" + path.format(cid=cid))
    assert r.status_code == status


def test_other_tenants_ids_are_404(app, client, tenant, make_tenant):
    other = make_tenant(template="retail")
    foreign_customer = _customer(app, other, points=500)
    foreign_reward = _reward(app, other)
    login(client, tenant)
    base = f"/t/{tenant.slug}/loyalty"
    assert client.get(f"{base}/customers/{foreign_customer}").status_code == 404
    assert client.post(f"{base}/customers/{foreign_customer}/redeem",
                       data={"reward_id": str(foreign_reward)}).status_code == 404
    assert client.get(f"{base}/rewards/{foreign_reward}/edit").status_code == 404
    mine = _customer(app, tenant, points=500)
    r = client.post(f"{base}/customers/{mine}/redeem", data={"reward_id": str(foreign_reward)})
    assert r.status_code == 422
    assert _rows(app, other, Redemption) == 0


def test_readonly_sees_the_360_panel_without_redeem_or_code_buttons(app, client, tenant):
    cid = _customer(app, tenant, points=150)
    _reward(app, tenant)
    login_as(app, client, tenant, "readonly")
    html = client.get(f"/t/{tenant.slug}/customers/{cid}").get_data(as_text=True)
    panel = html[html.index('id="loyalty-panel"'):]
    panel = panel[:panel.index("</section>")]
    assert "<strong>150</strong>" in panel
    assert "/redeem" not in panel and "/referral-code" not in panel


def test_membership_level_by_spend_from_the_settings_page_to_the_customer(app, client,
                                                                          tenant):
    from saas.models.loyalty import MembershipLevel
    from tests.services.tiers_world import World

    login(client, tenant)
    bad = client.post(f"/t/{tenant.slug}/loyalty/levels", data={
        "name": "", "basis": "mood", "threshold": "lots", "window_months": "0"})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert field_errors(html, "name") and field_errors(html, "basis")
    assert field_errors(html, "threshold") and field_errors(html, "window_months")
    assert _rows(app, tenant, MembershipLevel) == 0
    ok = client.post(f"/t/{tenant.slug}/loyalty/levels", data={
        "name": "Gold", "basis": "spend", "threshold": "1000", "window_months": "6",
        "benefits": "Free gift wrapping"})
    assert ok.status_code == 303
    with app.app_context():
        tenant.bind()
        w = World(tenant)
        c = w.customer("Spender")
        w.order(c, 700, days_ago=300)  # outside the six months
        w.order(c, 600, days_ago=30)
        db.session.commit()
        cid = c.id
        db.session.remove()
    page = client.get(f"/t/{tenant.slug}/loyalty/customers/{cid}").get_data(as_text=True)
    assert "Free gift wrapping" not in page
    with app.app_context():
        tenant.bind()
        w = World(tenant)
        w.order(customers.get_customer(db.session, cid), 500, days_ago=2)
        db.session.commit()
        db.session.remove()
    page = client.get(f"/t/{tenant.slug}/loyalty/customers/{cid}").get_data(as_text=True)
    assert "Gold" in page and "Free gift wrapping" in page
    panel = client.get(f"/t/{tenant.slug}/customers/{cid}").get_data(as_text=True)
    assert re.search(r"Membership level</dt><dd>Gold</dd>", panel)


def test_only_settings_managers_add_levels(app, client, tenant):
    login_as(app, client, tenant, "agent")
    r = client.post(f"/t/{tenant.slug}/loyalty/levels", data={
        "name": "Gold", "basis": "spend", "threshold": "1", "window_months": "6"})
    assert r.status_code == 403
