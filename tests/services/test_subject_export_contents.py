"""A subject access export holds what later issues keep about the customer too (issue 11:
tickets, points, survey answers, consent history, deliveries), each table as JSON and as
CSV, and nothing of another customer."""

from __future__ import annotations

import csv
import io
import json
import zipfile

from saas.extensions import db
from saas.services import consent, loyalty, subject_requests, surveys
from saas.services import customers as customer_service
from saas.services import tickets as ticket_service
from tests.hooks.support import mailing

QUESTIONS = [{"id": "q1", "text": "Score?", "kind": "csat"},
             {"id": "q2", "text": "Why?", "kind": "text"}]


def _life(actor, name: str) -> str:
    """One customer with a ticket and its mailed reply, points, a survey answer and a
    consent change; returns the customer id."""
    customer = customer_service.create_customer(db.session, actor, {
        "name": name, "emails": [f"{name.lower()}@example.com"],
        "consent": {"email": {"status": "granted", "source": "shop"}}})
    ticket = ticket_service.create_ticket(db.session, actor, {
        "customer_id": customer.id, "subject": f"Kettle of {name}", "channel": "email"})
    ticket_service.add_message(db.session, actor, ticket.id, "reply", "A new one is coming")
    db.session.commit()  # the reply is mailed after this commit
    loyalty.adjust(db.session, actor, customer.id, 10, f"Goodwill {name}")
    survey = surveys.create_survey(db.session, actor, {
        "name": f"Feedback {name}", "kind": "csat", "questions": QUESTIONS})
    invitation = surveys.invite(db.session, survey.id, customer.id, "manual", name)
    surveys.answer(db.session, invitation.token, {"q1": 5, "q2": f"Fine, says {name}"})
    consent.change(db.session, actor, customer.id, "sms", "withdrawn", "api")
    db.session.commit()
    return str(customer.id)


def test_export_holds_tickets_points_survey_answers_consent_and_deliveries(app,
                                                                           make_tenant):
    tenant = make_tenant()
    with mailing(app, tenant) as box, app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        ann, _bo = _life(actor, "Ann"), _life(actor, "Bo")
        data = subject_requests.export_customer(db.session, actor, ann)
        db.session.commit()
        db.session.remove()
    assert len(box.messages) == 2
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        tables = json.loads(archive.read("everything.json"))["tables"]
        csvs = {name: list(csv.DictReader(io.StringIO(
                    archive.read(name).decode("utf-8-sig"))))
                for name in archive.namelist() if name.endswith(".csv")}
    assert [t["subject"] for t in tables["tickets"]] == ["Kettle of Ann"]
    assert "Goodwill Ann" in [e["reason"] for e in tables["points_entries"]]
    assert [a["answers"]["q2"] for a in tables["survey_answers"]] == ["Fine, says Ann"]
    assert {(e["channel"], e["status"]) for e in tables["consent_events"]} == {
        ("email", "granted"), ("sms", "withdrawn")}
    assert [d["payload"]["to"] for d in tables["deliveries"]] == ["ann@example.com"]
    for name in ("tickets", "points_entries", "survey_answers", "consent_events",
                 "deliveries"):
        assert len(csvs[f"{name}.csv"]) == len(tables[name]), name
    everything = json.dumps(tables, ensure_ascii=False)
    for other in ("bo@example.com", "Kettle of Bo", "Goodwill Bo", "says Bo"):
        assert other not in everything


def _tables(data: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return json.loads(archive.read("everything.json"))["tables"]


def test_export_follows_tickets_to_their_messages_and_attachment_metadata(app, make_tenant,
                                                                         tmp_path):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        ids = {}
        for name in ("Ann", "Bo"):
            customer = customer_service.create_customer(db.session, actor, {"name": name})
            ticket = ticket_service.create_ticket(db.session, actor, {
                "customer_id": customer.id, "subject": f"Kettle of {name}",
                "channel": "web"})
            ticket_service.add_message(db.session, actor, ticket.id, "note",
                                       f"{name} called twice")
            ticket_service.add_attachment(db.session, actor, ticket.id,
                                          f"receipt-{name}.pdf", b"%PDF-1.4 receipt",
                                          tmp_path)
            ids[name] = customer.id
        db.session.commit()
        tables = _tables(subject_requests.export_customer(db.session, actor, ids["Ann"]))
        db.session.remove()
    assert [m["body"] for m in tables["ticket_messages"]] == ["Ann called twice"]
    [attachment] = tables["ticket_attachments"]
    assert attachment["filename"] == "receipt-Ann.pdf"
    assert attachment["content_type"] == "application/pdf"
    assert "Bo" not in json.dumps(tables, ensure_ascii=False)


def test_export_holds_the_customers_visits(app, make_tenant):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    import time_machine

    from saas.services import tiers, visits

    tenant = make_tenant()  # retail template: tier A is visited by phone every 90 days
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        tier_a = next(t for t in tiers.list_tiers(db.session) if t.name == "A")
        ids = {}
        for name in ("Ann", "Bo"):
            customer = customer_service.create_customer(db.session, actor, {
                "name": name, "owner_id": str(actor.staff_id)})
            tiers.override(db.session, actor, customer.id, tier_a.id, None)
            ids[name] = customer.id
        with time_machine.travel(datetime(2026, 11, 24, 15, 0,
                                          tzinfo=ZoneInfo("Asia/Shanghai")), tick=False):
            visits.generate(db.session)
            for task in visits.my_visits(db.session, actor.staff_id)["today"]:
                who = "Ann" if task.customer_id == ids["Ann"] else "Bo"
                visits.record_visit(db.session, actor, task.id, {
                    "outcome": f"{who} liked the tea", "rating": 4})
        db.session.commit()
        tables = _tables(subject_requests.export_customer(db.session, actor, ids["Ann"]))
        db.session.remove()
    [task] = tables["visit_tasks"]
    assert task["status"] == "done" and task["rating"] == 4
    assert "Ann liked the tea" in json.dumps(tables, ensure_ascii=False)
    assert "Bo liked" not in json.dumps(tables, ensure_ascii=False)
