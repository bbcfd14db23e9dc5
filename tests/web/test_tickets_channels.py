"""Tickets through real channels: an inbound SMS from the SMS plugin's endpoint opens a
ticket, and a staff reply on an email ticket reaches a real SMTP server (aiosmtpd)."""

from __future__ import annotations

from sqlalchemy import select

from saas.extensions import db
from saas.models.tickets import Ticket, TicketMessage
from saas.services import customers
from saas.services import tickets as ticket_service
from tests.hooks.support import configure, mailing


def _customer(app, tenant, **data) -> None:
    with app.app_context():
        tenant.bind()
        customers.create_customer(db.session, tenant.owner_actor(), data)
        db.session.commit()
        db.session.remove()


def test_inbound_sms_from_a_known_customer_opens_then_continues_a_ticket(app, client,
                                                                          make_tenant):
    tenant = make_tenant()
    _customer(app, tenant, name="Han Meimei", phones=["13800138000"])
    configure(app, tenant, "sms", {"gateway_url": "http://127.0.0.1:9/send",
                                   "auth_token": "inbound-token-123"})
    url = f"/t/{tenant.slug}/ext/sms/inbound"
    headers = {"Authorization": "Bearer inbound-token-123"}
    first = client.post(url, json={"from": "+8613800138000", "text": "Kettle leaks"},
                        headers=headers)
    assert first.status_code == 202 and first.json["ref"].startswith("ticket:")
    second = client.post(url, json={"from": "+8613800138000", "text": "Photo attached"},
                         headers=headers)
    assert second.json["ref"] == first.json["ref"]
    stranger = client.post(url, json={"from": "+8613900000001", "text": "hi"},
                           headers=headers)
    assert stranger.status_code == 202 and stranger.json["ref"] is None
    with app.app_context():
        tenant.bind()
        [ticket] = db.session.scalars(select(Ticket)).all()
        assert (ticket.subject, ticket.channel, ticket.status) == ("Kettle leaks", "sms", "new")
        bodies = [m.body for m in db.session.scalars(select(TicketMessage))]
        assert bodies == ["Photo attached"]
        db.session.remove()


def test_reply_on_an_email_ticket_is_mailed_to_the_customer(app, make_tenant):
    tenant = make_tenant()
    _customer(app, tenant, name="Li Lei", emails=["li.lei@example.com"])
    with mailing(app, tenant) as box, app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        customer = customers.find_by_email(db.session, "li.lei@example.com")[0]
        ticket = ticket_service.create_ticket(db.session, actor, {
            "customer_id": customer.id, "subject": "Refund", "channel": "email"})
        note = ticket_service.add_message(db.session, actor, ticket.id, "note",
                                          "Internal only")
        reply = ticket_service.add_message(db.session, actor, ticket.id, "reply",
                                           "Your refund is on its way.")
        db.session.commit()
        assert reply.delivery_status.startswith("queued")
        assert note.delivery_status is None
        db.session.remove()
    assert len(box.messages) == 1
    mail = box.messages[0]
    assert mail["To"] == "li.lei@example.com" and mail["Subject"] == "Re: Refund"
    assert "Your refund is on its way." in mail.get_body().get_content()
    assert "Internal only" not in mail.as_string()
