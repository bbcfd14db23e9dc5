"""A real RQ worker (`flask worker`) on real Redis, against the test database."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
import uuid
from types import SimpleNamespace

import pytest
from redis import Redis
from rq import Queue
from rq.job import Job
from rq.registry import FinishedJobRegistry, ScheduledJobRegistry
from sqlalchemy import select

from saas.extensions import db
from saas.jobs.queue import enqueue
from saas.models import OutboxEvent
from saas.tenancy import bind_tenant
from tests.conftest import APP_ROLE, ROOT
from tests.jobs.conftest import flask_command, worker_env


def event_named(app, tenant, name: str = "tenant.created") -> SimpleNamespace:
    with app.app_context():
        bind_tenant(db.session, tenant.id)
        ev = db.session.scalars(select(OutboxEvent).where(OutboxEvent.name == name)).one()
        found = SimpleNamespace(id=ev.id, status=ev.status, attempts=ev.attempts,
                                payload=dict(ev.payload), last_error=ev.last_error)
        db.session.remove()
    return found


def enqueue_in(app, path: str, *args):
    with app.app_context():
        return enqueue(path, *args)


def on_postgres(app) -> bool:
    return app.config["DATABASE_URL"].startswith("postgresql")


@pytest.mark.redis
def test_committed_outbox_event_is_delivered_by_the_worker(app, make_tenant, use_redis,
                                                           redis_url, queue_name, run_worker):
    use_redis(redis_url)
    tenant = make_tenant()
    assert event_named(app, tenant).status == "pending"
    assert Queue(queue_name, connection=Redis.from_url(redis_url)).count >= 1

    run_worker()

    event = event_named(app, tenant)
    assert (event.status, event.attempts, event.last_error) == ("delivered", 1, None)


@pytest.mark.redis
def test_failing_job_is_retried_by_rq_until_it_succeeds(app, make_tenant, use_redis,
                                                        redis_url, run_worker):
    tenant = make_tenant()
    event = event_named(app, tenant)
    use_redis(redis_url)
    job = enqueue_in(app, "tests.jobs.worker_jobs:flaky", tenant.id, event.id, 2)

    run_worker()

    payload = event_named(app, tenant).payload
    assert payload["probe_attempts"] == 3
    if on_postgres(app):
        assert payload["db_user"] == APP_ROLE
    finished = Job.fetch(job.id, connection=Redis.from_url(redis_url))
    assert finished.get_status() == "finished"
    assert finished.return_value() == 3


@pytest.mark.redis
def test_job_failing_past_its_retries_lands_in_rqs_failed_registry(app, make_tenant, use_redis,
                                                                   redis_url, queue_name,
                                                                   run_worker):
    tenant = make_tenant()
    event = event_named(app, tenant)
    use_redis(redis_url)
    job = enqueue_in(app, "tests.jobs.worker_jobs:flaky", tenant.id, event.id, 99)

    run_worker()

    assert event_named(app, tenant).payload["probe_attempts"] == 3  # 1 try + 2 retries
    failed = Job.fetch(job.id, connection=Redis.from_url(redis_url))
    assert failed.get_status() == "failed"
    assert "attempt 3 fails on purpose" in failed.latest_result().exc_string
    assert job.id in Queue(queue_name, connection=Redis.from_url(redis_url)) \
        .failed_job_registry.get_job_ids()


@pytest.mark.redis
def test_delayed_retry_is_requeued_by_the_workers_scheduler(app, make_tenant, use_redis,
                                                            redis_url, queue_name, run_worker):
    tenant = make_tenant()
    event = event_named(app, tenant)
    use_redis(redis_url)
    job = enqueue_in(app, "tests.jobs.worker_jobs:flaky_later", tenant.id, event.id, 1)
    conn = Redis.from_url(redis_url)

    run_worker()
    assert event_named(app, tenant).payload["probe_attempts"] == 1
    scheduled = ScheduledJobRegistry(queue_name, connection=conn)
    assert job.id in scheduled.get_job_ids()
    due = scheduled.get_scheduled_time(job.id).timestamp()
    while time.time() <= due:  # the retry interval is one second
        time.sleep(0.1)

    run_worker()
    assert event_named(app, tenant).payload["probe_attempts"] == 2
    assert Job.fetch(job.id, connection=conn).get_status() == "finished"


@pytest.mark.redis
def test_redis_down_at_commit_keeps_the_change_and_the_sweep_delivers_it(
        app, make_tenant, use_redis, redis_url, closed_port_url, run_worker, caplog):
    use_redis(closed_port_url)
    with caplog.at_level(logging.ERROR, logger="saas.jobs"):
        tenant = make_tenant()
    assert "could not enqueue saas.jobs.outbox:deliver_event" in caplog.text
    assert event_named(app, tenant).status == "pending"

    use_redis(redis_url)
    enqueue_in(app, "saas.jobs.outbox:sweep_outbox", 0)
    run_worker()

    assert event_named(app, tenant).status == "delivered"


def test_inline_mode_delivers_at_commit(app, make_tenant):
    assert app.config["REDIS_URL"] is None
    tenant = make_tenant()
    event = event_named(app, tenant)
    assert (event.status, event.attempts) == ("delivered", 1)


def test_inline_job_failure_is_logged_not_raised(app, make_tenant, caplog):
    tenant = make_tenant()
    event = event_named(app, tenant)
    with caplog.at_level(logging.INFO, logger="saas.jobs"):
        assert enqueue_in(app, "tests.jobs.worker_jobs:flaky", tenant.id, event.id, 1) is None
    assert event_named(app, tenant).payload["probe_attempts"] == 1
    assert "inline job tests.jobs.worker_jobs:flaky" in caplog.text
    failed = [r for r in caplog.records if "fails on purpose" in r.getMessage()
              and r.levelno == logging.WARNING]
    assert failed and "job inline-" in failed[0].getMessage()


@pytest.mark.redis
def test_every_log_line_of_a_job_carries_its_id(app, make_tenant, use_redis, redis_url,
                                                run_worker):
    tenant = make_tenant()
    use_redis(redis_url)
    marker = uuid.uuid4().hex
    job = enqueue_in(app, "tests.jobs.worker_jobs:chatty", tenant.id, marker)

    proc = run_worker()

    lines = [line for line in (proc.stdout + proc.stderr).splitlines()
             if "tests.jobs.worker_jobs:chatty" in line or marker in line]
    assert any(f"[job {job.id}]" in line and f"probe says {marker}" in line for line in lines)
    assert len(lines) >= 4 and all(job.id in line for line in lines), lines


def test_worker_without_redis_url_refuses_to_start(app):
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code == 2
    assert "REDIS_URL is not set" in result.output


def test_worker_with_redis_unreachable_exits_non_zero(app, use_redis, closed_port_url):
    use_redis(closed_port_url)
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code == 1
    assert "cannot reach Redis" in result.output


def _wait_for(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    return out


@pytest.mark.redis
def test_worker_runs_the_periodic_sweep_through_its_cron_child(app, use_redis, redis_url,
                                                               queue_name):
    use_redis(redis_url)
    conn = Redis.from_url(redis_url)
    finished = FinishedJobRegistry(queue_name, connection=conn)
    proc = subprocess.Popen(flask_command("worker"), cwd=ROOT,
                            env=worker_env(app, queue_name, redis_url),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        ran = _wait_for(lambda: any(i.startswith("periodic-outbox-sweep-")
                                    for i in finished.get_job_ids()))
    finally:
        out = _stop(proc)
    assert ran, out
    assert proc.returncode == 0, out
    child = int(out.split("cron scheduler started in process ")[1].split()[0])
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)


@pytest.mark.redis
def test_cron_command_enqueues_periodic_jobs_without_working_them(app, use_redis, redis_url,
                                                                  queue_name):
    use_redis(redis_url)
    queue = Queue(queue_name, connection=Redis.from_url(redis_url))
    proc = subprocess.Popen(flask_command("cron"), cwd=ROOT,
                            env=worker_env(app, queue_name, redis_url),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        queued = _wait_for(lambda: any(i.startswith("periodic-outbox-sweep-")
                                       for i in queue.get_job_ids()))
    finally:
        out = _stop(proc)
    assert queued, out
