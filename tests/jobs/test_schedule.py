"""Periodic jobs: declared correctly, deterministic ids, one run per slot."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from redis import Redis
from rq import Queue

from saas.jobs.queue import resolve
from saas.jobs.schedule import PERIODIC, Periodic, build_scheduler


@pytest.mark.parametrize("entry", PERIODIC, ids=lambda p: p.name)
def test_every_periodic_entry_is_a_declared_job_with_a_schedule(entry):
    fn = resolve(entry.path)
    assert hasattr(fn, "job_spec")
    assert not fn.job_spec.tenant  # periodic jobs fan out to tenants themselves
    assert (entry.interval is None) != (entry.cron is None)


def test_periodic_names_are_unique():
    names = [p.name for p in PERIODIC]
    assert len(names) == len(set(names))


def test_periodic_job_id_depends_only_on_definition_queue_and_slot():
    sweep = Periodic("outbox-sweep", "saas.jobs.outbox:sweep_outbox", interval=60)
    same = Periodic("outbox-sweep", "saas.jobs.outbox:sweep_outbox", interval=60)
    assert sweep.job_id("q", 7) == same.job_id("q", 7)
    assert sweep.job_id("q", 7) != sweep.job_id("q", 8)
    assert sweep.job_id("q", 7) != sweep.job_id("other", 7)
    changed = Periodic("outbox-sweep", "saas.jobs.outbox:sweep_outbox", interval=30)
    assert sweep.job_id("q", 7) != changed.job_id("q", 7)


def test_interval_slot_is_the_same_for_every_scheduler_within_an_interval(app):
    entry = Periodic("outbox-sweep", "saas.jobs.outbox:sweep_outbox", interval=60)
    one = build_scheduler(None, "q", [entry]).get_jobs()[0]  # type: ignore[arg-type]
    two = build_scheduler(None, "q", [entry]).get_jobs()[0]  # type: ignore[arg-type]
    at = datetime(2030, 1, 1, 12, 0, 30, tzinfo=UTC)
    assert one.slot(at) == two.slot(at) == one.slot(at.replace(second=59))
    assert one.slot(at) != one.slot(at.replace(minute=1))


def test_cron_entry_is_accepted_and_scheduled_in_the_future(app):
    entry = Periodic("nightly", "saas.jobs.outbox:sweep_outbox", cron="0 3 * * *")
    job = build_scheduler(None, "q", [entry]).get_jobs()[0]  # type: ignore[arg-type]
    assert job.next_enqueue_time > datetime.now(UTC)


@pytest.mark.redis
def test_two_schedulers_enqueue_one_run_per_slot(app, redis_url, queue_name):
    conn = Redis.from_url(redis_url)
    queue = Queue(queue_name, connection=conn)
    try:
        first = build_scheduler(conn, queue_name)
        second = build_scheduler(conn, queue_name)
        with time_machine.travel(datetime.now(UTC).replace(second=1), tick=False):
            due = first.enqueue_jobs()
            after_first = queue.get_job_ids()
            second.enqueue_jobs()
            expected = {job.periodic.job_id(queue_name, job.slot()) for job in due}
        after_second = queue.get_job_ids()
        interval_entries = {p.name for p in PERIODIC if p.interval}
        assert {job.periodic.name for job in due} >= interval_entries  # due at start
        assert sorted(after_first) == sorted(expected)
        assert sorted(after_second) == sorted(after_first)  # the second one added nothing
    finally:
        queue.delete(delete_jobs=True)
        for key in conn.scan_iter(f"saas:periodic:{queue_name}:*"):
            conn.delete(key)
