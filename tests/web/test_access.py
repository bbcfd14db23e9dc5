"""Who may open which staff page: tenant from the URL, login, role permissions."""

from __future__ import annotations

import pytest

from saas.extensions import db
from saas.models import Staff
from saas.services import staff as staff_service
from tests.web.helpers import ROLES, add_staff, login, login_as

# (method, path under /t/<slug>, data, permission it needs or None for login only)
PAGES = [
    ("get", "/", None, None),
    ("get", "/staff/", None, "staff.read"),
    ("post", "/staff/invite", {"email": "new@example.com", "role": "agent"}, "staff.manage"),
    ("get", "/settings/", None, "settings.manage"),
    ("post", "/settings/", {"name": "Renamed", "locale": "en", "timezone": "UTC",
                            "currency": "CNY"}, "settings.manage"),
    ("get", "/audit/", None, "audit.read"),
    ("get", "/tokens/", None, "tokens.manage"),
    ("post", "/tokens/", {"name": "ci", "scope": "read"}, "tokens.manage"),
]
ALLOWED = {
    None: set(ROLES),
    "staff.read": {"owner", "admin", "manager"},
    "staff.manage": {"owner", "admin"},
    "settings.manage": {"owner", "admin"},
    "audit.read": {"owner", "admin"},
    "tokens.manage": {"owner", "admin", "manager", "agent"},
}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_403_exactly_where_its_permissions_end(app, client, make_tenant, role):
    tenant = make_tenant()
    login_as(app, client, tenant, role)
    for method, path, data, permission in PAGES:
        response = getattr(client, method)(f"/t/{tenant.slug}{path}", data=data)
        if role in ALLOWED[permission]:
            assert response.status_code in (200, 201, 303), (role, path, response.status_code)
        else:
            assert response.status_code == 403, (role, path, response.status_code)
            assert "You do not have access" in response.get_data(as_text=True)


def test_anonymous_visitor_is_sent_to_the_tenants_login(client, make_tenant):
    tenant = make_tenant()
    for method, path, data, _permission in PAGES:
        response = getattr(client, method)(f"/t/{tenant.slug}{path}", data=data)
        assert response.status_code == 302, path
        expected = (f"/t/{tenant.slug}/login?next=/t/{tenant.slug}{path}" if method == "get"
                    else f"/t/{tenant.slug}/login")
        assert response.location == expected, path


def test_unknown_tenant_slug_is_404(client):
    assert client.get("/t/no-such-company/").status_code == 404
    assert client.get("/t/no-such-company/login").status_code == 404


def test_staff_of_one_tenant_is_not_logged_in_at_another(app, client, make_tenant):
    a, b = make_tenant(), make_tenant()
    login(client, a)
    assert client.get(f"/t/{a.slug}/staff/").status_code == 200
    response = client.get(f"/t/{b.slug}/staff/")
    assert response.status_code == 302
    assert response.location.startswith(f"/t/{b.slug}/login")
    assert client.get(f"/t/{b.slug}/").status_code == 302


def test_owner_of_another_tenant_with_the_same_email_is_still_not_logged_in(app, client,
                                                                           make_tenant):
    a = make_tenant(email="same@example.com")
    b = make_tenant(email="same@example.com")
    login(client, a)
    assert client.get(f"/t/{b.slug}/").status_code == 302


def test_deactivated_staff_loses_an_open_session(app, client, make_tenant):
    tenant = make_tenant()
    staff_id = login_as(app, client, tenant, "agent")
    assert client.get(f"/t/{tenant.slug}/").status_code == 200
    with app.app_context():
        tenant.bind()
        member = db.session.get(Staff, (tenant.id, staff_id))
        staff_service.set_active(db.session, tenant.owner_actor(), member, False)
        db.session.commit()
    assert client.get(f"/t/{tenant.slug}/").status_code == 302


def test_navigation_shows_only_what_the_role_may_open(app, client, make_tenant):
    tenant = make_tenant()
    login_as(app, client, tenant, "agent")
    html = client.get(f"/t/{tenant.slug}/").get_data(as_text=True)
    assert f'href="/t/{tenant.slug}/tokens/"' in html
    assert f'href="/t/{tenant.slug}/staff/"' not in html
    assert f'href="/t/{tenant.slug}/audit/"' not in html


def test_add_staff_helper_really_joins_the_tenant(app, make_tenant):
    tenant = make_tenant()
    staff_id, email = add_staff(app, tenant, "manager")
    with app.app_context():
        tenant.bind()
        member = db.session.get(Staff, (tenant.id, staff_id))
        assert (member.email, member.role) == (email, "manager")
