"""API test fixtures: a client that sends a real token of a staff member of a given role.

Staff and tokens are made through the services (invitation → acceptance → token), so
the token goes through the same parsing, tenant binding and RLS lookup as a client's.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from saas.extensions import db
from saas.models import Staff
from saas.services import staff as staff_service
from saas.services import tokens as token_service
from saas.services.context import Actor
from tests.conftest import PASSWORD, TenantRef


class ApiClient:
    """A Flask test client bound to one bearer token."""

    def __init__(self, client, token: str, tenant: TenantRef, staff_id: uuid.UUID,
                 token_id: uuid.UUID, role: str, scope: str):
        self.client, self.token, self.tenant = client, token, tenant
        self.staff_id, self.token_id, self.role, self.scope = staff_id, token_id, role, scope

    def open(self, method: str, path: str, **kwargs: Any):
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any):
        return self.open("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any):
        return self.open("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any):
        return self.open("PATCH", path, **kwargs)

    def put(self, path: str, **kwargs: Any):
        return self.open("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any):
        return self.open("DELETE", path, **kwargs)


def add_staff(tenant: TenantRef, role: str, email: str | None = None) -> uuid.UUID:
    """A new staff member of `tenant` with `role`, joined through an invitation.

    Call inside an app context; commits.
    """
    tenant.bind()
    email = email or f"{role}-{uuid.uuid4().hex[:6]}@{tenant.slug}.example.com"
    _inv, link = staff_service.invite(db.session, tenant.owner_actor(), email, role,
                                      ttl_hours=1, base_url="http://127.0.0.1",
                                      tenant_slug=tenant.slug)
    db.session.commit()
    tenant.bind()
    member = staff_service.accept_invitation(db.session, link.rsplit("/", 1)[1],
                                             f"{role.title()} Member", PASSWORD)
    db.session.commit()
    return member.id


def issue_token(tenant: TenantRef, staff_id: uuid.UUID, scope: str = "write",
                name: str = "test") -> tuple[uuid.UUID, str]:
    """A token for an existing staff member. Call inside an app context; commits."""
    tenant.bind()
    staff = db.session.get(Staff, (tenant.id, staff_id))
    token, raw = token_service.create_token(db.session, Actor.of_staff(staff), name, scope)
    db.session.commit()
    return token.id, raw


@pytest.fixture
def api_client(app, client, make_tenant):
    """`api_client(role="owner", scope="write", tenant=None)` → `ApiClient`.

    A new tenant unless `tenant` (a `TenantRef`) is given; the owner role reuses the
    tenant's owner, other roles get a new staff member.
    """

    def make(role: str = "owner", scope: str = "write",
             tenant: TenantRef | None = None) -> ApiClient:
        tenant = tenant or make_tenant()
        with app.app_context():
            staff_id = tenant.owner_id if role == "owner" else add_staff(tenant, role)
            token_id, raw = issue_token(tenant, staff_id, scope)
            db.session.remove()
        return ApiClient(client, raw, tenant, staff_id, token_id, role, scope)

    return make
