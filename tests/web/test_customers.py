"""Customer pages: list with filters and paging, form errors, 360 page, quick log."""

from __future__ import annotations

import re

import pytest

from saas.extensions import db
from saas.services import custom_fields, customers, orders, products
from tests.web.helpers import field_errors, login, login_as


@pytest.fixture
def tenant(make_tenant):
    return make_tenant()


def _seed(app, tenant, n=1, **data):
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        ids = [customers.create_customer(db.session, actor, {"name": f"{data.pop('name', 'C')}"
                                                            f"{i}", **data}).id
               for i in range(n)]
        db.session.commit()
        db.session.remove()
    return ids


def test_empty_list_invites_to_add_the_first_customer(client, tenant):
    login(client, tenant)
    html = client.get(f"/t/{tenant.slug}/customers/").get_data(as_text=True)
    assert "No customers yet." in html and "Add the first customer" in html


def test_list_searches_by_phone_and_pages_with_a_cursor(app, client, tenant):
    _seed(app, tenant, 30, name="Shop")
    _seed(app, tenant, 1, name="Tea", phones=["13800138000"])
    login(client, tenant)
    html = client.get(f"/t/{tenant.slug}/customers/?q=138-0013-8000").get_data(as_text=True)
    assert "Tea0" in html and "Shop1" not in html
    html = client.get(f"/t/{tenant.slug}/customers/?sort=name").get_data(as_text=True)
    names = re.findall(r'class="strong" href="[^"]+">([^<]+)</a>', html)
    assert len(names) == 25
    next_url = re.search(r'rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    html = client.get(next_url).get_data(as_text=True)
    rest = re.findall(r'class="strong" href="[^"]+">([^<]+)</a>', html)
    assert len(rest) == 6 and not set(rest) & set(names)
    assert 'rel="next"' not in html


def test_bad_filter_is_reported_not_crashed(client, tenant):
    login(client, tenant)
    r = client.get(f"/t/{tenant.slug}/customers/?kind=robot")
    assert r.status_code == 422 and "kind: Choose one of" in r.get_data(as_text=True)
    r = client.get(f"/t/{tenant.slug}/customers/?cursor=garbage")
    assert r.status_code == 422


def test_create_shows_field_errors_and_keeps_nothing(app, client, tenant):
    with app.app_context():
        tenant.bind()
        custom_fields.create_definition(db.session, tenant.owner_actor(), "seats", "Seats",
                                        "number")
        db.session.commit()
    login(client, tenant)
    r = client.post(f"/t/{tenant.slug}/customers/new", data={
        "name": "", "kind": "person", "phones": "12", "emails": "nope",
        "lifecycle_stage": "lead", "cf_seats": "many"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert field_errors(html, "name") and field_errors(html, "phones")
    assert field_errors(html, "emails") and field_errors(html, "cf_seats")
    assert "No customers yet." in client.get(f"/t/{tenant.slug}/customers/").get_data(
        as_text=True)


def test_create_then_edit_a_customer(client, tenant):
    login(client, tenant)
    r = client.post(f"/t/{tenant.slug}/customers/new", data={
        "name": "北京茶行 🍵", "kind": "company", "phones": "010 6552 9988",
        "lifecycle_stage": "customer", "tags": "vip, tea", "consent_sms": "granted"})
    assert r.status_code == 303
    show_url = r.headers["Location"]
    html = client.get(show_url).get_data(as_text=True)
    assert "北京茶行 🍵" in html and "+861065529988" in html and "vip" in html
    edit_url = show_url.rstrip("/") + "/edit"
    assert "北京茶行" in client.get(edit_url).get_data(as_text=True)
    r = client.post(edit_url, data={"name": "Renamed", "kind": "company",
                                    "lifecycle_stage": "customer", "consent_sms": "granted"})
    assert r.status_code == 303
    assert "Renamed" in client.get(show_url).get_data(as_text=True)


def test_360_page_shows_key_figures_timeline_and_logs_a_call(app, client, tenant):
    [cid] = _seed(app, tenant, name="Buyer", kind="company")
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        products.create_product(db.session, actor, {"sku": "S", "name": "S", "price": "8"})
        orders.place_order(db.session, actor, cid, {"lines": [{"sku": "S", "quantity": 2}],
                                                     "number": "ORD-1"})
        db.session.commit()
        db.session.remove()
    login(client, tenant)
    url = f"/t/{tenant.slug}/customers/{cid}"
    html = client.get(url).get_data(as_text=True)
    assert "ORD-1" in html and "16.00" in html
    r = client.post(f"{url}/interactions", data={"channel": "phone", "direction": "out",
                                                 "kind": "", "summary": ""})
    assert r.status_code == 422 and field_errors(r.get_data(as_text=True), "summary")
    r = client.post(f"{url}/interactions", data={"channel": "phone", "direction": "out",
                                                 "kind": "need", "summary": "Wants a quote"})
    assert r.status_code == 303
    html = client.get(url).get_data(as_text=True)
    assert html.index("Wants a quote") < html.index("ORD-1")
    r = client.post(f"{url}/contacts", data={"name": "Li", "phone": "bad"})
    assert r.status_code == 422 and field_errors(r.get_data(as_text=True), "phone")
    assert client.post(f"{url}/contacts", data={"name": "Li"}).status_code == 303


def test_saved_view_round_trip(app, client, tenant):
    _seed(app, tenant, 1, name="Vip", tags=["vip"])
    _seed(app, tenant, 1, name="Plain")
    login(client, tenant)
    r = client.post(f"/t/{tenant.slug}/customers/views", data={"tags": "vip",
                                                              "view_name": "VIPs"})
    assert r.status_code == 303
    html = client.get(f"/t/{tenant.slug}/customers/").get_data(as_text=True)
    view_url = re.search(r'href="([^"]+view=[^"]+)">VIPs', html).group(1)
    r = client.get(view_url.replace("&amp;", "&"))
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Vip0" in html and "Plain0" not in html


def test_other_tenants_customer_is_404(app, client, tenant, make_tenant):
    other = make_tenant()
    [cid] = _seed(app, other)
    login(client, tenant)
    assert client.get(f"/t/{tenant.slug}/customers/{cid}").status_code == 404
    assert client.get(f"/t/{tenant.slug}/customers/{cid}/edit").status_code == 404
    assert client.post(f"/t/{tenant.slug}/customers/{cid}/interactions",
                       data={"channel": "phone", "summary": "x"}).status_code == 404
    assert client.get(f"/t/{tenant.slug}/customers/not-an-id").status_code == 404


def test_readonly_staff_cannot_create_or_log(app, client, tenant):
    [cid] = _seed(app, tenant)
    login_as(app, client, tenant, "readonly")
    assert client.get(f"/t/{tenant.slug}/customers/").status_code == 200
    html = client.get(f"/t/{tenant.slug}/customers/{cid}").get_data(as_text=True)
    assert "Log a call or visit" not in html
    assert client.get(f"/t/{tenant.slug}/customers/new").status_code == 403
    assert client.post(f"/t/{tenant.slug}/customers/{cid}/interactions",
                       data={"channel": "phone", "summary": "x"}).status_code == 403


def test_anonymous_is_sent_to_login(client, tenant):
    r = client.get(f"/t/{tenant.slug}/customers/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_pages_speak_chinese_for_a_chinese_tenant(app, client, make_tenant):
    tenant = make_tenant(locale="zh_CN")
    [cid] = _seed(app, tenant, name="王芳")
    login(client, tenant)
    html = client.get(f"/t/{tenant.slug}/customers/").get_data(as_text=True)
    assert "搜索" in html or "筛选" in html
    html = client.get(f"/t/{tenant.slug}/customers/{cid}").get_data(as_text=True)
    assert "记录电话或拜访" in html and "平均购买间隔" in html
    r = client.post(f"/t/{tenant.slug}/customers/{cid}/interactions",
                    data={"channel": "phone", "direction": "out", "summary": ""})
    assert "请填写沟通内容或处理情况。" in r.get_data(as_text=True)


def test_list_filters_by_custom_field_in_the_url(app, client, tenant):
    with app.app_context():
        tenant.bind()
        custom_fields.create_definition(db.session, tenant.owner_actor(), "region", "Region",
                                        "choice", choices=["east", "west"])
        db.session.commit()
        db.session.remove()
    _seed(app, tenant, 1, name="East", custom_fields={"region": "east"})
    _seed(app, tenant, 1, name="West", custom_fields={"region": "west"})
    login(client, tenant)
    html = client.get(f"/t/{tenant.slug}/customers/?cf.region=east").get_data(as_text=True)
    assert "East0" in html and "West0" not in html
    assert client.get(f"/t/{tenant.slug}/customers/?cf.region=north").status_code == 422
