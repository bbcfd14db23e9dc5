"""Staff endpoints: list, get, change role and active state."""

from __future__ import annotations

from saas.extensions import db
from saas.services import staff as staff_service


def test_list_staff_shows_members_sorted_by_name(api_client):
    owner = api_client()
    api_client(role="agent", tenant=owner.tenant)
    api_client(role="manager", tenant=owner.tenant)
    items = owner.get("/api/v1/staff").json["items"]
    assert len(items) == 3
    assert [i["name"] for i in items] == sorted(i["name"] for i in items)
    assert "password_hash" not in items[0]


def test_list_staff_filters_by_role_and_active(api_client):
    owner = api_client()
    agent = api_client(role="agent", tenant=owner.tenant)
    assert [i["id"] for i in owner.get("/api/v1/staff?role=agent").json["items"]] \
        == [str(agent.staff_id)]
    owner.patch(f"/api/v1/staff/{agent.staff_id}", json={"active": False})
    inactive = owner.get("/api/v1/staff?active=false").json["items"]
    assert [i["id"] for i in inactive] == [str(agent.staff_id)]
    assert owner.get("/api/v1/staff?role=boss").status_code == 422


def test_manager_can_read_staff_but_not_change_them(api_client):
    owner = api_client()
    manager = api_client(role="manager", tenant=owner.tenant)
    assert manager.get(f"/api/v1/staff/{owner.staff_id}").json["role"] == "owner"
    r = manager.patch(f"/api/v1/staff/{owner.staff_id}", json={"role": "agent"})
    assert r.status_code == 403


def test_owner_changes_role_and_it_is_audited(api_client):
    owner = api_client()
    agent = api_client(role="agent", tenant=owner.tenant)
    r = owner.patch(f"/api/v1/staff/{agent.staff_id}", json={"role": "manager"})
    assert r.status_code == 200
    assert r.json["role"] == "manager"
    entries = owner.get(f"/api/v1/audit?action=staff.role_changed&entity_id={agent.staff_id}")
    assert entries.json["items"][0]["changes"] == {"role": ["agent", "manager"]}
    assert entries.json["items"][0]["actor_id"] == str(owner.staff_id)


def test_deactivated_member_loses_api_access(api_client):
    owner = api_client()
    agent = api_client(role="agent", tenant=owner.tenant)
    r = owner.patch(f"/api/v1/staff/{agent.staff_id}", json={"active": False})
    assert r.status_code == 200 and r.json["active"] is False
    assert agent.get("/api/v1/me").status_code == 401


def test_admin_cannot_grant_owner(api_client):
    owner = api_client()
    admin = api_client(role="admin", tenant=owner.tenant)
    agent = api_client(role="agent", tenant=owner.tenant)
    r = admin.patch(f"/api/v1/staff/{agent.staff_id}", json={"role": "owner"})
    assert r.status_code == 403
    assert r.json["errors"] == {"role": ["Owner only."]}


def test_failed_second_change_leaves_the_first_unwritten(app, api_client):
    owner = api_client()
    admin = api_client(role="admin", tenant=owner.tenant)
    # Demoting yourself is allowed; deactivating yourself is not: both or neither.
    r = admin.patch(f"/api/v1/staff/{admin.staff_id}", json={"role": "manager",
                                                             "active": False})
    assert r.status_code == 409
    with app.app_context():
        admin.tenant.bind()
        member = staff_service.get_staff(db.session, admin.staff_id)
        assert (member.role, member.active) == ("admin", True)


def test_bad_staff_update_fields_are_422(api_client):
    owner = api_client()
    agent = api_client(role="agent", tenant=owner.tenant)
    path = f"/api/v1/staff/{agent.staff_id}"
    assert owner.patch(path, json={"role": "boss"}).json["errors"].keys() == {"role"}
    assert owner.patch(path, json={"active": "yes"}).json["errors"].keys() == {"active"}
    assert owner.patch(path, json={"email": "x@y.z"}).json["errors"] == {
        "email": ["Unknown field."]}
    assert owner.get(path).json["role"] == "agent"


def test_unknown_staff_id_is_404(api_client):
    r = api_client().get("/api/v1/staff/01935d4e-0000-7000-8000-000000000000")
    assert r.status_code == 404
