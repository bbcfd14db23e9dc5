"""The navigation registry feature modules add their links to."""

from __future__ import annotations

import pytest

from saas.web import nav
from tests.web.helpers import login


@pytest.fixture
def registry(monkeypatch):
    monkeypatch.setattr(nav, "_ENTRIES", {})
    return nav


def test_entries_are_ordered_and_filtered_by_permission(registry):
    registry.add("b.index", "B", permission="staff.manage", order=20)
    registry.add("a.index", "A", order=10)
    registry.add("c.index", "C", permission="customers.read", order=30)
    assert [e.endpoint for e in registry.visible_to("owner")] == ["a.index", "b.index",
                                                                  "c.index"]
    assert [e.endpoint for e in registry.visible_to("readonly")] == ["a.index", "c.index"]
    assert [e.endpoint for e in registry.visible_to("nobody-role")] == ["a.index"]


def test_adding_an_endpoint_twice_keeps_one_entry(registry):
    registry.add("a.index", "Old", order=10)
    registry.add("a.index", "New", order=5)
    assert [(e.label, e.order) for e in registry.entries()] == [("New", 5)]


def test_built_in_pages_are_registered():
    endpoints = {e.endpoint for e in nav.entries()}
    assert {"home.index", "staff.index", "tokens.index", "audit.index",
            "settings.edit"} <= endpoints


def test_the_stylesheet_is_served_locally(client):
    response = client.get("/assets/app.css")
    assert response.status_code == 200
    assert "--brand" in response.get_data(as_text=True)
    assert 'href="/assets/app.css"' in client.get("/").get_data(as_text=True)


def test_language_switch_on_a_post_only_page_returns_to_the_page_above(client, make_tenant):
    tenant = make_tenant()
    login(client, tenant)
    html = client.post(f"/t/{tenant.slug}/staff/invite",
                       data={"email": "bad", "role": "agent"}).get_data(as_text=True)
    assert f'name="next" value="/t/{tenant.slug}/staff/"' in html


def test_an_entry_for_a_missing_page_does_not_break_the_shell(client, make_tenant, monkeypatch):
    monkeypatch.setattr(nav, "_ENTRIES", dict(nav._ENTRIES))
    nav.add("not_there.index", "Ghost", order=1)
    tenant = make_tenant()
    login(client, tenant)
    response = client.get(f"/t/{tenant.slug}/")
    assert response.status_code == 200
    assert "Ghost" not in response.get_data(as_text=True)
