"""The holiday calendar over the API: list, add, edit, remove, field errors, 404, 403."""

from __future__ import annotations


def test_holiday_calendar_crud(api_client):
    owner = api_client()
    listed = owner.get("/api/v1/tickets/holidays").json
    assert {"name": "Christmas", "start": "2026-12-25", "end": "2026-12-25",
            "greeting": True} in [{k: h[k] for k in ("name", "start", "end", "greeting")}
                                  for h in listed]
    made = owner.post("/api/v1/tickets/holidays", json={
        "name": "国庆节 Golden Week", "start": "2027-10-01", "end": "2027-10-07"})
    assert made.status_code == 201
    assert (made.json["end"], made.json["greeting"]) == ("2027-10-07", True)
    closed = owner.get("/api/v1/tickets/settings").json["holidays"]
    assert "2027-10-04" in closed
    hid = made.json["id"]
    patched = owner.patch(f"/api/v1/tickets/holidays/{hid}", json={"greeting": False,
                                                                   "end": None})
    assert patched.status_code == 200
    assert (patched.json["greeting"], patched.json["end"]) == (False, "2027-10-01")
    assert owner.delete(f"/api/v1/tickets/holidays/{hid}").status_code == 204
    assert hid not in [h["id"] for h in owner.get("/api/v1/tickets/holidays").json]
    assert owner.delete(f"/api/v1/tickets/holidays/{hid}").status_code == 404


def test_bad_holidays_are_422_naming_the_field(api_client):
    owner = api_client()
    before = owner.get("/api/v1/tickets/holidays").json
    cases = [({"name": "X", "start": "2027-13-01"}, "start"),
             ({"name": "X", "start": "2027-05-03", "end": "2027-05-01"}, "end"),
             ({"name": "Christmas", "start": "2026-12-25"}, "name"),
             ({"start": "2027-05-01"}, "name"),
             ({"name": "X", "start": "2027-05-01", "colour": "red"}, "colour")]
    for body, field in cases:
        resp = owner.post("/api/v1/tickets/holidays", json=body)
        assert resp.status_code == 422 and field in resp.json["errors"], (body, resp.json)
    assert owner.get("/api/v1/tickets/holidays").json == before
    hid = before[0]["id"]
    resp = owner.patch(f"/api/v1/tickets/holidays/{hid}", json={"end": "2000-01-01"})
    assert resp.status_code == 422 and "end" in resp.json["errors"]


def test_other_tenants_holiday_is_404_and_roles_are_checked(api_client):
    mine, theirs = api_client(), api_client()
    theirs_id = theirs.post("/api/v1/tickets/holidays", json={
        "name": "Their day", "start": "2027-06-01"}).json["id"]
    assert mine.patch(f"/api/v1/tickets/holidays/{theirs_id}",
                      json={"name": "Mine now"}).status_code == 404
    assert mine.delete(f"/api/v1/tickets/holidays/{theirs_id}").status_code == 404
    assert "Their day" not in [h["name"] for h in mine.get("/api/v1/tickets/holidays").json]
    # Template holidays (same template, same dates) still have ids of their own tenant.
    their_christmas = next(h["id"] for h in theirs.get("/api/v1/tickets/holidays").json
                           if h["name"] == "Christmas")
    assert their_christmas not in [h["id"] for h in mine.get("/api/v1/tickets/holidays").json]
    assert mine.delete(f"/api/v1/tickets/holidays/{their_christmas}").status_code == 404
    agent = api_client(role="agent", tenant=mine.tenant)
    assert agent.get("/api/v1/tickets/holidays").status_code == 200
    assert agent.post("/api/v1/tickets/holidays", json={"name": "A", "start": "2027-06-01"}
                      ).status_code == 403
    reader = api_client(role="owner", scope="read", tenant=mine.tenant)
    assert reader.post("/api/v1/tickets/holidays", json={"name": "A", "start": "2027-06-01"}
                       ).status_code == 403
