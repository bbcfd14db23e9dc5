"""Building staff and logging in for web tests, through the services and the real forms."""

from __future__ import annotations

import re
import uuid

from argon2 import PasswordHasher

from saas.extensions import db
from saas.services import passwords
from saas.services import staff as staff_service
from tests.conftest import PASSWORD, TenantRef

ROLES = ("owner", "admin", "manager", "agent", "readonly")


def use_cheap_password_hashing(monkeypatch) -> None:
    """Real argon2 at minimal cost: web tests log in often and do not test hash strength
    (a hash carries its parameters, so verification still works)."""
    monkeypatch.setattr(passwords, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def add_staff(app, tenant: TenantRef, role: str, email: str | None = None) -> tuple[uuid.UUID, str]:
    """A staff member with `role` who joined through an invitation; returns (id, email)."""
    email = email or f"{role}-{uuid.uuid4().hex[:6]}@{tenant.slug}.example.com"
    with app.app_context():
        tenant.bind()
        _inv, link = staff_service.invite(db.session, tenant.owner_actor(), email, role,
                                          ttl_hours=1, base_url="http://127.0.0.1",
                                          tenant_slug=tenant.slug)
        db.session.commit()
        tenant.bind()
        member = staff_service.accept_invitation(db.session, link.rsplit("/", 1)[1],
                                                 f"{role.title()} Member", PASSWORD)
        db.session.commit()
        result = member.id
        db.session.remove()
    return result, email


def login(client, tenant: TenantRef, email: str | None = None, password: str = PASSWORD):
    response = client.post(f"/t/{tenant.slug}/login",
                           data={"email": email or tenant.owner_email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


def login_as(app, client, tenant: TenantRef, role: str) -> uuid.UUID:
    """Log `client` in as the owner, or as a new staff member with `role`."""
    if role == "owner":
        login(client, tenant)
        return tenant.owner_id
    staff_id, email = add_staff(app, tenant, role)
    login(client, tenant, email)
    return staff_id


def field_errors(html: str, field_id: str) -> str:
    """The error text shown right after the field with this id ('' when none)."""
    match = re.search(rf'<div class="field-error" id="{field_id}-error">(.*?)</div>\s*</div>',
                      html, re.S)
    return re.sub(r"<[^>]+>", " ", match.group(1)).strip() if match else ""


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)
