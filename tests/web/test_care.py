"""Care pages: a rule with an unknown template variable is refused next to the field;
a good one is saved; quiet hours validate; agents get 403."""

from __future__ import annotations

from sqlalchemy import func, select

from saas.extensions import db
from saas.models.care import CareRule
from saas.services import care as care_service
from saas.services import loyalty as loyalty_service
from tests.web.helpers import field_errors, login, login_as


def test_rule_with_unknown_variable_is_refused_then_saved(app, client, make_tenant):
    tenant = make_tenant()
    login(client, tenant)
    url = f"/t/{tenant.slug}/care"
    assert client.get(f"{url}/").status_code == 200
    form = {"name": "Birthday", "kind": "birthday", "channel": "email",
            "subject": "Happy birthday", "template": "Hi {{ name }}, {{ coupon_code }}",
            "days_after": "", "reward_id": ""}
    bad = client.post(f"{url}/rules", data=form)
    assert bad.status_code == 422
    assert "Unknown variable: coupon_code" in field_errors(bad.get_data(as_text=True),
                                                           "template")
    with app.app_context():
        tenant.bind()
        assert db.session.scalar(select(func.count()).select_from(CareRule)) == 0
        db.session.remove()
    ok = client.post(f"{url}/rules", data=dict(form, template="Hi {{ name }}"))
    assert ok.status_code == 302
    assert "Hi {{ name }}" in client.get(f"{url}/").get_data(as_text=True)
    bad_quiet = client.post(f"{url}/quiet-hours", data={"start": "25:00", "end": "07:00"})
    assert bad_quiet.status_code == 422
    assert client.post(f"{url}/quiet-hours", data={"start": "22:00", "end": "08:00"}
                       ).status_code == 302


def _rule_with_withdrawn_coupon(app, tenant, active: bool):
    """A win-back rule whose coupon reward was withdrawn after the rule was saved."""
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        coupon = loyalty_service.create_reward(db.session, actor, {
            "name": "Come back", "kind": "coupon", "points_cost": 1, "valid_days": 30})
        rule = care_service.create_rule(db.session, actor, {
            "name": "Win back", "kind": "win_back", "channel": "email",
            "template": "Hi {{ name }}, use {{ coupon_code }}", "reward_id": str(coupon.id),
            "active": active})
        loyalty_service.update_reward(db.session, actor, coupon.id, {"active": False})
        db.session.commit()
        rule_id = rule.id
        db.session.remove()
    return rule_id


def test_switching_on_a_rule_whose_coupon_was_withdrawn_is_refused_with_a_message(
        app, client, make_tenant):
    tenant = make_tenant()
    rule_id = _rule_with_withdrawn_coupon(app, tenant, active=False)
    login(client, tenant)
    url = f"/t/{tenant.slug}/care"
    resp = client.post(f"{url}/rules/{rule_id}/toggle")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"{url}/")
    page = client.get(f"{url}/").get_data(as_text=True)
    assert 'class="alert alert-error"' in page and "The care rule is invalid." in page
    with app.app_context():
        tenant.bind()
        assert care_service.get_rule(db.session, rule_id).active is False
        db.session.remove()


def test_a_rule_whose_coupon_was_withdrawn_can_still_be_switched_off(
        app, client, make_tenant):
    tenant = make_tenant()
    rule_id = _rule_with_withdrawn_coupon(app, tenant, active=True)
    login(client, tenant)
    url = f"/t/{tenant.slug}/care"
    resp = client.post(f"{url}/rules/{rule_id}/toggle")
    assert resp.status_code == 302
    assert 'class="alert alert-error"' not in client.get(f"{url}/").get_data(as_text=True)
    with app.app_context():
        tenant.bind()
        assert care_service.get_rule(db.session, rule_id).active is False
        db.session.remove()


def test_agents_cannot_manage_care(app, client, make_tenant):
    tenant = make_tenant()
    login_as(app, client, tenant, "agent")
    assert client.get(f"/t/{tenant.slug}/care/").status_code == 403
