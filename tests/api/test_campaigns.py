"""Campaign and survey API: create, launch, progress, results, errors per field."""

from __future__ import annotations

import pytest

from saas.extensions import db
from saas.services import customers
from tests.hooks.support import GOOD_SETTINGS, EchoPlugin, configure, registered


@pytest.fixture
def echo(app):
    with registered(app, EchoPlugin(), "echo") as plugin:
        yield plugin


@pytest.fixture
def owner(app, api_client, echo):
    client = api_client("owner")
    configure(app, client.tenant, "echo", GOOD_SETTINGS)
    with app.app_context():
        client.tenant.bind()
        actor = client.tenant.owner_actor()
        for i in range(3):
            customers.create_customer(db.session, actor, {"name": f"C{i}", "tags": ["vip"]})
        db.session.commit()
        db.session.remove()
    seg = client.post("/api/v1/segments", json={"name": "VIP",
                                                "rule": {"all": [{"tag": "vip"}]}})
    assert seg.status_code == 201, seg.json
    client.segment_id = seg.json["id"]
    return client


def _body(client, **extra):
    return {"name": "Spring", "segment_id": client.segment_id, "channel": "echo",
            "variants": [{"name": "A", "body": "Hi {{ customer.name }}"}], **extra}


def test_create_launch_and_follow_a_campaign(owner, echo):
    created = owner.post("/api/v1/campaigns", json=_body(owner))
    assert created.status_code == 201, created.json
    cid = created.json["id"]
    assert created.json["variants"][0]["split_percent"] == 100
    launched = owner.post(f"/api/v1/campaigns/{cid}/launch", json={})
    assert launched.status_code == 200 and launched.json["audience_size"] == 3
    prog = owner.get(f"/api/v1/campaigns/{cid}/progress").json
    assert prog["sent"] == 3 and prog["percent"] == 100 and prog["status"] == "completed"
    res = owner.get(f"/api/v1/campaigns/{cid}/results").json
    assert res["variants"]["A"]["sent"] == 3
    csv = owner.get(f"/api/v1/campaigns/{cid}/results.csv")
    assert csv.status_code == 200 and b"variant,audience,sent" in csv.data
    assert sorted(m.body for m in echo.sent) == ["Hi C0", "Hi C1", "Hi C2"]
    again = owner.post(f"/api/v1/campaigns/{cid}/launch", json={})
    assert again.status_code == 409
    assert owner.post(f"/api/v1/campaigns/{cid}/pause").status_code == 409


def test_template_and_field_errors_are_422_naming_the_field(owner):
    resp = owner.post("/api/v1/campaigns", json=_body(owner, variants=[
        {"name": "A", "body": "Hi\n{% if %}"}], quiet_start="99:00"))
    assert resp.status_code == 422
    assert resp.json["errors"]["variants.0.body"][0].startswith("Line 2")
    assert "quiet_start" in resp.json["errors"]
    resp = owner.post("/api/v1/campaigns", json={**_body(owner), "colour": "red"})
    assert resp.status_code == 422 and "colour" in resp.json["errors"]


def test_other_tenants_campaign_is_404_and_agents_are_403(owner, api_client):
    cid = owner.post("/api/v1/campaigns", json=_body(owner)).json["id"]
    stranger = api_client("owner")
    for path in ("", "/progress", "/results"):
        assert stranger.get(f"/api/v1/campaigns/{cid}{path}").status_code == 404
    assert stranger.post(f"/api/v1/campaigns/{cid}/launch", json={}).status_code == 404
    agent = api_client("agent", tenant=owner.tenant)
    assert agent.get("/api/v1/campaigns").status_code == 403
    reader = api_client("owner", scope="read", tenant=owner.tenant)
    assert reader.post("/api/v1/campaigns", json=_body(owner)).status_code == 403


def test_surveys_api_creates_invites_and_reports(owner, api_client):
    created = owner.post("/api/v1/surveys", json={"name": "NPS", "kind": "nps"})
    assert created.status_code == 201, created.json
    sid = created.json["id"]
    bad = owner.post("/api/v1/surveys", json={"name": "X", "questions": [
        {"text": "", "kind": "stars"}]})
    assert bad.status_code == 422
    assert {"questions.0.text", "questions.0.kind"} <= set(bad.json["errors"])
    customer = owner.get("/api/v1/customers").json["items"][0]["id"]
    inv = owner.post(f"/api/v1/surveys/{sid}/invitations", json={"customer_id": customer})
    assert inv.status_code == 201 and "/s/" in inv.json["url"]
    res = owner.get(f"/api/v1/surveys/{sid}/results")
    assert res.status_code == 200 and res.json["answers"] == 0
    stranger = api_client("owner")
    assert stranger.get(f"/api/v1/surveys/{sid}").status_code == 404
    assert stranger.post(f"/api/v1/surveys/{sid}/invitations",
                         json={"customer_id": customer}).status_code == 404


def test_template_surveys_are_installed_once_with_their_dimensions(owner):
    first = owner.post("/api/v1/surveys/from-template")
    assert first.status_code == 201
    by_name = {s["name"]: s for s in first.json}
    assert {q["dimension"] for q in by_name["售后满意度 / After-sales CSAT"]["questions"]} == {
        "overall", "response_speed", "problem_solved"}
    assert owner.post("/api/v1/surveys/from-template").json == []


def test_survey_patch_changes_given_fields_only_and_names_bad_ones(owner, api_client):
    sid = owner.post("/api/v1/surveys", json={"name": "After visit", "kind": "csat"}).json["id"]
    other = owner.post("/api/v1/surveys", json={"name": "NPS", "kind": "nps"}).json["id"]

    changed = owner.patch(f"/api/v1/surveys/{sid}", json={"name": "After the visit",
                                                          "expiry_days": 7})
    assert changed.status_code == 200, changed.json
    assert (changed.json["name"], changed.json["expiry_days"], changed.json["kind"]) == \
        ("After the visit", 7, "csat")
    assert owner.get(f"/api/v1/surveys/{sid}").json["name"] == "After the visit"

    clash = owner.patch(f"/api/v1/surveys/{other}", json={"name": "After the visit"})
    assert clash.status_code == 422 and "name" in clash.json["errors"]
    unknown = owner.patch(f"/api/v1/surveys/{sid}", json={"colour": "red"})
    assert unknown.status_code == 422 and "colour" in unknown.json["errors"]
    assert owner.get(f"/api/v1/surveys/{other}").json["name"] == "NPS"

    stranger = api_client("owner")
    assert stranger.patch(f"/api/v1/surveys/{sid}", json={"name": "x"}).status_code == 404
    agent = api_client("agent", tenant=owner.tenant)
    assert agent.patch(f"/api/v1/surveys/{sid}", json={"name": "x"}).status_code == 403
