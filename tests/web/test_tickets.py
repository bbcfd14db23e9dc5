"""Service-desk pages: queues, opening a ticket, conversation, status, files, settings,
permissions and other tenants' ids."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from saas.extensions import db
from saas.models.tickets import Ticket, TicketAttachment, TicketMessage
from saas.services import customers
from saas.services import tickets as ticket_service
from tests.web.helpers import field_errors, login, login_as


def _customer(app, tenant, name="Li Lei"):
    with app.app_context():
        tenant.bind()
        c = customers.create_customer(db.session, tenant.owner_actor(), {"name": name})
        db.session.commit()
        cid = c.id
        db.session.remove()
    return cid


def _ticket(app, tenant, customer_id, **extra):
    with app.app_context():
        tenant.bind()
        t = ticket_service.create_ticket(db.session, tenant.owner_actor(), {
            "customer_id": customer_id, "subject": "Broken lid", **extra})
        db.session.commit()
        tid = t.id
        db.session.remove()
    return tid


def _get(app, tenant, tid):
    with app.app_context():
        tenant.bind()
        t = ticket_service.get_ticket(db.session, tid)
        db.session.expunge(t)
        db.session.remove()
    return t


def test_open_a_ticket_from_the_form(app, client, make_tenant):
    tenant = make_tenant()
    cid = _customer(app, tenant)
    login(client, tenant)
    page = client.get(f"/t/{tenant.slug}/tickets/new?customer_id={cid}")
    assert page.status_code == 200 and "Li Lei" in page.get_data(as_text=True)
    resp = client.post(f"/t/{tenant.slug}/tickets/new", data={
        "customer_id": str(cid), "subject": "Lid broken", "description": "Arrived cracked",
        "type": "complaint", "priority": "high", "cause": "Delivery", "owner_id": ""})
    assert resp.status_code == 302
    shown = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Lid broken" in shown and "Arrived cracked" in shown
    listing = client.get(f"/t/{tenant.slug}/tickets/").get_data(as_text=True)
    assert "Lid broken" in listing


def test_missing_subject_is_shown_next_to_the_field(app, client, make_tenant):
    tenant = make_tenant()
    cid = _customer(app, tenant)
    login(client, tenant)
    resp = client.post(f"/t/{tenant.slug}/tickets/new", data={
        "customer_id": str(cid), "subject": "", "type": "request", "priority": "normal"})
    assert resp.status_code == 422
    assert field_errors(resp.get_data(as_text=True), "subject")
    with app.app_context():
        tenant.bind()
        assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0
        db.session.remove()


def test_reply_note_assign_and_resolve(app, client, make_tenant):
    tenant = make_tenant()
    tid = _ticket(app, tenant, _customer(app, tenant))
    login(client, tenant)
    base = f"/t/{tenant.slug}/tickets/{tid}"
    assert client.post(f"{base}/messages", data={"kind": "note", "body": "check"}
                       ).status_code == 302
    assert client.post(f"{base}/messages", data={"kind": "reply", "body": "Sorry!"}
                       ).status_code == 302
    assert client.post(f"{base}/edit", data={"owner_id": str(tenant.owner_id),
                                             "priority": "urgent", "cause": ""}
                       ).status_code == 302
    assert client.post(f"{base}/status", data={"status": "resolved"}).status_code == 302
    ticket = _get(app, tenant, tid)
    assert (ticket.status, ticket.priority, ticket.owner_id) == (
        "resolved", "urgent", tenant.owner_id)
    html = client.get(base).get_data(as_text=True)
    assert "Sorry!" in html and "check" in html and "Internal note" in html


def test_watchers_are_edited_on_the_ticket_page(app, client, make_tenant):
    from tests.api.conftest import add_staff

    tenant, other = make_tenant(), make_tenant()
    with app.app_context():
        agent_id = add_staff(tenant, "agent")
        stranger_id = add_staff(other, "agent")
    tid = _ticket(app, tenant, _customer(app, tenant))
    login(client, tenant)
    base = f"/t/{tenant.slug}/tickets/{tid}"
    edit = {"owner_id": "", "priority": "normal", "cause": ""}
    bad = client.post(f"{base}/edit", data={**edit, "watchers": [str(stranger_id)]})
    assert bad.status_code == 422
    assert field_errors(bad.get_data(as_text=True), "watchers") == "No such staff member."
    assert _get(app, tenant, tid).watchers == []
    ok = client.post(f"{base}/edit", data={**edit, "watchers": [str(agent_id),
                                                               str(tenant.owner_id)]})
    assert ok.status_code == 302
    assert set(_get(app, tenant, tid).watchers) == {str(agent_id), str(tenant.owner_id)}
    page = client.get(base).get_data(as_text=True)
    assert f'<option selected value="{agent_id}">' in page or \
        f'value="{agent_id}" selected' in page


def _messages(app, tenant) -> int:
    with app.app_context():
        tenant.bind()
        n = db.session.scalar(select(func.count()).select_from(TicketMessage))
        db.session.remove()
    return n


def test_refused_reply_shows_the_ticket_again_with_the_error(app, client, make_tenant):
    tenant = make_tenant()
    tid = _ticket(app, tenant, _customer(app, tenant))
    login(client, tenant)
    base = f"/t/{tenant.slug}/tickets/{tid}"
    empty = client.post(f"{base}/messages", data={"kind": "reply", "body": ""})
    assert empty.status_code == 422
    html = empty.get_data(as_text=True)
    assert field_errors(html, "body") and "Broken lid" in html
    client.post(f"{base}/status", data={"status": "closed"})
    closed = client.post(f"{base}/messages", data={"kind": "reply", "body": "Sorry!"})
    assert closed.status_code == 409
    html = closed.get_data(as_text=True)
    assert 'class="alert alert-error"' in html and "The ticket is closed." in html
    assert _messages(app, tenant) == 0


def test_disallowed_status_change_is_flashed(app, client, make_tenant):
    tenant = make_tenant()
    tid = _ticket(app, tenant, _customer(app, tenant))
    login(client, tenant)
    base = f"/t/{tenant.slug}/tickets/{tid}"
    client.post(f"{base}/status", data={"status": "closed"})
    resp = client.post(f"{base}/status", data={"status": "open"}, follow_redirects=True)
    assert "cannot become open" in resp.get_data(as_text=True)
    assert _get(app, tenant, tid).status == "closed"


def test_executable_upload_is_refused_with_field_error(app, client, make_tenant):
    tenant = make_tenant()
    tid = _ticket(app, tenant, _customer(app, tenant))
    login(client, tenant)
    base = f"/t/{tenant.slug}/tickets/{tid}"
    bad = client.post(f"{base}/attachments", data={
        "file": (io.BytesIO(b"MZ\x90\x00binary"), "photo.jpg")},
        content_type="multipart/form-data")
    assert bad.status_code == 422
    assert "not allowed" in field_errors(bad.get_data(as_text=True), "file")
    good = client.post(f"{base}/attachments", data={
        "file": (io.BytesIO(b"\xff\xd8\xff\xe0 jpeg"), "photo.jpg")},
        content_type="multipart/form-data")
    assert good.status_code == 302
    with app.app_context():
        tenant.bind()
        [att] = db.session.scalars(select(TicketAttachment)).all()
        db.session.remove()
    down = client.get(f"{base}/attachments/{att.id}")
    assert down.status_code == 200 and down.data.startswith(b"\xff\xd8\xff")


def test_other_tenants_ticket_is_404(app, client, make_tenant):
    mine, theirs = make_tenant(), make_tenant()
    tid = _ticket(app, theirs, _customer(app, theirs))
    login(client, mine)
    base = f"/t/{mine.slug}/tickets/{tid}"
    assert client.get(base).status_code == 404
    assert client.post(f"{base}/status", data={"status": "resolved"}).status_code == 404
    assert client.post(f"{base}/messages", data={"kind": "note", "body": "x"}
                       ).status_code == 404
    assert _get(app, theirs, tid).status == "new"


def test_readonly_sees_tickets_but_cannot_write(app, client, make_tenant):
    tenant = make_tenant()
    tid = _ticket(app, tenant, _customer(app, tenant))
    login_as(app, client, tenant, "readonly")
    assert client.get(f"/t/{tenant.slug}/tickets/").status_code == 200
    html = client.get(f"/t/{tenant.slug}/tickets/{tid}").get_data(as_text=True)
    assert "Mark as" not in html
    assert client.post(f"/t/{tenant.slug}/tickets/{tid}/status",
                       data={"status": "resolved"}).status_code == 403
    assert client.get(f"/t/{tenant.slug}/tickets/new").status_code == 403
    assert client.get(f"/t/{tenant.slug}/tickets/settings").status_code == 403


@pytest.mark.parametrize("queue", ["all", "mine", "team", "overdue", "due_soon",
                                   "unassigned"])
def test_every_queue_renders(app, client, make_tenant, queue):
    tenant = make_tenant()
    _ticket(app, tenant, _customer(app, tenant), owner_id=tenant.owner_id)
    login(client, tenant)
    resp = client.get(f"/t/{tenant.slug}/tickets/?queue={queue}&status=&priority=")
    assert resp.status_code == 200


def test_settings_save_and_field_errors(app, client, make_tenant):
    tenant = make_tenant()
    login(client, tenant)
    url = f"/t/{tenant.slug}/tickets/settings"
    assert client.get(url).status_code == 200
    form = {"causes": "Late\nBroken", "opens": "08:00", "closes": "20:00",
            "working_days": ["1", "2", "3", "4", "5"]}
    for p in ("low", "normal", "high", "urgent"):
        form[f"{p}_first_response_hours"] = "2"
        form[f"{p}_resolution_hours"] = "10"
    assert client.post(url, data=form).status_code == 302
    bad = dict(form, high_resolution_hours="soon")
    resp = client.post(url, data=bad)
    assert resp.status_code == 422
    assert "greater than 0" in resp.get_data(as_text=True)
    with app.app_context():
        tenant.bind()
        settings = customers.bound_tenant(db.session).settings
        assert settings["ticket_causes"] == ["Late", "Broken"]
        assert settings["sla"]["working_hours"] == ["08:00", "20:00"]
        assert settings["sla"]["priorities"]["high"]["resolution_hours"] == 10
        db.session.remove()


def test_cause_analysis_page(app, client, make_tenant):
    tenant = make_tenant()
    _ticket(app, tenant, _customer(app, tenant), cause="Delivery")
    login(client, tenant)
    html = client.get(f"/t/{tenant.slug}/tickets/analysis").get_data(as_text=True)
    assert "Delivery" in html and "100%" in html
    assert client.get(f"/t/{tenant.slug}/tickets/analysis?since=x").status_code == 200
    assert 'class="pareto-chart"' in html and 'class="trend-chart"' in html
    assert "vendor/chart.umd.js" in html


def test_cause_analysis_csv_downloads(app, client, make_tenant):
    tenant = make_tenant()
    _ticket(app, tenant, _customer(app, tenant), cause="Delivery")
    login(client, tenant)
    pareto = client.get(f"/t/{tenant.slug}/tickets/analysis/pareto.csv")
    assert pareto.status_code == 200 and pareto.mimetype == "text/csv"
    assert "attachment" in pareto.headers["Content-Disposition"]
    assert pareto.get_data(as_text=True).lstrip("\ufeff").splitlines() == [
        "cause,tickets,share,cumulative", "Delivery,1,1.0,1.0"]
    trend = client.get(f"/t/{tenant.slug}/tickets/analysis/trend.csv?bucket=week")
    lines = trend.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0] == "period,Delivery" and sum(int(x.split(",")[1]) for x in lines[1:]) == 1
    assert client.get(f"/t/{tenant.slug}/tickets/analysis/other.csv").status_code == 404
