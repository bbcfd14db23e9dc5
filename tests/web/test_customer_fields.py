"""The customer-fields page: custom field definitions and categories, admins only."""

from __future__ import annotations

import re

from tests.web.helpers import field_errors, login, login_as


def test_owner_adds_and_deletes_a_custom_field(client, make_tenant):
    tenant = make_tenant()
    login(client, tenant)
    url = f"/t/{tenant.slug}/customer-fields/"
    r = client.post(url, data={"field-key": "Bad Key", "field-label": "Tea",
                               "field-type": "text"})
    assert r.status_code == 422 and field_errors(r.get_data(as_text=True), "field-key")
    r = client.post(url, data={"field-key": "tea", "field-label": "Tea",
                               "field-type": "choice", "field-choices": "green, black"})
    assert r.status_code == 303
    html = client.get(url).get_data(as_text=True)
    assert "green, black" in html
    form_html = client.get(f"/t/{tenant.slug}/customers/new").get_data(as_text=True)
    assert 'name="cf_tea"' in form_html
    delete_url = re.search(r'action="([^"]+/delete)"', html).group(1)
    assert client.post(delete_url).status_code == 303
    assert "No custom fields yet." in client.get(url).get_data(as_text=True)


def test_categories_can_be_replaced_but_not_emptied(client, make_tenant):
    tenant = make_tenant()
    login(client, tenant)
    url = f"/t/{tenant.slug}/customer-fields/categories"
    r = client.post(url, data={"cat-categories": " , "})
    assert r.status_code == 422 and field_errors(r.get_data(as_text=True), "cat-categories")
    assert client.post(url, data={"cat-categories": "大客户, 中小企业"}).status_code == 303
    html = client.get(f"/t/{tenant.slug}/customers/new").get_data(as_text=True)
    assert "大客户" in html and "VIP" not in html


def test_agents_cannot_configure_fields(app, client, make_tenant):
    tenant = make_tenant()
    login_as(app, client, tenant, "agent")
    assert client.get(f"/t/{tenant.slug}/customer-fields/").status_code == 403
    assert client.post(f"/t/{tenant.slug}/customer-fields/",
                       data={"field-key": "x", "field-label": "X",
                             "field-type": "text"}).status_code == 403


def _add_field(client, tenant, **extra):
    r = client.post(f"/t/{tenant.slug}/customer-fields/",
                    data={"field-key": "id_card", "field-label": "ID card",
                          "field-type": "text", **extra})
    assert r.status_code == 303


def _sensitive_url(html: str) -> str:
    return re.search(r'action="([^"]+/sensitive)"', html).group(1)


def test_page_shows_the_always_encrypted_builtins_as_locked(client, make_tenant):
    tenant = make_tenant()
    login(client, tenant)
    html = client.get(f"/t/{tenant.slug}/customer-fields/").get_data(as_text=True)
    locked = html.split('id="always-encrypted"')[1].split("</section>")[0]
    for label in ("Phones", "Emails", "WeChat ID", "Address"):
        assert label in locked
    assert "Locked" in locked and "cannot be changed here" in locked


def test_owner_marks_a_field_sensitive_and_the_360_page_shows_the_clear_value(
        app, client, make_tenant):
    tenant = make_tenant()
    login(client, tenant)
    _add_field(client, tenant)
    r = client.post(f"/t/{tenant.slug}/customers/new",
                    data={"name": "Ann", "kind": "person", "cf_id_card": "110101199003077777"})
    assert r.status_code in (302, 303), r.get_data(as_text=True)[:500]
    customer_url = r.headers["Location"]
    url = f"/t/{tenant.slug}/customer-fields/"
    html = client.get(url).get_data(as_text=True)
    assert "Not encrypted" in html and "Mark sensitive" in html
    r = client.post(_sensitive_url(html), data={"sensitive": "on"})
    assert r.status_code == 303
    html = client.get(url).get_data(as_text=True)
    assert "Encrypted" in html and "Stop encrypting" in html
    with app.app_context():
        tenant.bind()
        from sqlalchemy import text

        from saas.extensions import db
        raw = db.session.execute(text("SELECT custom_fields, sensitive_fields "
                                      "FROM customers")).one()
        db.session.remove()
    assert "110101199003077777" not in str(raw)
    assert "110101199003077777" in client.get(customer_url).get_data(as_text=True)
    listing = client.get(f"/t/{tenant.slug}/customers/?cf.id_card=110101199003077777")
    assert "Ann" in listing.get_data(as_text=True)


def test_a_field_a_segment_uses_cannot_be_marked_sensitive_in_the_page(
        app, client, make_tenant):
    tenant = make_tenant()
    login(client, tenant)
    _add_field(client, tenant)
    with app.app_context():
        tenant.bind()
        from saas.extensions import db
        from saas.services import segments
        segments.create_segment(db.session, tenant.owner_actor(), {"name": "Cards", "rule": {
            "all": [{"custom_field": "id_card", "op": "is_set"}]}})
        db.session.commit()
        db.session.remove()
    html = client.get(f"/t/{tenant.slug}/customer-fields/").get_data(as_text=True)
    r = client.post(_sensitive_url(html), data={"sensitive": "on"})
    assert r.status_code == 409
    body = r.get_data(as_text=True)
    assert "Used in segment &#39;Cards&#39;." in body and "Mark sensitive" in body


def test_agents_cannot_mark_fields_sensitive_and_other_tenants_fields_are_404(
        app, client, make_tenant):
    tenant, other = make_tenant(), make_tenant()
    login(client, other)
    _add_field(client, other)
    theirs = _sensitive_url(client.get(f"/t/{other.slug}/customer-fields/")
                            .get_data(as_text=True))
    client.post(f"/t/{other.slug}/logout")
    login(client, tenant)
    _add_field(client, tenant)
    mine = _sensitive_url(client.get(f"/t/{tenant.slug}/customer-fields/")
                          .get_data(as_text=True))
    r = client.post(f"/t/{tenant.slug}/customer-fields/{theirs.split('/')[-2]}/sensitive",
                    data={"sensitive": "on"})
    assert r.status_code == 404
    client.post(f"/t/{tenant.slug}/logout")
    login_as(app, client, tenant, "agent")
    assert client.post(mine, data={"sensitive": "on"}).status_code == 403
    client.post(f"/t/{tenant.slug}/logout")
    login(client, tenant)
    assert "Not encrypted" in client.get(f"/t/{tenant.slug}/customer-fields/").get_data(
        as_text=True)
