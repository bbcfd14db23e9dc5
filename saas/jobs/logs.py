"""Job ids on every log line written while a job runs (RQ work-horse or inline).

Without the id, the lines of concurrent jobs in a worker's log cannot be told apart.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator
from contextlib import contextmanager

FORMAT = "%(asctime)s %(levelname)s [job %(job_id)s] %(name)s: %(message)s"
_JOB_ID: contextvars.ContextVar[str] = contextvars.ContextVar("saas_job_id", default="-")


def current_job_id() -> str:
    """The id of the job this code runs in: RQ's job, else the inline job's, else '-'."""
    from rq import get_current_job

    job = get_current_job()
    return job.id if job is not None else _JOB_ID.get()


@contextmanager
def job_scope(job_id: str) -> Iterator[None]:
    token = _JOB_ID.set(job_id)
    try:
        yield
    finally:
        _JOB_ID.reset(token)


class JobIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "job_id"):
            record.job_id = current_job_id()
        return True


def install(level: int = logging.INFO) -> None:
    """Put the job id into every record the root logger's handlers write (idempotent)."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    root.setLevel(level)
    for handler in root.handlers:
        if not any(isinstance(f, JobIdFilter) for f in handler.filters):
            handler.addFilter(JobIdFilter())
        handler.setFormatter(logging.Formatter(FORMAT))
