"""The landing page, finding one's login page, sign-up, and the language switch."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from saas.extensions import db
from saas.models import Staff, Tenant
from saas.tenancy import bind_tenant
from tests.conftest import PASSWORD
from tests.web.helpers import field_errors

GOOD = {"company": "Acme Trading", "slug": "acme-trading", "owner_name": "Ann Lee",
        "email": "ann@acme.example.com", "password": PASSWORD, "locale": "en",
        "timezone": "Asia/Shanghai", "currency": "CNY", "template": "retail"}


def _counts(app) -> tuple[int, int]:
    """Tenants, and staff over all of them (each tenant bound in turn, as RLS wants)."""
    with app.app_context():
        tenant_ids = db.session.scalars(select(Tenant.id)).all()
        staff = 0
        for tenant_id in tenant_ids:
            bind_tenant(db.session, tenant_id)
            staff += db.session.scalar(select(func.count()).select_from(Staff))
        return len(tenant_ids), staff


def test_landing_page_links_to_sign_up_and_login(client):
    html = client.get("/").get_data(as_text=True)
    assert 'href="/signup"' in html
    assert 'action="/login"' in html


def test_company_address_leads_to_its_login_page(client, make_tenant):
    tenant = make_tenant()
    response = client.get(f"/login?company={tenant.slug.upper()}")
    assert response.status_code == 302
    assert response.location == f"/t/{tenant.slug}/login"


@pytest.mark.parametrize("company,status,message", [
    ("no-such-co", 404, "No account has this address."),
    ("", 422, "Enter your company"),
])
def test_unknown_or_empty_company_address_is_explained(client, company, status, message):
    response = client.get(f"/login?company={company}")
    assert response.status_code == status
    assert message in response.get_data(as_text=True)


def test_sign_up_creates_the_account_and_its_owner(app, client):
    response = client.post("/signup", data=GOOD)
    assert response.status_code == 302
    assert response.location.startswith("/t/acme-trading/login")
    assert _counts(app) == (1, 1)
    login = client.post("/t/acme-trading/login", data={"email": GOOD["email"],
                                                       "password": PASSWORD})
    assert login.status_code == 302


def test_sign_up_form_offers_the_tenant_templates(client):
    html = client.get("/signup").get_data(as_text=True)
    assert 'value="retail"' in html and 'value="b2b"' in html


@pytest.mark.parametrize("field,value,message", [
    ("company", "  ", "Enter the company name."),
    ("slug", "A B", "Use 3-63 lower-case letters"),
    ("slug", "api", "Use 3-63 lower-case letters"),
    ("owner_name", "", "Enter your name."),
    ("email", "not-an-email", "Enter a valid email address."),
    ("password", "short", "Use at least 10 characters."),
    ("password", "password1", "too common"),
    ("locale", "fr", "Choose one of"),
    ("timezone", "Mars/Olympus", "Unknown time zone."),
    ("currency", "XXX", "Choose one of"),
    ("template", "nope", "Choose one of"),
])
def test_bad_sign_up_input_is_shown_next_to_its_field_and_nothing_is_written(
        app, client, field, value, message):
    response = client.post("/signup", data={**GOOD, field: value})
    assert response.status_code == 422
    assert message in field_errors(response.get_data(as_text=True), field)
    assert _counts(app) == (0, 0)


def test_every_sign_up_error_is_shown_at_once(client):
    response = client.post("/signup", data={})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    for field in ("company", "slug", "owner_name", "email", "password"):
        assert field_errors(html, field), field


def test_taken_address_is_a_field_error_and_nothing_is_written(app, client, make_tenant):
    make_tenant(slug="acme-trading")
    response = client.post("/signup", data=GOOD)
    assert response.status_code == 409
    assert "That address is taken." in field_errors(response.get_data(as_text=True), "slug")
    assert _counts(app) == (1, 1)


def test_language_switch_keeps_the_choice_and_returns_to_the_page(client):
    response = client.post("/language", data={"locale": "zh_CN", "next": "/signup"})
    assert response.status_code == 302 and response.location == "/signup"
    html = client.get("/signup").get_data(as_text=True)
    assert "创建账户" in html and 'lang="zh-CN"' in html
    client.post("/language", data={"locale": "en", "next": "/"})
    assert "Create your account" in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("target", ["https://evil.example.com/", "//evil.example.com/",
                                    "/\\evil.example.com"])
def test_language_switch_never_redirects_off_site(client, target):
    response = client.post("/language", data={"locale": "en", "next": target})
    assert response.location == "/"


def test_unknown_language_is_ignored(client):
    client.post("/language", data={"locale": "xx", "next": "/"})
    with client.session_transaction() as session:
        assert "locale" not in session


def test_browser_language_is_used_until_one_is_chosen(client):
    html = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(
        as_text=True)
    assert "客户中心" in html
