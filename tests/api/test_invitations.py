"""Invitation endpoints: create (link shown once), list, revoke."""

from __future__ import annotations

from saas.extensions import db
from saas.services import staff as staff_service
from saas.services.errors import NotFound


def test_create_invitation_returns_a_working_link(app, api_client):
    api = api_client()
    r = api.post("/api/v1/invitations", json={"email": "New@Example.com", "role": "agent"})
    assert r.status_code == 201
    body = r.json
    assert body["email"] == "new@example.com"
    assert body["status"] == "pending"
    assert f"/t/{api.tenant.slug}/invite/" in body["link"]
    with app.app_context():
        api.tenant.bind()
        found = staff_service.find_invitation(db.session, body["link"].rsplit("/", 1)[1])
        assert str(found.id) == body["id"]


def test_listed_invitations_never_show_the_link(api_client):
    api = api_client()
    api.post("/api/v1/invitations", json={"email": "a@example.com", "role": "agent"})
    items = api.get("/api/v1/invitations").json["items"]
    assert [i["email"] for i in items] == ["a@example.com"]
    assert "link" not in items[0] and "token_hash" not in items[0]


def test_inviting_existing_staff_is_409_on_email(api_client):
    api = api_client()
    r = api.post("/api/v1/invitations", json={"email": api.tenant.owner_email,
                                              "role": "agent"})
    assert r.status_code == 409
    assert list(r.json["errors"]) == ["email"]


def test_invalid_invitation_input_is_422_per_field(api_client):
    api = api_client()
    assert api.post("/api/v1/invitations", json={"email": "nope", "role": "agent"}
                    ).json["errors"].keys() == {"email"}
    assert api.post("/api/v1/invitations", json={"email": "a@b.co", "role": "boss"}
                    ).json["errors"].keys() == {"role"}
    r = api.post("/api/v1/invitations", json={})
    assert r.status_code == 422 and r.json["errors"].keys() == {"email", "role"}
    assert api.get("/api/v1/invitations").json["items"] == []


def test_admin_cannot_invite_an_owner(api_client):
    owner = api_client()
    admin = api_client(role="admin", tenant=owner.tenant)
    r = admin.post("/api/v1/invitations", json={"email": "o@example.com", "role": "owner"})
    assert r.status_code == 403


def test_revoked_invitation_link_stops_working(app, api_client):
    api = api_client()
    created = api.post("/api/v1/invitations",
                       json={"email": "r@example.com", "role": "agent"}).json
    assert api.delete(f"/api/v1/invitations/{created['id']}").status_code == 204
    assert api.delete(f"/api/v1/invitations/{created['id']}").status_code == 204
    assert api.get("/api/v1/invitations").json["items"][0]["status"] == "revoked"
    with app.app_context():
        api.tenant.bind()
        try:
            staff_service.find_invitation(db.session, created["link"].rsplit("/", 1)[1])
            raise AssertionError("revoked link still valid")
        except NotFound:
            pass


def test_revoking_an_accepted_invitation_is_409(app, api_client):
    api = api_client()
    created = api.post("/api/v1/invitations",
                       json={"email": "j@example.com", "role": "agent"}).json
    with app.app_context():
        api.tenant.bind()
        staff_service.accept_invitation(db.session, created["link"].rsplit("/", 1)[1],
                                        "Joiner", "a-Long-password-77")
        db.session.commit()
    r = api.delete(f"/api/v1/invitations/{created['id']}")
    assert r.status_code == 409
    assert api.get("/api/v1/invitations").json["items"][0]["status"] == "accepted"


def test_revoking_an_invitation_frees_its_seat(app, api_client, monkeypatch):
    monkeypatch.setitem(app.config, "BILLING_DEFAULT_PLAN", "free")  # 3 seats
    api = api_client()
    ids = [api.post("/api/v1/invitations", json={"email": f"s{i}@example.com",
                                                 "role": "agent"}).json["id"]
           for i in range(2)]
    extra = {"email": "third@example.com", "role": "agent"}
    assert api.post("/api/v1/invitations", json=extra).status_code == 402
    assert api.delete(f"/api/v1/invitations/{ids[0]}").status_code == 204
    assert api.post("/api/v1/invitations", json=extra).status_code == 201
