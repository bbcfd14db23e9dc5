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
