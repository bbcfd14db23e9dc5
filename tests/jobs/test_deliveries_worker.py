"""Plugin deliveries on a real RQ worker and Redis, including a worker killed mid-call."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from saas.extensions import db
from saas.jobs.deliveries import retry_due_deliveries
from saas.jobs.outbox import sweep_outbox
from saas.models.base import utcnow
from saas.models.plugins import Delivery
from tests.conftest import ROOT
from tests.hooks.support import configure, emit_event
from tests.jobs.conftest import flask_command, worker_env
from tests.plugins.servers import http_server

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
PLUGIN_TIMEOUT = "0.5"  # lease = 2 * timeout + 1 = 2 s


def _env(app, queue_name, redis_url) -> dict[str, str]:
    return {**worker_env(app, queue_name, redis_url), "PLUGIN_TIMEOUT": PLUGIN_TIMEOUT}


def _burst(app, queue_name, redis_url) -> None:
    proc = subprocess.run(flask_command("worker", "--burst"), cwd=ROOT,
                          env=_env(app, queue_name, redis_url), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == pid:
                found.append(int(entry))
    return found


def _kill_tree(pid: int) -> None:
    """SIGKILL the worker and its work horse (RQ puts the horse in its own session)."""
    for child in _children(pid):
        os.kill(child, signal.SIGKILL)
    os.kill(pid, signal.SIGKILL)


def _deliveries(app, tenant) -> list[Delivery]:
    with app.app_context():
        tenant.bind()
        rows = db.session.scalars(select(Delivery).order_by(Delivery.created_at)).all()
        db.session.expunge_all()
        db.session.remove()
    return rows


@pytest.mark.redis
def test_deliveries_run_on_a_real_worker(app, make_tenant, use_redis, redis_url,
                                         queue_name):
    tenant = make_tenant()
    with http_server() as (url, received):
        configure(app, tenant, "webhooks", {"endpoints": [url], "secret": SECRET})
        use_redis(redis_url)
        ids = [emit_event(app, tenant, "order.placed") for _ in range(3)]
        assert _deliveries(app, tenant) == []  # queued in Redis, not run inline
        _burst(app, queue_name, redis_url)
    assert sorted(r.headers["webhook-id"] for r in received) == sorted(map(str, ids))
    assert {(d.status, d.attempts) for d in _deliveries(app, tenant)} == {("succeeded", 1)}


@pytest.mark.redis
def test_worker_killed_mid_batch_still_delivers_every_event(app, make_tenant, use_redis,
                                                            redis_url, queue_name):
    tenant = make_tenant()
    in_flight = threading.Event()
    calls = {"n": 0}

    def slow_receiver(req):
        calls["n"] += 1
        if calls["n"] == 3:
            in_flight.set()
            time.sleep(1.5)  # the worker is killed while waiting for this answer
        return 200, {"ok": True}

    with http_server(slow_receiver) as (url, received):
        configure(app, tenant, "webhooks", {"endpoints": [url], "secret": SECRET})
        use_redis(redis_url)
        ids = {str(emit_event(app, tenant, "customer.updated")) for _ in range(6)}
        worker = subprocess.Popen(flask_command("worker", "--no-cron"), cwd=ROOT,
                                  env=_env(app, queue_name, redis_url),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
        try:
            assert in_flight.wait(60), "the worker never reached the third delivery"
        finally:
            _kill_tree(worker.pid)
            worker.wait(10)
        killed = [d for d in _deliveries(app, tenant) if d.status == "pending"
                  and d.attempts == 1]
        assert len(killed) == 1, "one delivery was claimed by the killed worker"

        time.sleep(float(PLUGIN_TIMEOUT) * 2 + 1.2)  # its lease runs out (real time)
        with app.app_context():
            with time_machine.travel(utcnow() + timedelta(seconds=61)):
                sweep_outbox()  # events whose outbox job died with the worker
            retry_due_deliveries()
        _burst(app, queue_name, redis_url)
        with app.app_context():
            retry_due_deliveries()  # deliveries created by the swept outbox jobs
        _burst(app, queue_name, redis_url)

    rows = _deliveries(app, tenant)
    assert {d.key for d in rows} == ids
    assert {d.status for d in rows} == {"succeeded"}, [(d.status, d.last_error) for d in rows]
    again = next(d for d in rows if d.id == killed[0].id)
    assert again.attempts == 2
    seen = [r.headers["webhook-id"] for r in received]
    assert set(seen) == ids
    assert seen.count(killed[0].key) == 2  # at least once: receivers dedupe by webhook-id
