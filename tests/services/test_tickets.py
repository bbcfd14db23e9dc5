"""Tickets: deadlines from the tenant's SLA, transitions, pauses, escalation, inbound."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from saas.extensions import db
from saas.hooks.types import InboundMessage
from saas.models import AuditEntry, OutboxEvent, Staff
from saas.models.tickets import Ticket, TicketAttachment, TicketMessage
from saas.services import customers, tickets
from saas.services.errors import Conflict, InvalidInput, NotFound
from saas.timeline import timeline
from tests.api.conftest import add_staff

SH = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
# Retail template: Monday-Saturday 09:00-21:00; normal = 8 h / 48 h, high = 2 h / 24 h.
TUESDAY_10 = datetime(2026, 11, 24, 10, 0, tzinfo=SH)


@pytest.fixture
def world(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        customer = customers.create_customer(db.session, actor, {
            "name": "王芳", "emails": ["fang@example.com"], "phones": ["13800138000"]})
        db.session.commit()
        yield tenant, actor, customer
        db.session.rollback()
        db.session.remove()


def _open(actor, customer, **extra) -> Ticket:
    return tickets.create_ticket(db.session, actor, {"customer_id": customer.id,
                                                     "subject": "Broken kettle", **extra})


def test_new_ticket_gets_deadlines_in_business_hours(world):
    _t, actor, customer = world
    with time_machine.travel(TUESDAY_10, tick=False):
        ticket = _open(actor, customer)
        db.session.commit()
    assert ticket.status == "new"
    assert ticket.first_response_due_at == datetime(2026, 11, 24, 18, 0, tzinfo=SH)
    # 11 h Tuesday + 12 h Wed/Thu/Fri = 47 h by Friday 21:00, then 1 h on Saturday.
    assert ticket.resolution_due_at == datetime(2026, 11, 28, 10, 0, tzinfo=SH)
    assert db.session.scalar(select(func.count()).select_from(OutboxEvent).where(
        OutboxEvent.name == "ticket.created")) == 1


def test_priority_change_recomputes_deadlines(world):
    _t, actor, customer = world
    with time_machine.travel(TUESDAY_10, tick=False):
        ticket = _open(actor, customer)
        tickets.update_ticket(db.session, actor, ticket.id, {"priority": "high"})
        db.session.commit()
    assert ticket.first_response_due_at == datetime(2026, 11, 24, 12, 0, tzinfo=SH)
    assert ticket.resolution_due_at == datetime(2026, 11, 26, 10, 0, tzinfo=SH)
    audit = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "ticket.updated")).one()
    assert audit.changes["priority"] == ["normal", "high"]


def test_deadline_on_a_tenant_holiday_moves_past_it(world):
    _t, actor, customer = world
    # Christmas 2026 (Friday) is a holiday of the retail template.
    with time_machine.travel(datetime(2026, 12, 24, 20, 0, tzinfo=SH), tick=False):
        ticket = _open(actor, customer, priority="high")
    # 1 h on Thursday evening, Friday is a holiday, 1 h on Saturday morning.
    assert ticket.first_response_due_at == datetime(2026, 12, 26, 10, 0, tzinfo=SH)


def test_edited_sla_policy_and_holidays_apply_to_new_tickets(world):
    from saas.services import holidays

    _t, actor, customer = world
    tickets.set_sla_policy(db.session, actor, {
        "working_days": [1, 2, 3, 4, 5], "working_hours": ["09:00", "17:00"],
        "priorities": {p: {"first_response_hours": 1, "resolution_hours": 8}
                       for p in ("low", "normal", "high", "urgent")}})
    holidays.add_holiday(db.session, actor, {"name": "Company day", "start": "2026-11-25",
                                             "greeting": False})
    with time_machine.travel(datetime(2026, 11, 24, 16, 30, tzinfo=SH), tick=False):
        ticket = _open(actor, customer)
    assert ticket.first_response_due_at == datetime(2026, 11, 26, 9, 30, tzinfo=SH)


def test_invalid_sla_policy_changes_nothing(world):
    tenant, actor, _c = world
    with pytest.raises(InvalidInput) as exc:
        tickets.set_sla_policy(db.session, actor, {"working_days": [], "working_hours": [],
                                                   "priorities": {}})
    assert {"working_days", "working_hours"} <= set(exc.value.errors)
    assert "sla" not in (customers.bound_tenant(db.session).settings or {})


def test_berlin_deadline_across_the_dst_change(app, make_tenant):
    tenant = make_tenant(tz="Europe/Berlin")
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        customer = customers.create_customer(db.session, actor, {"name": "Anna"})
        # Saturday 24 Oct 2026 20:00 CEST; clocks go back that night.
        with time_machine.travel(datetime(2026, 10, 24, 20, 0, tzinfo=BERLIN), tick=False):
            ticket = _open(actor, customer)   # normal: 8 h first response
        # 1 h Saturday, Sunday closed, Monday 09:00 (CET) + 7 h = 16:00 CET = 15:00 UTC.
        assert ticket.first_response_due_at == datetime(2026, 10, 26, 16, 0, tzinfo=BERLIN)
        assert ticket.first_response_due_at.utcoffset() == timedelta(0)
        assert ticket.first_response_due_at.hour == 15
        db.session.rollback()


def test_pending_customer_time_pauses_the_clock(world):
    _t, actor, customer = world
    with time_machine.travel(TUESDAY_10, tick=False):
        ticket = _open(actor, customer)
        tickets.add_message(db.session, actor, ticket.id, "reply", "Could you send a photo?")
        tickets.change_status(db.session, actor, ticket.id, "pending_customer")
    due = ticket.resolution_due_at
    # Waiting overnight: Tuesday 10:00 -> Wednesday 10:00 is 12 business hours.
    with time_machine.travel(TUESDAY_10 + timedelta(days=1), tick=False):
        tickets.change_status(db.session, actor, ticket.id, "open")
    assert ticket.resolution_due_at == datetime(2026, 11, 30, 10, 0, tzinfo=SH)
    assert ticket.resolution_due_at > due
    assert ticket.paused_since is None


def test_pending_tickets_are_not_overdue_or_escalated(world):
    _t, actor, customer = world
    with time_machine.travel(TUESDAY_10, tick=False):
        ticket = _open(actor, customer)
        tickets.add_message(db.session, actor, ticket.id, "reply", "Photo please")
        tickets.change_status(db.session, actor, ticket.id, "pending_customer")
        db.session.commit()
    with time_machine.travel(TUESDAY_10 + timedelta(days=30), tick=False):
        assert tickets.escalate_overdue(db.session) == []
        assert not tickets.is_overdue(ticket)


def test_disallowed_transition_is_a_conflict(world):
    _t, actor, customer = world
    ticket = _open(actor, customer)
    tickets.change_status(db.session, actor, ticket.id, "closed")
    with pytest.raises(Conflict) as exc:
        tickets.change_status(db.session, actor, ticket.id, "open")
    assert "status" in exc.value.errors
    with pytest.raises(InvalidInput):
        tickets.change_status(db.session, actor, ticket.id, "done")


def test_reopening_a_resolved_ticket_counts_and_restarts_resolution(world):
    _t, actor, customer = world
    ticket = _open(actor, customer)
    tickets.change_status(db.session, actor, ticket.id, "resolved")
    assert ticket.resolved_at is not None
    tickets.change_status(db.session, actor, ticket.id, "reopened")
    assert (ticket.status, ticket.reopen_count, ticket.resolved_at) == ("reopened", 1, None)
    names = [e.name for e in db.session.scalars(select(OutboxEvent).where(
        OutboxEvent.entity_type == "ticket"))]
    assert "ticket.resolved" in names


def test_first_reply_sets_first_response_and_opens(world):
    _t, actor, customer = world
    ticket = _open(actor, customer)
    note = tickets.add_message(db.session, actor, ticket.id, "note", "Internal: check stock")
    assert ticket.first_responded_at is None and note.delivery_status is None
    reply = tickets.add_message(db.session, actor, ticket.id, "reply", "We are on it")
    assert ticket.first_responded_at is not None and ticket.status == "open"
    # Staff channel "web" has no plugin: the reply is kept and says why nothing was sent.
    assert reply.delivery_status.startswith("not sent")


def test_ticket_for_another_tenants_customer_is_not_found(world, make_tenant, app):
    _t, actor, _customer = world
    other = make_tenant()
    other.bind()
    stranger_id = customers.create_customer(db.session, other.owner_actor(), {"name": "X"}).id
    db.session.commit()
    _t.bind()
    with pytest.raises(NotFound):
        tickets.create_ticket(db.session, actor, {"customer_id": stranger_id,
                                                  "subject": "Hi"})
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_bad_ticket_input_names_every_field(world):
    _t, actor, customer = world
    with pytest.raises(InvalidInput) as exc:
        tickets.create_ticket(db.session, actor, {
            "customer_id": customer.id, "subject": "", "priority": "asap",
            "type": "rant", "cause": "Aliens", "owner_id": "nobody", "colour": "red"})
    assert set(exc.value.errors) == {"subject", "priority", "type", "cause", "owner_id",
                                     "colour"}
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_cause_categories_are_tenant_editable(world):
    _t, actor, customer = world
    tickets.set_causes(db.session, actor, ["Late delivery", "Rude staff"])
    ticket = _open(actor, customer, cause="Late delivery")
    assert ticket.cause == "Late delivery"
    with pytest.raises(InvalidInput):
        _open(actor, customer, cause="Billing")
    with pytest.raises(InvalidInput):
        tickets.set_causes(db.session, actor, [])


def test_overdue_ticket_is_escalated_exactly_once_per_breach(world, app):
    tenant, actor, customer = world
    agent_id = add_staff(tenant, "agent")
    manager_id = add_staff(tenant, "manager")
    tenant.bind()
    db.session.get(Staff, (tenant.id, agent_id)).manager_id = manager_id
    db.session.commit()
    with time_machine.travel(TUESDAY_10, tick=False):
        ticket = _open(actor, customer, owner_id=agent_id)
        db.session.commit()
        ticket_id = ticket.id
    with time_machine.travel(datetime(2026, 11, 24, 19, 0, tzinfo=SH), tick=False):
        first = tickets.escalate_overdue(db.session)
        db.session.commit()
        again = tickets.escalate_overdue(db.session)
        db.session.commit()
    assert [(e.breach, e.priority, e.notified_id) for e in first] == [
        ("first_response", "high", manager_id)]
    assert again == []
    db.session.expire_all()
    ticket = tickets.get_ticket(db.session, ticket_id)
    assert ticket.priority == "high" and str(manager_id) in ticket.watchers
    assert ticket.owner_id == agent_id
    # Much later the resolution deadline breaches too: a second, separate escalation.
    with time_machine.travel(datetime(2026, 12, 10, 12, 0, tzinfo=SH), tick=False):
        later = tickets.escalate_overdue(db.session)
        db.session.commit()
        assert tickets.escalate_overdue(db.session) == []
    assert [e.breach for e in later] == ["resolution"]
    events = db.session.scalars(select(OutboxEvent).where(
        OutboxEvent.name == "ticket.escalated")).all()
    assert len(events) == 2


def test_escalating_an_unowned_ticket_assigns_a_manager(world):
    tenant, actor, customer = world
    manager_id = add_staff(tenant, "manager")
    tenant.bind()
    with time_machine.travel(TUESDAY_10, tick=False):
        ticket = _open(actor, customer)
        db.session.commit()
    with time_machine.travel(TUESDAY_10 + timedelta(days=1), tick=False):
        [escalation] = tickets.escalate_overdue(db.session)
    assert escalation.notified_id == manager_id
    assert tickets.get_ticket(db.session, ticket.id).owner_id == manager_id


def test_queues_mine_team_overdue_and_due_soon(world):
    tenant, actor, customer = world
    agent_id = add_staff(tenant, "agent")
    tenant.bind()
    db.session.get(Staff, (tenant.id, agent_id)).manager_id = tenant.owner_id
    with time_machine.travel(TUESDAY_10, tick=False):
        mine = _open(actor, customer, owner_id=tenant.owner_id, subject="mine")
        theirs = _open(actor, customer, owner_id=agent_id, subject="theirs",
                       priority="urgent")
        db.session.commit()

        def subjects(queue):
            return sorted(t.subject for t in db.session.scalars(
                tickets.query(db.session, actor, queue=queue)))

        assert subjects("mine") == ["mine"]
        assert subjects("team") == ["mine", "theirs"]
        assert subjects("due_soon") == ["theirs"]   # urgent: 30 min to first response
        assert subjects("overdue") == []
    with time_machine.travel(TUESDAY_10 + timedelta(hours=1), tick=False):
        assert [t.id for t in db.session.scalars(
            tickets.query(db.session, actor, queue="overdue"))] == [theirs.id]
    assert mine.id != theirs.id
    with pytest.raises(InvalidInput):
        tickets.query(db.session, actor, queue="everything")


def test_inbound_message_from_known_email_opens_then_continues_a_ticket(world):
    _t, actor, customer = world
    first = tickets.receive(db.session, InboundMessage(
        channel="email", sender="Fang@Example.com", subject="Refund?", body="Where is it?"))
    assert first is not None and first.customer_id == customer.id
    assert (first.subject, first.channel) == ("Refund?", "email")
    tickets.add_message(db.session, actor, first.id, "reply", "Checking")
    tickets.change_status(db.session, actor, first.id, "pending_customer")
    second = tickets.receive(db.session, InboundMessage(
        channel="email", sender="fang@example.com", body="Here is the receipt"))
    assert second.id == first.id and second.status == "open"
    inbound = [m for m in tickets.messages(db.session, first) if m.kind == "inbound"]
    assert [m.body for m in inbound] == ["Here is the receipt"]


def test_inbound_sms_from_unknown_number_is_left_alone(world):
    assert tickets.receive(db.session, InboundMessage(
        channel="sms", sender="+8613900000000", body="hi")) is None
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_inbound_sms_from_known_phone_opens_a_ticket(world):
    _t, _actor, customer = world
    ticket = tickets.receive(db.session, InboundMessage(
        channel="sms", sender="+86 138 0013 8000", body="Kettle leaks\nplease help"))
    assert ticket.customer_id == customer.id and ticket.subject == "Kettle leaks"


def test_attachment_is_sniffed_and_stored_by_tenant(world, tmp_path):
    tenant, actor, customer = world
    ticket = _open(actor, customer)
    att = tickets.add_attachment(db.session, actor, ticket.id, "../photo.png",
                                 b"\x89PNG\r\n\x1a\n" + b"0" * 100, tmp_path)
    assert (att.filename, att.content_type, att.size) == ("photo.png", "image/png", 108)
    path = tickets.attachment_path(tmp_path, att)
    assert path.read_bytes().startswith(b"\x89PNG")
    assert str(tenant.id) in str(path)


@pytest.mark.parametrize("name,content", [
    ("invoice.pdf", b"MZ\x90\x00" + b"\x00" * 50),        # a Windows executable in disguise
    ("run.txt", b"\x7fELF\x02\x01\x01" + b"\x00" * 50),   # a Linux executable
    ("setup.exe", b"plain text"),                          # executable by name
    ("blob.bin", b"\x00\x01\x02\xff\xfe"),                # unknown binary
    ("empty.txt", b""),
])
def test_executable_or_unknown_attachment_is_refused(world, tmp_path, name, content):
    _t, actor, customer = world
    ticket = _open(actor, customer)
    with pytest.raises(InvalidInput) as exc:
        tickets.add_attachment(db.session, actor, ticket.id, name, content, tmp_path)
    assert "file" in exc.value.errors
    assert db.session.scalar(select(func.count()).select_from(TicketAttachment)) == 0
    assert not any(tmp_path.rglob("*.*"))


def test_too_big_attachment_is_refused(world, tmp_path, monkeypatch):
    _t, actor, customer = world
    monkeypatch.setattr(tickets, "MAX_ATTACHMENT_BYTES", 1000)
    ticket = _open(actor, customer)
    with pytest.raises(InvalidInput) as exc:
        tickets.add_attachment(db.session, actor, ticket.id, "a.txt", b"a" * 1001, tmp_path)
    assert "larger" in exc.value.errors["file"][0]


def test_tickets_appear_on_the_customer_timeline(world):
    _t, actor, customer = world
    ticket = _open(actor, customer, description="It leaks")
    items = [i for i in timeline(db.session, customer.id) if i.kind == "ticket"]
    assert [(i.entity_id, i.title, i.data["status"]) for i in items] == [
        (str(ticket.id), "Broken kettle", "new")]


def test_closed_ticket_takes_no_replies(world):
    _t, actor, customer = world
    ticket = _open(actor, customer)
    tickets.change_status(db.session, actor, ticket.id, "closed")
    with pytest.raises(Conflict):
        tickets.add_message(db.session, actor, ticket.id, "reply", "late")
    assert db.session.scalar(select(func.count()).select_from(TicketMessage)) == 0
