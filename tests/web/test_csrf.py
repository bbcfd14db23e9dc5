"""CSRF is enforced on every form when it is on (as in production)."""

from __future__ import annotations

import pytest

from saas import create_app
from tests.conftest import PASSWORD, make_config
from tests.web.helpers import csrf_token


@pytest.fixture
def csrf_app(db_urls, app):
    return create_app(make_config(db_urls, WTF_CSRF_ENABLED=True))


def test_login_without_a_csrf_token_is_refused(csrf_app, make_tenant):
    tenant = make_tenant()
    client = csrf_app.test_client()
    response = client.post(f"/t/{tenant.slug}/login",
                           data={"email": tenant.owner_email, "password": PASSWORD})
    assert response.status_code == 400
    assert "The form has expired" in response.get_data(as_text=True)
    assert client.get(f"/t/{tenant.slug}/").status_code == 302


def test_login_with_the_pages_csrf_token_works(csrf_app, make_tenant):
    tenant = make_tenant()
    client = csrf_app.test_client()
    token = csrf_token(client.get(f"/t/{tenant.slug}/login").get_data(as_text=True))
    response = client.post(f"/t/{tenant.slug}/login", data={
        "email": tenant.owner_email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


def test_a_token_from_another_session_is_refused(csrf_app, make_tenant):
    tenant = make_tenant()
    stranger = csrf_app.test_client()
    token = csrf_token(stranger.get(f"/t/{tenant.slug}/login").get_data(as_text=True))
    victim = csrf_app.test_client()
    response = victim.post(f"/t/{tenant.slug}/login", data={
        "email": tenant.owner_email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 400


def _logged_in(csrf_app, tenant):
    client = csrf_app.test_client()
    token = csrf_token(client.get(f"/t/{tenant.slug}/login").get_data(as_text=True))
    client.post(f"/t/{tenant.slug}/login", data={
        "email": tenant.owner_email, "password": PASSWORD, "csrf_token": token})
    return client


def test_logged_in_forms_refuse_a_post_without_a_token(csrf_app, make_tenant):
    tenant = make_tenant()
    client = _logged_in(csrf_app, tenant)
    for path, data in [
        ("/staff/invite", {"email": "x@example.com", "role": "agent"}),
        ("/settings/", {"name": "Hijacked", "locale": "en", "timezone": "UTC",
                        "currency": "USD"}),
        ("/tokens/", {"name": "stolen", "scope": "write"}),
        ("/logout", {}),
    ]:
        assert client.post(f"/t/{tenant.slug}{path}", data=data).status_code == 400, path
    assert client.get(f"/t/{tenant.slug}/").status_code == 200
    assert f"{tenant.slug} Ltd" in client.get(f"/t/{tenant.slug}/settings/").get_data(
        as_text=True)


def test_language_switch_needs_a_csrf_token(csrf_app):
    client = csrf_app.test_client()
    assert client.post("/language", data={"locale": "zh_CN", "next": "/"}).status_code == 400
    token = csrf_token(client.get("/").get_data(as_text=True))
    response = client.post("/language", data={"locale": "zh_CN", "next": "/",
                                              "csrf_token": token})
    assert response.status_code == 302
    assert "客户中心" in client.get("/").get_data(as_text=True)


def test_signup_needs_a_csrf_token(csrf_app):
    client = csrf_app.test_client()
    response = client.post("/signup", data={"company": "Acme", "slug": "acme-csrf"})
    assert response.status_code == 400
