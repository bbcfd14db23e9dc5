"""The import job: runs an uploaded import batch by batch, committing each batch."""

from __future__ import annotations

import uuid

from saas.extensions import db
from saas.jobs.runner import tenant_job
from saas.models import Staff
from saas.services import imports
from saas.services.context import Actor


@tenant_job(retries=0, timeout=4 * 3600)
def run_import(tenant_id: uuid.UUID, job_id: str) -> dict:
    """Not retried by RQ: a failure is recorded on the import for staff to see, and
    starting it again re-imports idempotently (rows upsert)."""
    session = db.session
    job = imports.get_job(session, job_id)
    staff = session.get(Staff, (tenant_id, job.staff_id)) if job.staff_id else None
    actor = Actor.of_staff(staff) if staff else Actor.system("import")
    try:
        for _batch in imports.process(session, actor, job_id):
            session.commit()
    except Exception as exc:
        session.rollback()
        imports.fail(session, job_id, f"{type(exc).__name__}: {exc}")
        session.commit()
        raise
    return {"created": job.created_count, "updated": job.updated_count,
            "errors": job.error_count}
