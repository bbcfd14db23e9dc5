"""The API tokens page: create (secret shown once), last use, revoke, who sees which."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.models import ApiToken
from saas.services import tokens as token_service
from tests.web.helpers import field_errors, login, login_as


def _create(client, tenant, name="Shop", scope="read") -> str:
    response = client.post(f"/t/{tenant.slug}/tokens/", data={"name": name, "scope": scope})
    assert response.status_code == 201
    return re.search(r'value="(crm_[^"]+)"', response.get_data(as_text=True)).group(1)


def _token(app, tenant, name) -> ApiToken:
    with app.app_context():
        tenant.bind()
        token = db.session.scalars(select(ApiToken).where(ApiToken.name == name)).one()
        db.session.expunge(token)
        return token


def test_new_token_is_shown_once_and_works(app, client, make_tenant):
    tenant = make_tenant()
    login(client, tenant)
    secret = _create(client, tenant, "Shop", "write")
    listing = client.get(f"/t/{tenant.slug}/tokens/").get_data(as_text=True)
    assert secret not in listing
    assert "Shop" in listing and "Read and write" in listing and "Never" in listing
    with app.app_context():
        tenant.bind()
        assert token_service.resolve_token(db.session, secret) is not None


def test_last_use_is_shown_in_local_time(app, client, make_tenant):
    tenant = make_tenant(tz="Asia/Shanghai")
    login(client, tenant)
    secret = _create(client, tenant, "Shop")
    with app.app_context():
        tenant.bind()
        token, _staff = token_service.resolve_token(db.session, secret)
        used = token.last_used_at
        db.session.commit()
    listing = client.get(f"/t/{tenant.slug}/tokens/").get_data(as_text=True)
    assert used.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M") in listing


@pytest.mark.parametrize("name,scope,field,message", [
    ("", "read", "name", "Give the token a name"),
    ("x" * 101, "read", "name", "Give the token a name"),
    ("ok", "admin", "scope", "Choose read or write."),
])
def test_bad_token_input_is_a_field_error(app, client, make_tenant, name, scope, field,
                                          message):
    tenant = make_tenant()
    login(client, tenant)
    response = client.post(f"/t/{tenant.slug}/tokens/", data={"name": name, "scope": scope})
    assert response.status_code == 422
    assert message in field_errors(response.get_data(as_text=True), field)
    with app.app_context():
        tenant.bind()
        assert db.session.scalars(select(ApiToken)).first() is None


def test_revoked_token_stops_working(app, client, make_tenant):
    tenant = make_tenant()
    login(client, tenant)
    secret = _create(client, tenant, "Temp")
    token = _token(app, tenant, "Temp")
    assert client.post(f"/t/{tenant.slug}/tokens/{token.id}/revoke").status_code == 303
    assert "Revoked" in client.get(f"/t/{tenant.slug}/tokens/").get_data(as_text=True)
    with app.app_context():
        tenant.bind()
        assert token_service.resolve_token(db.session, secret) is None


def test_agent_sees_and_revokes_only_their_own_tokens(app, client, make_tenant):
    tenant = make_tenant()
    owner = app.test_client()
    login(owner, tenant)
    _create(owner, tenant, "Owners token")
    owners = _token(app, tenant, "Owners token")
    login_as(app, client, tenant, "agent")
    _create(client, tenant, "Agents token")
    html = client.get(f"/t/{tenant.slug}/tokens/").get_data(as_text=True)
    assert "Agents token" in html and "Owners token" not in html
    assert client.post(f"/t/{tenant.slug}/tokens/{owners.id}/revoke").status_code == 404
    assert _token(app, tenant, "Owners token").revoked_at is None


def test_admin_sees_everyones_tokens_with_their_owner(app, client, make_tenant):
    tenant = make_tenant()
    agent = app.test_client()
    login_as(app, agent, tenant, "agent")
    _create(agent, tenant, "Agents token")
    login_as(app, client, tenant, "admin")
    html = client.get(f"/t/{tenant.slug}/tokens/").get_data(as_text=True)
    assert "Agents token" in html and "Agent Member" in html


@pytest.mark.parametrize("token_id", ["nope", "5dd9803a-7d91-4124-9d26-8074a8b3069c"])
def test_unknown_token_id_is_404(client, make_tenant, token_id):
    tenant = make_tenant()
    login(client, tenant)
    assert client.post(f"/t/{tenant.slug}/tokens/{token_id}/revoke").status_code == 404


def test_another_tenants_token_is_404(app, client, make_tenant):
    a, b = make_tenant(), make_tenant()
    other = app.test_client()
    login(other, b)
    _create(other, b, "B token")
    victim = _token(app, b, "B token")
    login(client, a)
    assert client.post(f"/t/{a.slug}/tokens/{victim.id}/revoke").status_code == 404
    assert _token(app, b, "B token").revoked_at is None
