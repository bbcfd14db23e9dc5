"""Putting jobs on RQ, or running them inline when there is no `REDIS_URL`.

Jobs are named by dotted path (`"saas.jobs.outbox:deliver_event"`) so that callers do
not import job modules, and are only ever enqueued after the transaction that created
their data has committed.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from flask import current_app
from redis import Redis
from rq import Queue, Retry
from sqlalchemy import event
from sqlalchemy.orm import Session, scoped_session

log = logging.getLogger("saas.jobs")
PENDING_KEY = "saas.pending_jobs"


def resolve(path: str):
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def redis_connection() -> Redis | None:
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    conn = current_app.extensions.get("saas.redis")
    if conn is None:
        # Bounded waits: a dead Redis must fail the enqueue quickly, not hang a request.
        conn = Redis.from_url(url, socket_connect_timeout=5, socket_timeout=30)
        current_app.extensions["saas.redis"] = conn
    return conn


def get_queue() -> Queue | None:
    conn = redis_connection()
    if conn is None:
        return None
    return Queue(current_app.config["RQ_QUEUE"], connection=conn)


def enqueue(path: str, *args: Any, job_id: str | None = None, **kwargs: Any):
    """Enqueue now. Inline mode runs the job at once and logs (not raises) a failure:
    the periodic sweeps pick up whatever did not finish."""
    fn = resolve(path)
    spec = fn.job_spec
    args = tuple(str(a) if hasattr(a, "hex") else a for a in args)
    queue = get_queue()
    if queue is None:
        try:
            return fn(*args, **kwargs)
        except Exception:
            log.exception("inline job %s%r failed", path, args)
            return None
    retry = Retry(max=spec.retries, interval=spec.intervals) if spec.retries else None
    return queue.enqueue(fn, args=args, kwargs=kwargs, retry=retry,
                         job_timeout=spec.timeout, job_id=job_id,
                         description=f"{path}{args!r}")


def enqueue_after_commit(session: Session, path: str, *args: Any, **kwargs: Any) -> None:
    if isinstance(session, scoped_session):
        # Listen on the Session itself: on a scoped_session the listener lands on the
        # Session class, piling up per session and breaking nested (inline) commits.
        session = session()
    pending = session.info.setdefault(PENDING_KEY, [])
    pending.append((path, args, kwargs))
    if not session.info.get("saas.commit_hook"):
        session.info["saas.commit_hook"] = True
        event.listen(session, "after_commit", _flush_pending)
        event.listen(session, "after_rollback", _drop_pending)


def _flush_pending(session: Session) -> None:
    # SQLAlchemy fires after_commit for a SAVEPOINT release too; the data is only visible
    # to a job once the outermost transaction commits.
    if session.in_nested_transaction():
        return
    pending = session.info.pop(PENDING_KEY, [])
    for path, args, kwargs in pending:
        try:
            enqueue(path, *args, **kwargs)
        except Exception:
            # Redis down: the outbox sweep re-enqueues from PostgreSQL later.
            log.exception("could not enqueue %s%r", path, args)


def _drop_pending(session: Session) -> None:
    if not session.in_transaction():
        session.info.pop(PENDING_KEY, None)
