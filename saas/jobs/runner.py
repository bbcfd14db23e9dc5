"""Running a job function inside an app context bound to its tenant.

A job function is declared with `@tenant_job(...)`; RQ imports it by dotted path and
calls it with plain ids. The wrapper builds (once per process) or reuses the Flask app,
pushes a fresh app context (so a fresh DB session), binds the tenant, commits on success,
and re-raises on failure so RQ's failed registry and retries see it.

Work-horses are forked from the worker: the first job in a new process drops the pooled
DB connections it inherited (sharing a socket between processes corrupts both), and
every log line written during a job carries its id (`saas.jobs.logs`).
"""

from __future__ import annotations

import functools
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app, has_app_context

log = logging.getLogger("saas.jobs")

_APP: Flask | None = None
_PID: int | None = None


@dataclass(frozen=True)
class JobSpec:
    retries: int = 3
    intervals: list[int] = field(default_factory=lambda: [5, 30, 120])
    timeout: int = 300
    tenant: bool = True


def _app() -> Flask:
    global _APP, _PID
    app = current_app._get_current_object() if has_app_context() else _APP
    if app is None:
        from saas import create_app

        app = _APP = create_app()
    if os.getpid() != _PID:
        # A forked work-horse must not reuse the parent's pooled connections.
        from saas.extensions import db

        with app.app_context():
            db.engine.dispose(close=False)
        _PID = os.getpid()
    return app


def tenant_job(retries: int = 3, intervals: list[int] | None = None, timeout: int = 300,
               tenant: bool = True) -> Callable:
    """Declare a job: its retries (RQ `Retry(max=retries, interval=intervals)`), its
    time limit in seconds, and whether its first argument is a tenant id to bind."""
    spec = JobSpec(retries=retries, intervals=intervals or [5, 30, 120], timeout=timeout,
                   tenant=tenant)

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from saas.extensions import db
            from saas.jobs.logs import current_job_id, job_scope
            from saas.tenancy import bind_tenant

            app = _app()
            job_id = current_job_id()
            if job_id == "-":
                job_id = f"inline-{uuid.uuid4().hex[:12]}"
            name = f"{fn.__module__}:{fn.__name__}"
            with job_scope(job_id), app.app_context():
                session = db.session
                try:
                    if spec.tenant:
                        tenant_id = args[0]
                        if isinstance(tenant_id, str):
                            tenant_id = uuid.UUID(tenant_id)
                        bind_tenant(session, tenant_id)
                        args = (tenant_id, *args[1:])
                    log.info("job %s %s started", job_id, name)
                    result = fn(*args, **kwargs)
                    session.commit()
                    log.info("job %s %s finished: %r", job_id, name, result)
                    return result
                except Exception as exc:
                    session.rollback()
                    log.warning("job %s %s failed: %s: %s", job_id, name,
                                type(exc).__name__, exc)
                    raise
                finally:
                    db.session.remove()

        wrapper.job_spec = spec  # type: ignore[attr-defined]
        return wrapper

    return decorate
