"""The staff page: list, invitations (link shown, email sent), roles, deactivation."""

from __future__ import annotations

import re
import socket
import threading
from email import message_from_bytes
from email.policy import default
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from saas import create_app
from saas.extensions import db
from saas.models import AuditEntry, Invitation, Staff
from tests.conftest import make_config
from tests.web.helpers import add_staff, field_errors, login, login_as


def _member(app, tenant, staff_id) -> Staff:
    with app.app_context():
        tenant.bind()
        member = db.session.get(Staff, (tenant.id, staff_id))
        db.session.expunge(member)
        return member


def test_staff_list_shows_role_status_and_last_login(app, client, make_tenant):
    tenant = make_tenant(tz="Asia/Shanghai")
    add_staff(app, tenant, "agent", "quiet@example.com")
    login(client, tenant)
    html = client.get(f"/t/{tenant.slug}/staff/").get_data(as_text=True)
    assert "quiet@example.com" in html and "Never" in html
    assert tenant.owner_email in html and "Active" in html
    owner = _member(app, tenant, tenant.owner_id)
    local = owner.last_login_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert local.strftime("%Y-%m-%d %H:%M") in html


def test_invitation_link_is_shown_to_the_inviter(app, client, make_tenant):
    tenant = make_tenant()
    login(client, tenant)
    response = client.post(f"/t/{tenant.slug}/staff/invite",
                           data={"email": "New.Person@Example.com", "role": "manager"})
    assert response.status_code == 201
    html = response.get_data(as_text=True)
    link = re.search(r'value="(http://127\.0\.0\.1:5000/t/[^"]+/invite/[^"]+)"', html).group(1)
    assert "Invitation sent to new.person@example.com" in html
    joiner = app.test_client()
    assert joiner.get(link.replace("http://127.0.0.1:5000", "")).status_code == 200


class _Inbox:
    def __init__(self):
        self.messages: list[bytes] = []
        self.received = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
        self.messages.append(envelope.content)
        self.received.set()
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


def test_invitation_email_is_sent_with_the_link(db_urls, app, make_tenant, smtp):
    inbox, port = smtp
    mailing = create_app(make_config(db_urls, MAIL_URL=f"smtp://127.0.0.1:{port}"))
    tenant = make_tenant()
    client = mailing.test_client()
    login(client, tenant)
    html = client.post(f"/t/{tenant.slug}/staff/invite",
                       data={"email": "mailme@example.com", "role": "agent"}).get_data(
        as_text=True)
    link = re.search(r'value="(http[^"]+/invite/[^"]+)"', html).group(1)
    assert inbox.received.wait(10)
    mail = message_from_bytes(inbox.messages[0], policy=default)
    assert mail["To"] == "mailme@example.com"
    assert link in mail.get_content()


@pytest.mark.parametrize("email,role,field,message,status", [
    ("not-an-email", "agent", "email", "Enter a valid email address.", 422),
    ("x@example.com", "emperor", "role", "Choose one of", 422),
])
def test_bad_invitation_input_is_a_field_error(app, client, make_tenant, email, role, field,
                                               message, status):
    tenant = make_tenant()
    login(client, tenant)
    response = client.post(f"/t/{tenant.slug}/staff/invite", data={"email": email,
                                                                  "role": role})
    assert response.status_code == status
    assert message in field_errors(response.get_data(as_text=True), field)
    with app.app_context():
        tenant.bind()
        assert db.session.scalar(select(func.count()).select_from(Invitation)) == 0


def test_inviting_an_existing_colleague_is_409(app, client, make_tenant):
    tenant = make_tenant()
    login(client, tenant)
    response = client.post(f"/t/{tenant.slug}/staff/invite",
                           data={"email": tenant.owner_email, "role": "agent"})
    assert response.status_code == 409
    assert "Already a staff member." in field_errors(response.get_data(as_text=True), "email")


def test_admin_cannot_invite_an_owner(app, client, make_tenant):
    tenant = make_tenant()
    login_as(app, client, tenant, "admin")
    response = client.post(f"/t/{tenant.slug}/staff/invite",
                           data={"email": "boss@example.com", "role": "owner"})
    assert response.status_code == 403
    assert "Owner only." in field_errors(response.get_data(as_text=True), "role")


def test_owner_changes_a_role_and_it_is_audited(app, client, make_tenant):
    tenant = make_tenant()
    staff_id, _ = add_staff(app, tenant, "agent")
    login(client, tenant)
    response = client.post(f"/t/{tenant.slug}/staff/{staff_id}/role", data={"role": "manager"})
    assert response.status_code == 303
    assert _member(app, tenant, staff_id).role == "manager"
    with app.app_context():
        tenant.bind()
        entry = db.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "staff.role_changed")).one()
        assert entry.changes == {"role": ["agent", "manager"]}


def test_last_owner_cannot_be_demoted(app, client, make_tenant):
    tenant = make_tenant()
    admin_id = login_as(app, client, tenant, "owner")
    response = client.post(f"/t/{tenant.slug}/staff/{admin_id}/role", data={"role": "agent"})
    assert response.status_code == 409
    assert "at least one owner" in response.get_data(as_text=True)
    assert _member(app, tenant, tenant.owner_id).role == "owner"


def test_deactivate_and_reactivate_a_colleague(app, client, make_tenant):
    tenant = make_tenant()
    staff_id, _ = add_staff(app, tenant, "agent")
    login(client, tenant)
    path = f"/t/{tenant.slug}/staff/{staff_id}/active"
    assert client.post(path, data={"active": "0"}).status_code == 303
    assert _member(app, tenant, staff_id).active is False
    assert "Deactivated" in client.get(f"/t/{tenant.slug}/staff/").get_data(as_text=True)
    assert client.post(path, data={"active": "1"}).status_code == 303
    assert _member(app, tenant, staff_id).active is True


def test_nobody_can_deactivate_themselves(app, client, make_tenant):
    tenant = make_tenant()
    admin_id = login_as(app, client, tenant, "admin")
    response = client.post(f"/t/{tenant.slug}/staff/{admin_id}/active", data={"active": "0"})
    assert response.status_code == 409
    assert "You cannot deactivate yourself." in response.get_data(as_text=True)


def test_admin_cannot_deactivate_the_owner(app, client, make_tenant):
    tenant = make_tenant()
    login_as(app, client, tenant, "admin")
    response = client.post(f"/t/{tenant.slug}/staff/{tenant.owner_id}/active",
                           data={"active": "0"})
    assert response.status_code == 403
    assert _member(app, tenant, tenant.owner_id).active is True


@pytest.mark.parametrize("action,data", [("role", {"role": "agent"}), ("active", {"active": "0"})])
def test_another_tenants_staff_id_is_404(app, client, make_tenant, action, data):
    a, b = make_tenant(), make_tenant()
    victim_id, _ = add_staff(app, b, "agent")
    login(client, a)
    response = client.post(f"/t/{a.slug}/staff/{victim_id}/{action}", data=data)
    assert response.status_code == 404
    victim = _member(app, b, victim_id)
    assert (victim.role, victim.active) == ("agent", True)


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "78bea336-aa90-4e8b-b13c-576ea247888a"])
def test_malformed_or_unknown_staff_id_is_404(client, make_tenant, bad_id):
    tenant = make_tenant()
    login(client, tenant)
    response = client.post(f"/t/{tenant.slug}/staff/{bad_id}/role", data={"role": "agent"})
    assert response.status_code == 404


def test_manager_sees_the_list_but_no_management_controls(app, client, make_tenant):
    tenant = make_tenant()
    login_as(app, client, tenant, "manager")
    html = client.get(f"/t/{tenant.slug}/staff/").get_data(as_text=True)
    assert tenant.owner_email in html
    assert "Invite a colleague" not in html and "Deactivate" not in html


def test_deactivation_without_a_clear_choice_changes_nothing(app, client, make_tenant):
    tenant = make_tenant()
    staff_id, _ = add_staff(app, tenant, "agent")
    login(client, tenant)
    response = client.post(f"/t/{tenant.slug}/staff/{staff_id}/active", data={"active": "x"})
    assert response.status_code == 422
    assert _member(app, tenant, staff_id).active is True


def test_staff_list_shows_only_this_tenants_people(app, client, make_tenant):
    a, b = make_tenant(), make_tenant()
    add_staff(app, b, "agent", "someone-at-b@example.com")
    login(client, a)
    html = client.get(f"/t/{a.slug}/staff/").get_data(as_text=True)
    assert "someone-at-b@example.com" not in html and b.owner_email not in html
