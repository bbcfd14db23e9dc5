"""The greeting job run twice, and twice at once, sends one birthday email per customer
through the real SMTP plugin (aiosmtpd)."""

from __future__ import annotations

import threading
from datetime import date
from zoneinfo import ZoneInfo

import pytest

from saas.extensions import db
from saas.jobs.queue import enqueue
from saas.models.base import utcnow
from saas.services import care, customers
from tests.hooks.support import configure
from tests.plugins.servers import smtp_server

NAMES = ("Li Lei", "Han Meimei", "Anna")


def _birthday_world(app, tenant, port: int) -> None:
    configure(app, tenant, "email", {"host": "127.0.0.1", "port": port, "security": "none",
                                     "from_address": "care@shop.example.com"})
    today = utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date()
    born = date(1990, today.month, min(today.day, 28))
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        care.set_quiet_hours(db.session, actor, "00:00", "00:00")   # the test runs any time
        care.create_rule(db.session, actor, {
            "name": "Birthday", "kind": "birthday", "channel": "email",
            "subject": "Happy birthday, {{ name }}", "template": "All the best, {{ name }}!"})
        for i, name in enumerate(NAMES):
            customers.create_customer(db.session, actor, {
                "name": name, "emails": [f"c{i}@example.com"],
                "birthday": (born if today.day <= 28 else today.replace(year=1990)).isoformat()})
        customers.create_customer(db.session, actor, {"name": "Not today",
                                                      "emails": ["x@example.com"]})
        db.session.commit()
        db.session.remove()


def _recipients(box) -> list[str]:
    return sorted(m["To"] for m in box.messages)


def test_greeting_job_run_twice_sends_one_email_per_customer(app, make_tenant):
    tenant = make_tenant()
    with smtp_server("none") as (port, box):
        _birthday_world(app, tenant, port)
        with app.app_context():
            enqueue("saas.jobs.care:run", tenant.id)
            enqueue("saas.jobs.care:run", tenant.id)
            enqueue("saas.jobs.care:run_all")
    assert _recipients(box) == ["c0@example.com", "c1@example.com", "c2@example.com"]
    assert sorted(m["Subject"] for m in box.messages) == sorted(
        f"Happy birthday, {n}" for n in NAMES)


@pytest.mark.postgres
def test_greeting_job_run_concurrently_sends_one_email_per_customer(app, make_tenant):
    tenant = make_tenant()
    with smtp_server("none") as (port, box):
        _birthday_world(app, tenant, port)
        barrier = threading.Barrier(3)
        errors: list[BaseException] = []

        def run() -> None:
            try:
                with app.app_context():
                    barrier.wait()
                    enqueue("saas.jobs.care:run", tenant.id)
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=run) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert errors == []
    assert _recipients(box) == ["c0@example.com", "c1@example.com", "c2@example.com"]


def test_greeting_run_that_crashes_midway_greets_each_customer_once_on_rerun(
        app, make_tenant, monkeypatch):
    from saas.services import plugins

    tenant = make_tenant()
    real = plugins.send_via_channel
    calls: list[str] = []

    def dies_on_the_second_customer(*args, **kwargs):
        calls.append(args[3]["to"])
        if len(calls) == 2:
            raise RuntimeError("worker killed mid-run")
        return real(*args, **kwargs)

    with smtp_server("none") as (port, box):
        _birthday_world(app, tenant, port)
        monkeypatch.setattr(plugins, "send_via_channel", dies_on_the_second_customer)
        with app.app_context():
            tenant.bind()
            with pytest.raises(RuntimeError):
                care.run(db.session)
            db.session.rollback()
            db.session.remove()
        assert len(calls) == 2 and box.messages == []     # nothing half-sent
        monkeypatch.setattr(plugins, "send_via_channel", real)
        with app.app_context():
            enqueue("saas.jobs.care:run", tenant.id)
            enqueue("saas.jobs.care:run", tenant.id)
    assert _recipients(box) == ["c0@example.com", "c1@example.com", "c2@example.com"]
