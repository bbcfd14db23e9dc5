"""Consent is honoured by every channel send (issue 11), here the two sends that are not
campaigns or care messages: a ticket reply and a survey invitation. Mail goes to a real
SMTP server (aiosmtpd); the customer who withdrew gets nothing, the one who did not gets
the mail, so the refusal is not a broken channel."""

from __future__ import annotations

from sqlalchemy import select

from saas.extensions import db
from saas.models.plugins import Delivery
from saas.models.surveys import SurveyInvitation
from saas.services import consent, surveys
from saas.services import customers as customer_service
from saas.services import tickets as ticket_service
from tests.hooks.support import configure
from tests.plugins.servers import smtp_server

EMAIL = {"host": "127.0.0.1", "security": "none", "from_address": "care@shop.example.com"}


def _customers(actor) -> dict[str, object]:
    people = {}
    for name in ("kept", "withdrew"):
        people[name] = customer_service.create_customer(db.session, actor, {
            "name": name, "emails": [f"{name}@example.com"],
            "consent": {"email": {"status": "granted", "source": "shop"}}})
    consent.change(db.session, actor, people["withdrew"].id, "email", "withdrawn")
    db.session.commit()
    return people


def test_a_ticket_reply_is_kept_but_not_mailed_after_consent_is_withdrawn(app, make_tenant):
    tenant = make_tenant()
    with smtp_server("none") as (port, box):
        configure(app, tenant, "email", {**EMAIL, "port": port})
        with app.app_context():
            tenant.bind()
            actor = tenant.owner_actor()
            status = {}
            for name, customer in _customers(actor).items():
                ticket = ticket_service.create_ticket(db.session, actor, {
                    "customer_id": customer.id, "subject": f"Kettle {name}",
                    "channel": "email"})
                reply = ticket_service.add_message(db.session, actor, ticket.id, "reply",
                                                   f"Answer for {name}")
                db.session.commit()
                status[name] = reply.delivery_status
            targets = [d.payload.get("to") for d in db.session.scalars(select(Delivery))]
            db.session.remove()
    assert status["withdrew"] == "not sent: consent withdrawn"
    assert status["kept"].startswith("queued")
    assert targets == ["kept@example.com"]
    assert [m["To"] for m in box.messages] == ["kept@example.com"]


def test_a_survey_invitation_is_not_mailed_after_consent_is_withdrawn(app, make_tenant):
    tenant = make_tenant()
    with smtp_server("none") as (port, box):
        configure(app, tenant, "email", {**EMAIL, "port": port})
        with app.app_context():
            tenant.bind()
            actor = tenant.owner_actor()
            survey = surveys.create_survey(db.session, actor, {
                "name": "After your ticket", "kind": "csat", "trigger": "ticket.resolved",
                "channel": "email"})
            people = _customers(actor)
            for customer in people.values():
                ticket = ticket_service.create_ticket(db.session, actor, {
                    "customer_id": customer.id, "subject": "Help", "channel": "web"})
                db.session.commit()
                for step in ("open", "resolved"):
                    ticket_service.change_status(db.session, actor, ticket.id, step)
                    db.session.commit()
            sent = {str(i.customer_id): i.sent_at is not None for i in db.session.scalars(
                select(SurveyInvitation).where(SurveyInvitation.survey_id == survey.id))}
            ids = {name: str(c.id) for name, c in people.items()}
            db.session.remove()
    assert sent == {ids["kept"]: True, ids["withdrew"]: False}, "both invited, one mailed"
    assert [m["To"] for m in box.messages] == ["kept@example.com"]
