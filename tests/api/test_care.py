"""Care rules over the API: create with template checks, update, delete, 404, 403."""

from __future__ import annotations


def test_care_rule_lifecycle_and_unknown_variable(api_client):
    owner = api_client()
    bad = owner.post("/api/v1/care/rules", json={
        "name": "Birthday", "kind": "birthday", "channel": "email",
        "template": "Hi {{ name }}, here is {{ coupon_code }}"})
    assert bad.status_code == 422
    assert bad.json["errors"]["template"][0].startswith("Unknown variable: coupon_code")
    assert owner.get("/api/v1/care/rules").json == []
    made = owner.post("/api/v1/care/rules", json={
        "name": "Birthday", "kind": "birthday", "channel": "email",
        "subject": "Happy birthday", "template": "Hi {{ name }}"})
    assert made.status_code == 201
    rid = made.json["id"]
    patched = owner.patch(f"/api/v1/care/rules/{rid}", json={"active": False})
    assert patched.status_code == 200 and patched.json["active"] is False
    typo = owner.patch(f"/api/v1/care/rules/{rid}", json={"template": "{{ nmae }}"})
    assert typo.status_code == 422 and "nmae" in typo.json["errors"]["template"][0]
    assert owner.get(f"/api/v1/care/rules/{rid}").json["template"] == "Hi {{ name }}"
    assert owner.get("/api/v1/care/sends").json == []
    assert owner.delete(f"/api/v1/care/rules/{rid}").status_code == 204


def test_other_tenants_rule_is_404_and_agents_are_403(api_client):
    mine, theirs = api_client(), api_client()
    rid = theirs.post("/api/v1/care/rules", json={
        "name": "B", "kind": "birthday", "channel": "sms", "template": "Hi"}).json["id"]
    assert mine.get(f"/api/v1/care/rules/{rid}").status_code == 404
    assert mine.patch(f"/api/v1/care/rules/{rid}", json={"active": False}).status_code == 404
    assert mine.delete(f"/api/v1/care/rules/{rid}").status_code == 404
    agent = api_client(role="agent", tenant=mine.tenant)
    assert agent.get("/api/v1/care/rules").status_code == 403


def test_quiet_hours_over_the_api(api_client):
    owner = api_client()
    assert owner.get("/api/v1/care/quiet-hours").json == {"start": "21:00", "end": "09:00"}
    saved = owner.put("/api/v1/care/quiet-hours", json={"start": "22:30", "end": "08:00"})
    assert saved.status_code == 200 and saved.json == {"start": "22:30", "end": "08:00"}
    bad = owner.put("/api/v1/care/quiet-hours", json={"start": "25:00", "end": "8"})
    assert bad.status_code == 422 and set(bad.json["errors"]) == {"start", "end"}
    assert owner.put("/api/v1/care/quiet-hours", json={"start": "22:00"}).status_code == 422
    assert owner.get("/api/v1/care/quiet-hours").json == {"start": "22:30", "end": "08:00"}
    other = api_client()
    assert other.get("/api/v1/care/quiet-hours").json["start"] == "21:00"
    agent = api_client(role="agent", tenant=owner.tenant)
    assert agent.put("/api/v1/care/quiet-hours", json={"start": "22:00", "end": "07:00"}
                     ).status_code == 403
