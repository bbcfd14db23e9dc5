"""Logging in and out, the login rate limit, and accepting invitations."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from saas import create_app
from saas.extensions import db
from saas.models import AuditEntry, Invitation, Staff
from saas.services import staff as staff_service
from tests.conftest import PASSWORD, make_config
from tests.web.helpers import add_staff, field_errors, login


def _invite(app, tenant, email="new@example.com", role="agent", ttl_hours=1) -> str:
    with app.app_context():
        tenant.bind()
        _inv, link = staff_service.invite(db.session, tenant.owner_actor(), email, role,
                                          ttl_hours, "http://127.0.0.1", tenant.slug)
        db.session.commit()
    return "/" + link.split("/", 3)[3]


def test_owner_logs_in_and_lands_on_the_dashboard(client, make_tenant):
    tenant = make_tenant()
    response = login(client, tenant)
    assert response.location == f"/t/{tenant.slug}/"
    html = client.get(response.location).get_data(as_text=True)
    assert "Welcome, Olivia Owner" in html


def test_wrong_password_is_401_with_a_message_and_no_session(app, client, make_tenant):
    tenant = make_tenant()
    response = client.post(f"/t/{tenant.slug}/login",
                           data={"email": tenant.owner_email, "password": "wrong-password-1"})
    assert response.status_code == 401
    assert "Wrong email or password" in field_errors(response.get_data(as_text=True),
                                                     "password")
    assert client.get(f"/t/{tenant.slug}/").status_code == 302
    with app.app_context():
        tenant.bind()
        actions = db.session.scalars(select(AuditEntry.action)).all()
    assert "auth.login_failed" in actions


def test_unknown_email_gets_the_same_answer_as_a_wrong_password(client, make_tenant):
    tenant = make_tenant()
    response = client.post(f"/t/{tenant.slug}/login",
                           data={"email": "nobody@example.com", "password": PASSWORD})
    assert response.status_code == 401
    assert "Wrong email or password" in response.get_data(as_text=True)


def test_deactivated_staff_cannot_log_in(app, client, make_tenant):
    tenant = make_tenant()
    staff_id, email = add_staff(app, tenant, "agent")
    with app.app_context():
        tenant.bind()
        member = db.session.get(Staff, (tenant.id, staff_id))
        staff_service.set_active(db.session, tenant.owner_actor(), member, False)
        db.session.commit()
    response = client.post(f"/t/{tenant.slug}/login", data={"email": email,
                                                            "password": PASSWORD})
    assert response.status_code == 401
    assert client.get(f"/t/{tenant.slug}/").status_code == 302


def test_owner_cannot_log_in_at_another_tenants_address(client, make_tenant):
    a, b = make_tenant(), make_tenant()
    response = client.post(f"/t/{b.slug}/login",
                           data={"email": a.owner_email, "password": PASSWORD})
    assert response.status_code == 401


def test_login_follows_next_within_the_site_only(client, make_tenant):
    tenant = make_tenant()
    ok = client.post(f"/t/{tenant.slug}/login?next=/t/{tenant.slug}/staff/",
                     data={"email": tenant.owner_email, "password": PASSWORD})
    assert ok.location == f"/t/{tenant.slug}/staff/"
    client.post(f"/t/{tenant.slug}/logout")
    evil = client.post(f"/t/{tenant.slug}/login?next=//evil.example.com/x",
                       data={"email": tenant.owner_email, "password": PASSWORD})
    assert evil.location == f"/t/{tenant.slug}/"


def test_logout_ends_the_session(client, make_tenant):
    tenant = make_tenant()
    login(client, tenant)
    response = client.post(f"/t/{tenant.slug}/logout")
    assert response.status_code == 302
    assert client.get(f"/t/{tenant.slug}/").status_code == 302


def test_logout_is_not_a_get(client, make_tenant):
    tenant = make_tenant()
    login(client, tenant)
    assert client.get(f"/t/{tenant.slug}/logout").status_code == 405
    assert client.get(f"/t/{tenant.slug}/").status_code == 200


def test_login_is_rate_limited(db_urls, app, make_tenant):
    limited = create_app(make_config(db_urls, LOGIN_RATE_LIMIT="3 per minute"))
    tenant = make_tenant()
    client = limited.test_client()
    statuses = [client.post(f"/t/{tenant.slug}/login",
                            data={"email": tenant.owner_email, "password": "nope-nope-1"},
                            environ_base={"REMOTE_ADDR": "10.9.8.7"}).status_code
                for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    html = client.post(f"/t/{tenant.slug}/login",
                       data={"email": tenant.owner_email, "password": PASSWORD},
                       environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert html.status_code == 429
    assert "Too many attempts" in html.get_data(as_text=True)
    other_ip = client.post(f"/t/{tenant.slug}/login",
                           data={"email": tenant.owner_email, "password": PASSWORD},
                           environ_base={"REMOTE_ADDR": "10.9.8.8"})
    assert other_ip.status_code == 302


def test_login_page_itself_is_not_rate_limited(db_urls, app, make_tenant):
    limited = create_app(make_config(db_urls, LOGIN_RATE_LIMIT="2 per minute"))
    tenant = make_tenant()
    client = limited.test_client()
    assert {client.get(f"/t/{tenant.slug}/login").status_code for _ in range(4)} == {200}


def test_invited_colleague_joins_and_is_logged_in(app, client, make_tenant):
    tenant = make_tenant()
    path = _invite(app, tenant, "bob@example.com", "manager")
    page = client.get(path)
    assert page.status_code == 200
    assert "bob@example.com" in page.get_data(as_text=True)
    response = client.post(path, data={"name": "Bob", "password": "another-good-pass-7"})
    assert response.status_code == 302
    home = client.get(f"/t/{tenant.slug}/")
    assert "Welcome, Bob" in home.get_data(as_text=True)
    assert client.get(f"/t/{tenant.slug}/staff/").status_code == 200


def test_invitation_with_a_weak_password_shows_the_error_and_writes_nothing(app, client,
                                                                          make_tenant):
    tenant = make_tenant()
    path = _invite(app, tenant)
    response = client.post(path, data={"name": "", "password": "short"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Use at least 10 characters." in field_errors(html, "password")
    assert "Enter your name." in field_errors(html, "name")
    with app.app_context():
        tenant.bind()
        assert db.session.scalar(select(func.count()).select_from(Staff)) == 1
    assert client.get(path).status_code == 200


def test_reused_invitation_is_409_with_a_clear_message(app, client, make_tenant):
    tenant = make_tenant()
    path = _invite(app, tenant)
    client.post(path, data={"name": "Bob", "password": "another-good-pass-7"})
    other = app.test_client()
    for response in (other.get(path),
                     other.post(path, data={"name": "Eve", "password": "another-good-pass-8"})):
        assert response.status_code == 409
        assert "already been used" in response.get_data(as_text=True)


def test_expired_invitation_is_409_with_a_clear_message(app, client, make_tenant):
    tenant = make_tenant()
    path = _invite(app, tenant)
    with app.app_context():
        tenant.bind()
        inv = db.session.scalars(select(Invitation)).one()
        inv.expires_at = inv.expires_at - timedelta(hours=2)
        db.session.commit()
    response = client.get(path)
    assert response.status_code == 409
    assert "expired" in response.get_data(as_text=True)


@pytest.mark.parametrize("token", ["unknown-token", "x" * 300])
def test_unknown_invitation_token_is_404(client, make_tenant, token):
    tenant = make_tenant()
    response = client.get(f"/t/{tenant.slug}/invite/{token}")
    assert response.status_code == 404
    assert "not valid" in response.get_data(as_text=True)


def test_invitation_link_only_works_at_its_own_tenant(app, client, make_tenant):
    a, b = make_tenant(), make_tenant()
    path = _invite(app, a)
    assert client.get(path.replace(f"/t/{a.slug}/", f"/t/{b.slug}/")).status_code == 404


def test_a_stolen_session_cookie_fails_from_another_browser(client, make_tenant):
    tenant = make_tenant()
    client.post(f"/t/{tenant.slug}/login",
                data={"email": tenant.owner_email, "password": PASSWORD},
                headers={"User-Agent": "Browser A"})
    assert client.get(f"/t/{tenant.slug}/", headers={"User-Agent": "Browser A"}) \
        .status_code == 200
    assert client.get(f"/t/{tenant.slug}/", headers={"User-Agent": "Browser B"}) \
        .status_code == 302
