"""Tickets over the API: create, queues, conversation, status, files, settings."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from saas.extensions import db
from saas.models.tickets import Ticket


def _customer(client, name="Li Lei") -> str:
    resp = client.post("/api/v1/customers", json={"name": name,
                                                  "emails": ["li@example.com"]})
    assert resp.status_code == 201, resp.json
    return resp.json["id"]


def _ticket(client, customer_id, **extra) -> dict:
    resp = client.post("/api/v1/tickets", json={"customer_id": customer_id,
                                                "subject": "Late delivery", **extra})
    assert resp.status_code == 201, resp.json
    return resp.json


def test_create_ticket_computes_deadlines_and_channel(api_client):
    owner = api_client()
    ticket = _ticket(owner, _customer(owner), priority="high", type="complaint")
    assert ticket["status"] == "new" and ticket["channel"] == "api"
    assert ticket["first_response_due_at"] and ticket["resolution_due_at"]
    got = owner.get(f"/api/v1/tickets/{ticket['id']}")
    assert got.status_code == 200 and got.json["priority"] == "high"


def test_work_a_ticket_to_resolved(api_client):
    owner = api_client()
    ticket = _ticket(owner, _customer(owner))
    tid = ticket["id"]
    note = owner.post(f"/api/v1/tickets/{tid}/messages", json={"kind": "note",
                                                               "body": "check stock"})
    reply = owner.post(f"/api/v1/tickets/{tid}/messages", json={"kind": "reply",
                                                                "body": "On it"})
    assert note.status_code == reply.status_code == 201
    assert owner.get(f"/api/v1/tickets/{tid}").json["status"] == "open"
    assigned = owner.patch(f"/api/v1/tickets/{tid}", json={"owner_id": str(owner.staff_id)})
    assert assigned.json["owner_id"] == str(owner.staff_id)
    resolved = owner.post(f"/api/v1/tickets/{tid}/status", json={"status": "resolved"})
    assert resolved.status_code == 200 and resolved.json["resolved_at"]
    kinds = [m["kind"] for m in owner.get(f"/api/v1/tickets/{tid}/messages").json]
    assert kinds == ["note", "reply"]


def test_queue_filters(api_client):
    owner = api_client()
    cid = _customer(owner)
    _ticket(owner, cid, owner_id=str(owner.staff_id), subject="mine")
    _ticket(owner, cid, subject="nobody's")
    mine = owner.get("/api/v1/tickets?queue=mine").json["items"]
    assert [t["subject"] for t in mine] == ["mine"]
    unassigned = owner.get("/api/v1/tickets?queue=unassigned").json["items"]
    assert [t["subject"] for t in unassigned] == ["nobody's"]
    assert len(owner.get("/api/v1/tickets?limit=1").json["items"]) == 1
    bad = owner.get("/api/v1/tickets?queue=everything")
    assert bad.status_code == 422 and "queue" in bad.json["errors"]


def test_disallowed_status_change_is_409(api_client):
    owner = api_client()
    tid = _ticket(owner, _customer(owner))["id"]
    assert owner.post(f"/api/v1/tickets/{tid}/status", json={"status": "closed"}).status_code \
        == 200
    resp = owner.post(f"/api/v1/tickets/{tid}/status", json={"status": "open"})
    assert resp.status_code == 409 and "status" in resp.json["errors"]


@pytest.mark.parametrize("body,field", [
    ({"subject": "x"}, "customer_id"),
    ({"subject": "", "customer_id": "00000000-0000-0000-0000-000000000000"}, "subject"),
    ({"subject": "x", "priority": "asap"}, "priority"),
    ({"subject": "x", "colour": "red"}, "colour"),
])
def test_bad_ticket_input_is_422_naming_the_field(api_client, body, field):
    owner = api_client()
    if "customer_id" not in body and field != "customer_id":
        body["customer_id"] = _customer(owner)
    resp = owner.post("/api/v1/tickets", json=body)
    assert resp.status_code == 422 and field in resp.json["errors"]


def test_unknown_cause_is_422(api_client):
    owner = api_client()
    resp = owner.post("/api/v1/tickets", json={"customer_id": _customer(owner),
                                               "subject": "x", "cause": "Aliens"})
    assert resp.status_code == 422 and "cause" in resp.json["errors"]


def test_other_tenants_customer_and_ticket_are_404(app, api_client):
    mine, theirs = api_client(), api_client()
    their_customer = _customer(theirs)
    their_ticket = _ticket(theirs, their_customer)["id"]
    resp = mine.post("/api/v1/tickets", json={"customer_id": their_customer, "subject": "x"})
    assert resp.status_code == 404
    for method, path, kw in [
            ("get", f"/api/v1/tickets/{their_ticket}", {}),
            ("patch", f"/api/v1/tickets/{their_ticket}", {"json": {"priority": "low"}}),
            ("post", f"/api/v1/tickets/{their_ticket}/status", {"json": {"status": "open"}}),
            ("get", f"/api/v1/tickets/{their_ticket}/messages", {}),
            ("post", f"/api/v1/tickets/{their_ticket}/messages",
             {"json": {"kind": "note", "body": "x"}}),
            ("get", f"/api/v1/tickets/{their_ticket}/attachments", {}),
            ("get", f"/api/v1/tickets/{their_ticket}/attachments/{their_ticket}", {}),
            ("get", "/api/v1/tickets/not-a-uuid", {})]:
        assert getattr(mine, method)(path, **kw).status_code == 404, path
    with app.app_context():
        theirs.tenant.bind()
        assert db.session.scalar(select(func.count()).select_from(Ticket)) == 1
        db.session.remove()


def test_readonly_role_cannot_write_and_read_token_cannot_post(api_client):
    owner = api_client()
    cid = _customer(owner)
    readonly = api_client(role="readonly", tenant=owner.tenant)
    assert readonly.get("/api/v1/tickets").status_code == 200
    assert readonly.post("/api/v1/tickets", json={"customer_id": cid, "subject": "x"}
                         ).status_code == 403
    read_token = api_client(role="agent", scope="read", tenant=owner.tenant)
    assert read_token.post("/api/v1/tickets", json={"customer_id": cid, "subject": "x"}
                           ).status_code == 403
    agent = api_client(role="agent", tenant=owner.tenant)
    assert agent.put("/api/v1/tickets/settings", json={}).status_code == 403


def test_attachment_upload_download_and_refusals(api_client, monkeypatch):
    owner = api_client()
    tid = _ticket(owner, _customer(owner))["id"]
    pdf = b"%PDF-1.4\n" + b"x" * 200
    up = owner.post(f"/api/v1/tickets/{tid}/attachments",
                    data={"file": (io.BytesIO(pdf), "receipt.pdf")},
                    content_type="multipart/form-data")
    assert up.status_code == 201 and up.json["content_type"] == "application/pdf"
    down = owner.get(f"/api/v1/tickets/{tid}/attachments/{up.json['id']}")
    assert down.status_code == 200 and down.data == pdf
    exe = owner.post(f"/api/v1/tickets/{tid}/attachments",
                     data={"file": (io.BytesIO(b"MZ\x90\x00rest"), "receipt.pdf")},
                     content_type="multipart/form-data")
    assert exe.status_code == 422 and "file" in exe.json["errors"]
    monkeypatch.setattr("saas.services.tickets.MAX_ATTACHMENT_BYTES", 100)
    big = owner.post(f"/api/v1/tickets/{tid}/attachments",
                     data={"file": (io.BytesIO(pdf), "big.pdf")},
                     content_type="multipart/form-data")
    assert big.status_code == 422 and "file" in big.json["errors"]
    missing = owner.post(f"/api/v1/tickets/{tid}/attachments", data={},
                         content_type="multipart/form-data")
    assert missing.status_code == 422
    assert len(owner.get(f"/api/v1/tickets/{tid}/attachments").json) == 1


def test_settings_round_trip_and_field_errors(api_client):
    owner = api_client()
    current = owner.get("/api/v1/tickets/settings").json
    assert "Delivery" in current["causes"] and current["timezone"] == "Asia/Shanghai"
    assert "2026-10-01" in current["holidays"]          # from the holiday calendar
    assert owner.put("/api/v1/tickets/settings", json={
        k: v for k, v in current.items() if k != "timezone"}).json["errors"] == {
        "holidays": ["Unknown field."]}
    body = {k: v for k, v in current.items() if k not in ("timezone", "holidays")}
    body["causes"] = ["Late", "Broken"]
    body["working_hours"] = ["08:00", "20:00"]
    saved = owner.put("/api/v1/tickets/settings", json=body)
    assert saved.status_code == 200 and saved.json["causes"] == ["Late", "Broken"]
    assert saved.json["working_hours"] == ["08:00", "20:00"]
    body["working_hours"] = ["20:00", "08:00"]
    bad = owner.put("/api/v1/tickets/settings", json=body)
    assert bad.status_code == 422 and "working_hours" in bad.json["errors"]
    assert owner.get("/api/v1/tickets/settings").json["working_hours"] == ["08:00", "20:00"]


def test_analysis_api(api_client):
    owner = api_client()
    resp = owner.get("/api/v1/tickets/analysis?since=2026-01-01&until=2026-12-31")
    assert resp.status_code == 200 and resp.json["pareto"] == []
    assert owner.get("/api/v1/tickets/analysis?since=2026-12-31&until=2026-01-01"
                     ).status_code == 422
    agent = api_client(role="agent", tenant=owner.tenant)
    assert agent.get("/api/v1/tickets/analysis").status_code == 403
    weekly = owner.get("/api/v1/tickets/analysis?since=2026-11-02&until=2026-11-15"
                       "&bucket=week")
    assert weekly.status_code == 200
    assert weekly.json["trend"] == {"periods": ["2026-W45", "2026-W46"], "series": []}
    bad = owner.get("/api/v1/tickets/analysis?bucket=year")
    assert bad.status_code == 422 and "bucket" in bad.json["errors"]
