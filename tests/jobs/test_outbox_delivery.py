"""`deliver_batch`: a range of events written by a set-based writer, delivered in order.

The events are written here as a set-based writer would (ids from one `EventIds` range,
no job per event); the batch job runs inline.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.jobs.outbox import DISPATCHERS_KEY, deliver_batch
from saas.models import OutboxEvent
from saas.services.outbox import EventIds


@pytest.fixture
def recorder(app):
    seen: list[tuple[str, str, str]] = []

    def record(session, event) -> None:
        if re.fullmatch(r"c\d+", event.entity_id or ""):  # not the sign-up's own events
            seen.append((str(event.tenant_id), event.name, event.entity_id))

    app.extensions[DISPATCHERS_KEY].append(record)
    yield seen
    app.extensions[DISPATCHERS_KEY].remove(record)


def write_events(app, tenant, ids: EventIds, ordinals, name="customer.created"):
    with app.app_context():
        tenant.bind()
        for n in ordinals:
            db.session.add(OutboxEvent(id=ids.of(n), name=name, entity_type="customer",
                                       entity_id=f"c{n}", payload={"kind": "person"}))
        db.session.commit()
        db.session.remove()


def statuses(app, tenant) -> dict[str, tuple[str, int]]:
    with app.app_context():
        tenant.bind()
        rows = db.session.scalars(select(OutboxEvent)).all()
        result = {e.entity_id: (e.status, e.attempts) for e in rows
                  if re.fullmatch(r"c\d+", e.entity_id or "")}
        db.session.remove()
    return result


def test_a_range_is_delivered_once_in_id_order(app, make_tenant, recorder):
    tenant = make_tenant()
    ids = EventIds.new()
    write_events(app, tenant, ids, [5, 1, 3, 2, 4])
    with app.app_context():
        report = deliver_batch(tenant.id, str(ids.of(1)), str(ids.of(5)))
        again = deliver_batch(tenant.id, str(ids.of(1)), str(ids.of(5)))
    mine = [r for r in recorder if r[0] == str(tenant.id)]
    assert [entity for _t, _n, entity in mine] == ["c1", "c2", "c3", "c4", "c5"]
    assert report["events"] == 5 and again["events"] == 0, "a re-run delivers nothing twice"
    assert set(statuses(app, tenant).values()) == {("delivered", 1)}


def test_events_outside_the_range_or_of_another_tenant_are_left_alone(app, make_tenant,
                                                                       recorder):
    tenant, other = make_tenant(), make_tenant()
    ids = EventIds.new()
    write_events(app, tenant, ids, [1, 2, 3, 9])
    write_events(app, other, ids, [4])
    with app.app_context():
        deliver_batch(tenant.id, str(ids.of(1)), str(ids.of(5)))
    assert statuses(app, tenant) == {"c1": ("delivered", 1), "c2": ("delivered", 1),
                                     "c3": ("delivered", 1), "c9": ("pending", 0)}
    assert statuses(app, other) == {"c4": ("pending", 0)}
    assert all(t == str(tenant.id) for t, _n, _e in recorder)


def test_a_dispatcher_naming_its_events_is_skipped_for_others(app, make_tenant):
    tenant = make_tenant()
    calls: list[str] = []

    def orders_only(session, event) -> None:
        calls.append(event.name)

    orders_only.events = frozenset({"order.placed"})
    app.extensions[DISPATCHERS_KEY].append(orders_only)
    try:
        ids = EventIds.new()
        write_events(app, tenant, ids, [1, 2])
        write_events(app, tenant, ids, [3], name="order.placed")
        with app.app_context():
            deliver_batch(tenant.id, str(ids.of(1)), str(ids.of(2)))
            assert calls == []
            deliver_batch(tenant.id, str(ids.of(1)), str(ids.of(3)))
    finally:
        app.extensions[DISPATCHERS_KEY].remove(orders_only)
    assert calls == ["order.placed"]


def test_a_raising_dispatcher_fails_the_job_and_leaves_the_page_pending(app, make_tenant):
    tenant = make_tenant()

    def broken(session, event) -> None:
        raise RuntimeError("dispatcher down")

    app.extensions[DISPATCHERS_KEY].append(broken)
    try:
        ids = EventIds.new()
        write_events(app, tenant, ids, [1, 2])
        with app.app_context(), pytest.raises(RuntimeError, match="dispatcher down"):
            deliver_batch(tenant.id, str(ids.of(1)), str(ids.of(2)))
    finally:
        app.extensions[DISPATCHERS_KEY].remove(broken)
    assert set(statuses(app, tenant).values()) == {("pending", 0)}
