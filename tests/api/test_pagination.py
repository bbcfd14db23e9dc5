"""Keyset pagination: complete, ordered, no duplicates, no OFFSET, bad cursors refused."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from saas.api.pagination import keyset_page
from saas.extensions import db
from saas.models import AuditEntry
from saas.services import audit
from saas.services.errors import InvalidInput


def _audit_entries(app, tenant, actions: list[str]) -> None:
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        for i, action in enumerate(actions):
            audit.record(db.session, actor, action, "thing", f"t{i}")
        db.session.commit()
        db.session.remove()


def _walk(api, path: str) -> list[dict]:
    items, cursor, pages = [], None, 0
    while True:
        sep = "&" if "?" in path else "?"
        r = api.get(f"{path}{sep}cursor={cursor}" if cursor else path)
        assert r.status_code == 200, r.json
        items += r.json["items"]
        cursor = r.json["next_cursor"]
        pages += 1
        if cursor is None:
            return items
        assert pages < 50


def test_walking_the_audit_log_gives_every_entry_once_in_order(app, api_client):
    api = api_client()
    _audit_entries(app, api.tenant, ["x.done"] * 9)
    everything = api.get("/api/v1/audit?limit=200").json["items"]
    walked = _walk(api, "/api/v1/audit?limit=2")
    assert [e["id"] for e in walked] == [e["id"] for e in everything]
    assert len({e["id"] for e in walked}) == len(walked) >= 10
    stamps = [e["created_at"] for e in walked]
    assert stamps == sorted(stamps, reverse=True)


def test_ascending_sort_walks_the_other_way(app, api_client):
    api = api_client()
    _audit_entries(app, api.tenant, ["x.done"] * 4)
    down = [e["id"] for e in _walk(api, "/api/v1/audit?limit=3")]
    up = [e["id"] for e in _walk(api, "/api/v1/audit?limit=3&sort=created_at")]
    assert up == list(reversed(down))


def test_last_page_has_no_next_cursor(api_client):
    body = api_client().get("/api/v1/audit?limit=200").json
    assert body["next_cursor"] is None
    assert body["items"]


def test_mixed_directions_with_ties_never_skip_or_repeat(app, make_tenant):
    tenant = make_tenant()
    _audit_entries(app, tenant, ["b", "a", "c", "a", "b", "a", "c", "b"])
    order = [AuditEntry.action, AuditEntry.created_at.desc(), AuditEntry.id.desc()]
    with app.app_context():
        tenant.bind()
        expected = db.session.scalars(select(AuditEntry).order_by(*order)).all()
        seen, cursor = [], None
        while True:
            page = keyset_page(db.session, select(AuditEntry), order, 3, cursor)
            seen += page.items
            cursor = page.next_cursor
            if cursor is None:
                break
        assert [e.id for e in seen] == [e.id for e in expected]


def test_pages_are_fetched_without_offset(app, make_tenant):
    tenant = make_tenant()
    _audit_entries(app, tenant, ["a"] * 5)
    statements: list[str] = []
    with app.app_context():
        tenant.bind()

        def spy(conn, cursor, statement, parameters, *args):
            statements.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", spy)
        try:
            order = [AuditEntry.created_at, AuditEntry.id]
            first = keyset_page(db.session, select(AuditEntry), order, 2, None)
            keyset_page(db.session, select(AuditEntry), order, 2, first.next_cursor)
        finally:
            event.remove(db.engine, "before_cursor_execute", spy)
    pages = [(s, p) for s, p in statements if "audit_entries" in s]
    assert len(pages) == 2
    for sql, params in pages:
        # SQLite always renders "LIMIT ? OFFSET ?"; the offset bound there must be 0.
        assert "OFFSET" not in sql.upper() or list(params)[-1] == 0
    assert "audit_entries.created_at, audit_entries.id) >" in pages[1][0]


@pytest.mark.parametrize("cursor", ["garbage", "W10", "eyJ4IjoxfQ", "!!!"])
def test_invalid_cursor_is_422_naming_cursor(api_client, cursor):
    r = api_client().get(f"/api/v1/audit?cursor={cursor}")
    assert r.status_code == 422
    assert list(r.json["errors"]) == ["cursor"]


def test_cursor_from_another_sort_order_is_refused(app, make_tenant):
    tenant = make_tenant()
    _audit_entries(app, tenant, ["a"] * 3)
    with app.app_context():
        tenant.bind()
        page = keyset_page(db.session, select(AuditEntry),
                           [AuditEntry.action, AuditEntry.id], 1, None)
        with pytest.raises(InvalidInput) as exc:
            keyset_page(db.session, select(AuditEntry),
                        [AuditEntry.created_at, AuditEntry.id], 1, page.next_cursor)
        assert "cursor" in exc.value.errors


@pytest.mark.parametrize("query,field", [("limit=0", "limit"), ("limit=201", "limit"),
                                         ("limit=ten", "limit"), ("sort=action", "sort"),
                                         ("sort=--created_at", "sort")])
def test_bad_paging_parameters_are_422_naming_them(api_client, query, field):
    r = api_client().get(f"/api/v1/audit?{query}")
    assert r.status_code == 422
    assert list(r.json["errors"]) == [field]


def test_default_and_maximum_page_sizes(app, api_client):
    api = api_client()
    existing = len(api.get("/api/v1/audit").json["items"])
    _audit_entries(app, api.tenant, ["a"] * 210)
    assert len(api.get("/api/v1/audit").json["items"]) == 50
    assert len(api.get("/api/v1/audit?limit=200").json["items"]) == 200
    assert existing < 10
