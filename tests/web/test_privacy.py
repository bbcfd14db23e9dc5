"""Privacy pages: hiding fields from a role, the read audit, subject requests in the UI."""

from __future__ import annotations

import pytest

from saas.extensions import db
from saas.services import custom_fields, field_access, read_audit, row_scope
from saas.services import customers as customer_service
from tests.web.helpers import login, login_as


@pytest.fixture
def tenant(make_tenant):
    return make_tenant()


def _customer(app, tenant) -> str:
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        custom_fields.create_definition(db.session, actor, "level", "Level", "text")
        customer = customer_service.create_customer(db.session, actor, {
            "name": "Ann", "phones": ["13800138000"], "wechat_id": "ann_wechat",
            "purchasing_power": "high", "custom_fields": {"level": "gold"}})
        db.session.commit()
        cid = str(customer.id)
        db.session.remove()
    return cid


def test_admin_hides_a_field_and_the_agent_no_longer_sees_it(app, client, tenant):
    cid = _customer(app, tenant)
    login(client, tenant)
    resp = client.post(f"/t/{tenant.slug}/privacy/fields", data={
        "agent|wechat_id": "hidden", "agent|cf.level": "hidden",
        "agent|purchasing_power": "readonly"})
    assert resp.status_code == 303
    login_as(app, client, tenant, "agent")
    page = client.get(f"/t/{tenant.slug}/customers/{cid}").get_data(as_text=True)
    assert "ann_wechat" not in page and "gold" not in page and "Ann" in page
    form = client.get(f"/t/{tenant.slug}/customers/{cid}/edit").get_data(as_text=True)
    assert "ann_wechat" not in form and 'name="wechat_id"' not in form
    assert 'name="purchasing_power"' in form and "disabled" in form
    saved = client.post(f"/t/{tenant.slug}/customers/{cid}/edit", data={
        "kind": "person", "name": "Ann B", "lifecycle_stage": "lead"})
    assert saved.status_code == 303
    with app.app_context():
        tenant.bind()
        fresh = customer_service.get_customer(db.session, cid)
        assert (fresh.name, fresh.wechat_id, fresh.purchasing_power) == (
            "Ann B", "ann_wechat", "high")
        assert fresh.custom_fields == {"level": "gold"}
        db.session.remove()
    listing = client.get(f"/t/{tenant.slug}/customers/?q=ann_wechat")
    assert listing.status_code == 200


def test_viewing_the_360_page_is_in_the_access_log(app, client, tenant):
    cid = _customer(app, tenant)
    login(client, tenant)
    client.get(f"/t/{tenant.slug}/customers/{cid}")
    page = client.get(f"/t/{tenant.slug}/privacy/customers/{cid}").get_data(as_text=True)
    assert tenant.owner_email in page
    with app.app_context():
        tenant.bind()
        assert [e.action for e in read_audit.who_saw(db.session, cid)] == ["customer.viewed"]
        db.session.remove()


def test_export_and_erase_from_the_privacy_page(app, client, tenant):
    cid = _customer(app, tenant)
    login(client, tenant)
    export = client.post(f"/t/{tenant.slug}/privacy/customers/{cid}/export")
    assert export.status_code == 200 and export.mimetype == "application/zip"
    unconfirmed = client.post(f"/t/{tenant.slug}/privacy/customers/{cid}/erase", data={})
    assert unconfirmed.status_code == 303
    with app.app_context():
        tenant.bind()
        assert customer_service.get_customer(db.session, cid).name == "Ann"
        db.session.remove()
    client.post(f"/t/{tenant.slug}/privacy/customers/{cid}/erase",
                data={"confirm": "ERASE", "reason": "request"})
    with app.app_context():
        tenant.bind()
        assert customer_service.get_customer(db.session, cid).name != "Ann"
        assert customer_service.find_by_phone(db.session, "13800138000") == []
        db.session.remove()


def test_privacy_pages_are_for_admins_only(app, client, tenant):
    cid = _customer(app, tenant)
    login_as(app, client, tenant, "agent")
    assert client.get(f"/t/{tenant.slug}/privacy/").status_code == 403
    assert client.post(f"/t/{tenant.slug}/privacy/customers/{cid}/erase",
                       data={"confirm": "ERASE"}).status_code == 403


def test_hiding_a_field_used_by_a_segment_asks_for_confirmation(app, client, tenant):
    from saas.models.segments import Segment

    with app.app_context():
        tenant.bind()
        db.session.add(Segment(name="Rich", rule={"all": [
            {"field": "purchasing_power", "op": "=", "value": "high"}]}))
        db.session.commit()
        db.session.remove()
    login(client, tenant)
    resp = client.post(f"/t/{tenant.slug}/privacy/fields",
                       data={"agent|purchasing_power": "hidden"})
    assert resp.status_code == 409 and "Rich" in resp.get_data(as_text=True)
    resp = client.post(f"/t/{tenant.slug}/privacy/fields",
                       data={"agent|purchasing_power": "hidden", "confirm": "1"})
    assert resp.status_code == 303
    with app.app_context():
        tenant.bind()
        assert "purchasing_power" not in field_access.visible_fields(db.session, "agent")
        db.session.remove()


def test_index_page_lists_fields_and_scopes(app, client, tenant):
    _customer(app, tenant)
    login(client, tenant)
    page = client.get(f"/t/{tenant.slug}/privacy/").get_data(as_text=True)
    assert "agent|cf.level" in page and "Level" in page
    assert client.post(f"/t/{tenant.slug}/privacy/scopes",
                       data={"agent": "own"}).status_code == 303
    dry = client.post(f"/t/{tenant.slug}/privacy/retention",
                      data={"months": "12", "action": "delete", "dry_run": "1"},
                      follow_redirects=True).get_data(as_text=True)
    assert "Dry run" in dry


def test_refused_privacy_settings_go_back_with_the_error_and_save_nothing(app, client,
                                                                          tenant):
    cid = _customer(app, tenant)
    login(client, tenant)
    base = f"/t/{tenant.slug}/privacy"
    scopes = client.post(f"{base}/scopes", data={"manager": "own", "agent": "everyone"})
    assert scopes.status_code == 303 and scopes.headers["Location"].endswith(f"{base}/")
    fields = client.post(f"{base}/fields", data={"agent|wechat_id": "invisible"})
    assert fields.status_code == 303 and fields.headers["Location"].endswith(f"{base}/")
    page = client.get(f"{base}/").get_data(as_text=True)
    assert "Please correct the row scope." in page
    assert "Please correct the permission changes." in page
    erase = client.post(f"{base}/customers/{cid}/erase",
                        data={"confirm": "ERASE", "reason": "x" * 201})
    assert erase.status_code == 303
    assert erase.headers["Location"].endswith(f"{base}/customers/{cid}")
    page = client.get(erase.headers["Location"]).get_data(as_text=True)
    assert "Use at most 200 characters." in page
    with app.app_context():
        tenant.bind()
        # the manager's valid scope was rolled back with the agent's bad one
        assert row_scope.scopes(db.session) == {"manager": "all", "agent": "all",
                                                "readonly": "all"}
        assert "wechat_id" in field_access.visible_fields(db.session, "agent")
        assert customer_service.get_customer(db.session, cid).name == "Ann"
        db.session.remove()
