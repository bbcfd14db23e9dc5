"""The RQ worker and the cron scheduler behind `flask worker` and `flask cron`.

The worker runs RQ's own scheduler too (it moves delayed retries back onto the queue);
the cron scheduler runs in a child process so a slow enqueue never delays job pick-up,
and exits with the worker.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import time

from flask import Flask
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.exceptions import StopRequested

from saas.jobs import logs
from saas.jobs.schedule import build_scheduler

log = logging.getLogger("saas.jobs")
CRON_RESTART_DELAY = 5


class SaasWorker(Worker):
    """RQ's forking worker, with the job id on the lines it and the work-horse log."""

    def execute_job(self, job, queue):  # type: ignore[override]
        with logs.job_scope(job.id):
            return super().execute_job(job, queue)


class NoRedis(RuntimeError):
    """There is no REDIS_URL: jobs run inline and there is nothing for a worker to do."""


def _redis(app: Flask) -> Redis:
    url = app.config.get("REDIS_URL")
    if not url:
        raise NoRedis("REDIS_URL is not set: jobs run inline, no worker is needed")
    return Redis.from_url(url, socket_connect_timeout=5)


def run_worker(app: Flask, burst: bool = False, cron: bool = True,
               name: str | None = None) -> bool:
    """Work the app's queue; returns whether any job ran. `burst` drains and exits
    (without cron: a drained queue is the whole point of a burst)."""
    connection = _redis(app)
    connection.ping()
    logs.install()
    queue = Queue(app.config["RQ_QUEUE"], connection=connection)
    child = None
    if cron and not burst:
        child = multiprocessing.get_context("fork").Process(
            target=_cron_child, args=(app.config["REDIS_URL"], queue.name),
            name="saas-cron", daemon=True)
        child.start()
        log.info("cron scheduler started in process %s", child.pid)
    worker = SaasWorker([queue], connection=connection, name=name)
    try:
        return worker.work(burst=burst, with_scheduler=True, log_format=logs.FORMAT)
    finally:
        if child is not None and child.is_alive():
            os.kill(child.pid, signal.SIGTERM)
            child.join(10)


def run_cron(app: Flask) -> None:
    """Run only the cron scheduler, in the foreground, until SIGTERM/SIGINT."""
    connection = _redis(app)
    connection.ping()
    logs.install()
    build_scheduler(connection, app.config["RQ_QUEUE"]).start()


def _cron_child(redis_url: str, queue_name: str) -> None:
    """Keep the cron scheduler alive across Redis outages; a stop signal ends it."""
    logs.install()
    while True:
        try:
            build_scheduler(Redis.from_url(redis_url, socket_connect_timeout=5),
                            queue_name).start()
            return
        except RedisError:
            log.exception("cron scheduler lost Redis; restarting in %s s", CRON_RESTART_DELAY)
            try:
                time.sleep(CRON_RESTART_DELAY)
            except StopRequested:  # RQ's signal handler, still installed
                return
