"""The audit log page: filters, paging, local times, isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from saas.extensions import db
from saas.services import audit
from saas.services.context import Actor
from tests.web.helpers import add_staff, field_errors, login


def _record(app, tenant, action="thing.done", entity_type="thing", when=None, actor=None,
            count=1):
    with app.app_context():
        tenant.bind()
        actor = actor or tenant.owner_actor()
        for i in range(count):
            entry = audit.record(db.session, actor, action, entity_type, f"id-{i}",
                                 {"n": i})
            if when is not None:
                entry.created_at = when + timedelta(seconds=i)
        db.session.commit()


def _rows(html: str) -> int:
    return html.count("<tr>") - 1


def test_entries_show_in_the_tenants_time_zone(app, client, make_tenant):
    tenant = make_tenant(tz="Asia/Shanghai")
    _record(app, tenant, "order.placed", when=datetime(2024, 3, 1, 17, 0, tzinfo=UTC))
    login(client, tenant)
    html = client.get(f"/t/{tenant.slug}/audit/?action=order.placed").get_data(as_text=True)
    assert "2024-03-02 01:00:00" in html
    assert _rows(html) == 1


def test_date_range_is_read_in_the_tenants_time_zone(app, client, make_tenant):
    tenant = make_tenant(tz="Asia/Shanghai")
    _record(app, tenant, "order.placed", when=datetime(2024, 3, 1, 17, 0, tzinfo=UTC))
    login(client, tenant)
    base = f"/t/{tenant.slug}/audit/?action=order.placed"
    assert _rows(client.get(base + "&since=2024-03-02&until=2024-03-02").get_data(
        as_text=True)) == 1
    assert "No entries match." in client.get(base + "&since=2024-03-01&until=2024-03-01") \
        .get_data(as_text=True)


def test_filters_by_action_record_type_and_actor(app, client, make_tenant):
    tenant = make_tenant()
    agent_id, agent_email = add_staff(app, tenant, "agent")
    _record(app, tenant, "customer.created", "customer", count=2)
    _record(app, tenant, "ticket.closed", "ticket", count=3,
            actor=Actor(staff_id=agent_id, label=agent_email, role="agent"))
    login(client, tenant)
    page = f"/t/{tenant.slug}/audit/"
    assert _rows(client.get(page + "?action=customer.created").get_data(as_text=True)) == 2
    assert _rows(client.get(page + "?entity_type=ticket").get_data(as_text=True)) == 3
    by_agent = client.get(page + f"?actor={agent_id.hex}&action=ticket.closed")
    assert _rows(by_agent.get_data(as_text=True)) == 3
    assert agent_email in by_agent.get_data(as_text=True)


def test_pages_hold_fifty_entries_newest_first(app, client, make_tenant):
    tenant = make_tenant()
    _record(app, tenant, "bulk.thing", when=datetime(2024, 1, 1, tzinfo=UTC), count=53)
    login(client, tenant)
    first = client.get(f"/t/{tenant.slug}/audit/?action=bulk.thing").get_data(as_text=True)
    assert _rows(first) == 50
    assert "2024-01-01 08:00:52" in first and "2024-01-01 08:00:02" not in first
    assert "page=2" in first
    second = client.get(f"/t/{tenant.slug}/audit/?action=bulk.thing&page=2").get_data(
        as_text=True)
    assert _rows(second) == 3
    assert "2024-01-01 08:00:00" in second and "page=3" not in second


@pytest.mark.parametrize("query,field,message", [
    ("since=yesterday", "since", "Not a valid date"),
    ("until=2024-13-45", "until", "Not a valid date"),
    ("actor=0123", "actor", "Not a valid choice"),
])
def test_bad_filters_are_field_errors(client, make_tenant, query, field, message):
    tenant = make_tenant()
    login(client, tenant)
    response = client.get(f"/t/{tenant.slug}/audit/?{query}")
    assert response.status_code == 422
    assert message in field_errors(response.get_data(as_text=True), field)


def test_a_nonsense_page_number_shows_the_first_page(client, make_tenant):
    tenant = make_tenant()
    login(client, tenant)
    assert client.get(f"/t/{tenant.slug}/audit/?page=abc").status_code == 200


def test_another_tenants_entries_never_show(app, client, make_tenant):
    a, b = make_tenant(), make_tenant()
    _record(app, b, "secret.thing")
    login(client, a)
    html = client.get(f"/t/{a.slug}/audit/").get_data(as_text=True)
    assert "secret.thing" not in html
    assert "tenant.created" in html
