"""Importing customers, contacts, products, orders and interactions from CSV/XLSX.

The flow: `upload` (file read and header checked, a mapping suggested from the tenant's
saved one) → `set_mapping` (checked, saved for next time) → `preview` (a dry run of the
first rows, rolled back) → `start` (queued as a job) → `process` (the job: batches,
committed one by one so progress shows and good rows are kept) → `error_report`.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.orm import Session, undefer

from saas.models.base import new_id, utcnow
from saas.models.imports import IMPORT_ENTITIES, ImportJob, ImportMapping, ImportRowError
from saas.services import (
    audit,
    custom_fields,
    field_access,
    import_fields,
    limits,
    outbox,
    row_scope,
)
from saas.services.context import Actor
from saas.services.customers import bound_tenant, parse_id
from saas.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from saas.services.import_fields import RowMapper, check_mapping, suggest
from saas.services.import_parsing import UnreadableRow, open_table, sniff
from saas.services.import_rows import APPLIERS, Issue, RowApplier, Tally
from saas.tenancy import bind_tenant

BATCH = 200
COPY_BATCH = 20_000
MAX_ISSUES = 100_000
PREVIEW_MAX = 200
ERROR_REPORT_HEADER = ("row", "column", "value", "message")


def get_job(session: Session, job_id: Any, with_content: bool = False) -> ImportJob:
    stmt = select(ImportJob).where(ImportJob.id == parse_id(job_id, "import"))
    if with_content:
        stmt = stmt.options(undefer(ImportJob.content))
    job = session.scalars(stmt).first()
    if job is None:
        raise NotFound("No such import.")
    return job


def list_jobs() -> Select:
    return select(ImportJob)


def saved_mapping(session: Session, entity: str) -> dict[str, str]:
    row = session.scalars(select(ImportMapping).where(ImportMapping.entity == entity)).first()
    return dict(row.mapping) if row else {}


def upload(session: Session, actor: Actor, entity: str, filename: str,
           stream: io.BufferedIOBase | io.BytesIO) -> ImportJob:
    """Keep the file, read its header and count its rows; nothing is imported yet."""
    if entity not in IMPORT_ENTITIES:
        raise InvalidInput.field("entity", f"Choose one of: {', '.join(IMPORT_ENTITIES)}.")
    filename = (filename or "upload.csv").replace("\\", "/").rsplit("/", 1)[-1][:255]
    content = stream.read()
    if not content:
        raise InvalidInput.field("file", "The file is empty: the first row must name the "
                                         "columns.")
    file_format, encoding = sniff(io.BytesIO(content), filename)
    table = open_table(io.BytesIO(content), file_format, encoding)
    total = sum(1 for _ in table.rows)
    mapping = suggest(session, entity, table.header, saved_mapping(session, entity))
    usable = target_access(session, actor, entity)
    mapping = {column: t for column, t in mapping.items() if usable.get(t) == "write"}
    job = ImportJob(entity=entity, filename=filename, file_format=file_format,
                    encoding=encoding, size=len(content), content=content,
                    columns=table.header, mapping=mapping, total_rows=total,
                    staff_id=actor.staff_id, status="uploaded")
    session.add(job)
    session.flush()
    audit.record(session, actor, "import.uploaded", "import", job.id,
                 {"entity": entity, "filename": filename, "rows": total})
    return job


def set_mapping(session: Session, actor: Actor, job_id: Any,
                mapping: Mapping[str, Any]) -> ImportJob:
    job = get_job(session, job_id)
    _editable(job)
    cleaned = check_mapping(session, job.entity, job.columns, mapping)
    check_mapping_access(session, actor, job.entity, cleaned)
    job.mapping = cleaned
    saved = session.scalars(select(ImportMapping).where(
        ImportMapping.entity == job.entity)).first()
    if saved is None:
        session.add(ImportMapping(entity=job.entity, mapping=cleaned))
    else:
        saved.mapping = {**saved.mapping, **cleaned}
    return job


# Lookup targets: finding the customer by a value is a filter on that field.
LOOKUP_FIELDS = {"customer_email": "emails", "customer_phone": "phones",
                 "customer_external_id": "external_id"}


def target_access(session: Session, actor: Actor, entity: str) -> dict[str, str]:
    """Each target the actor may be offered: "write" (mappable) or "read" (shown, not
    mappable). Fields hidden from the role are left out, and so are lookups by a value
    it may not see in clear: mapping them would write or probe what it may not."""
    names = import_fields.targets(session, entity)
    if actor.role not in field_access.CONFIGURABLE_ROLES:
        return dict.fromkeys(names, "write")
    access = field_access.access_for(session, actor.role)
    keys = {spec.key for spec in access.specs}
    out: dict[str, str] = {}
    for target in names:
        if target in LOOKUP_FIELDS:
            if access.can_see_clear(LOOKUP_FIELDS[target]):
                out[target] = "write"
            continue
        key = target if entity == "customers" else \
            field_access.CONTACT_FIELDS.get(target) if entity == "contacts" else None
        if key not in keys:
            out[target] = "write"
        elif key not in access.hidden:
            out[target] = "write" if key in access.editable else "read"
    return out


def check_mapping_access(session: Session, actor: Actor, entity: str,
                         mapping: Mapping[str, Any]) -> None:
    """403 naming every column mapped to a field the actor may not write (or a lookup it
    may not filter by): refused here, no import path can write it, COPY included."""
    usable = target_access(session, actor, entity)
    known = set(import_fields.targets(session, entity))
    errors = {f"mapping.{column}": ["You may not filter on this field."
                                    if target in LOOKUP_FIELDS
                                    else "You may not change this field."]
              for column, target in mapping.items()
              if target in known and usable.get(target) != "write"}
    if errors:
        fields = sorted({mapping[k[len("mapping."):]] for k in errors})
        raise Forbidden("You may not change: " + ", ".join(fields) + ".", errors)


def _editable(job: ImportJob) -> None:
    if job.status != "uploaded":
        raise Conflict("This import has already been started.")


def _applier(session: Session, actor: Actor, job: ImportJob, headroom: int | None
             ) -> RowApplier:
    tenant = bound_tenant(session)
    check_mapping_access(session, actor, job.entity, job.mapping or {})
    mapper = RowMapper(job.entity, job.columns, job.mapping, tenant.timezone)
    # The COPY path writes custom fields as plain JSON; sensitive ones go row by row.
    # So do importers with a row scope: matches outside it are refused row by row.
    if job.entity == "customers" and session.get_bind().dialect.name == "postgresql" \
            and not custom_fields.encrypted_targets(session) & set((job.mapping or {}).values()) \
            and row_scope.scope_for(session, actor.role) == "all" \
            and not any(t.startswith("consent.") for t in (job.mapping or {}).values()):
        # ...and consent columns: the COPY path keeps no consent history.
        from saas.services.import_copy import CopyCustomerRows

        return CopyCustomerRows(session, actor, job, mapper, headroom)
    return APPLIERS[job.entity](session, actor, job, mapper, headroom)


def _rows(job: ImportJob, mapper: RowMapper, sink: Tally, limit: int | None = None
          ) -> Iterator[tuple[int, list[str], dict[str, str]]]:
    """Mapped rows; rows too wide and exact repeats are reported in `sink`, not applied.

    The job's fields are read now, not when iteration starts: a commit in between
    expires them, and the iteration may run in another thread without a session."""
    source = (io.BytesIO(job.content), job.file_format, job.encoding)
    return _scan(source, len(job.columns), mapper, sink, limit)


def _scan(source: tuple, width: int, mapper: RowMapper, sink: Tally, limit: int | None
          ) -> Iterator[tuple[int, list[str], dict[str, str]]]:
    table = open_table(*source)
    seen: dict[int, int] = {}
    for count, (number, cells) in enumerate(table.rows):
        if limit is not None and count >= limit:
            return
        if isinstance(cells, UnreadableRow):
            sink.failed += 1
            sink.issues.append(Issue(number, None, cells.value, cells.message))
            continue
        if len(cells) > width:
            sink.failed += 1
            sink.issues.append(Issue(number, None, cells[width], f"This row has more cells "
                                     f"than the header has columns ({width})."))
            continue
        fingerprint = hash(tuple(cells))
        if fingerprint in seen:
            sink.skipped += 1
            sink.issues.append(Issue(number, None, "",
                                     f"Same as row {seen[fingerprint]}; skipped."))
            continue
        seen[fingerprint] = number
        yield number, cells, mapper.values(cells)


def _check_ready(job: ImportJob) -> None:
    if not job.mapping:
        raise InvalidInput.field("mapping", "Map the file's columns first.")


def preview(session: Session, actor: Actor, job_id: Any, limit: int = 20) -> dict[str, Any]:
    """A dry run of the first `limit` rows: what each would do, with its problems.
    Everything is rolled back."""
    if not 1 <= limit <= PREVIEW_MAX:
        raise InvalidInput.field("limit", f"Use 1-{PREVIEW_MAX}.")
    job = get_job(session, job_id, with_content=True)
    _check_ready(job)
    check_mapping(session, job.entity, job.columns, job.mapping)
    savepoint = session.begin_nested()
    try:
        applier = _applier(session, actor, job, _headroom(session, job))
        rows = list(_rows(job, applier.mapper, applier.tally, limit))
        outcomes = []
        for number, cells, values in rows:
            before = _counts(applier)
            applier.apply([(number, cells, values)])
            after = _counts(applier)
            status = next(k for k in after if after[k] != before[k]) \
                if after != before else "skipped"
            outcomes.append({"row": number, "status": status, "values": values,
                             "errors": [_issue_dict(i) for i in applier.tally.issues
                                        if i.row == number]})
        wide = [i for i in applier.tally.issues if i.row not in {r[0] for r in rows}]
        for issue in wide:
            outcomes.append({"row": issue.row, "status": "error" if "more cells" in
                             issue.message else "skipped", "values": {},
                             "errors": [_issue_dict(issue)]})
    finally:
        savepoint.rollback()
    outcomes.sort(key=lambda o: o["row"])
    return {"rows": outcomes, "total_rows": job.total_rows, "mapping": job.mapping}


def _counts(applier: RowApplier) -> dict[str, int]:
    t = applier.tally
    return {"created": t.created, "updated": t.updated, "skipped": t.skipped,
            "error": t.failed}


def _issue_dict(issue: Issue) -> dict[str, Any]:
    return {"column": issue.column, "value": issue.value, "message": issue.message}


def _headroom(session: Session, job: ImportJob) -> int | None:
    """Room left under the plan's customer limit (None: unlimited); refuses (402) while
    the account is read-only, whatever is imported."""
    room = limits.headroom(session, None, "customers")
    return room if job.entity == "customers" else None


def start(session: Session, actor: Actor, job_id: Any) -> ImportJob:
    """Queue the import (after commit). Refused when the account is read-only."""
    job = get_job(session, job_id)
    _editable(job)
    _check_ready(job)
    check_mapping(session, job.entity, job.columns, job.mapping)
    check_mapping_access(session, actor, job.entity, job.mapping)
    _headroom(session, job)
    job.status = "queued"
    audit.record(session, actor, "import.started", "import", job.id,
                 {"entity": job.entity, "mapping": job.mapping})
    from saas.jobs.queue import enqueue_after_commit

    enqueue_after_commit(session, "saas.jobs.imports:run_import", job.tenant_id, job.id)
    return job


def process(session: Session, actor: Actor, job_id: Any) -> Iterator[ImportJob]:
    """Run the import, yielding after each batch so the caller commits it (progress shows,
    good rows are kept). Re-running a finished import does nothing."""
    job = get_job(session, job_id, with_content=True)
    if job.status in ("done", "failed"):
        return
    job.status, job.started_at = "running", utcnow()
    job.processed_rows = job.created_count = job.updated_count = 0
    job.skipped_count = job.error_count = 0
    session.execute(ImportRowError.__table__.delete().where(
        ImportRowError.tenant_id == job.tenant_id, ImportRowError.job_id == job.id))
    yield job
    applier = _applier(session, actor, job, _headroom(session, job))
    if hasattr(applier, "prepare"):
        yield from _pipelined(session, job, applier)
    else:
        batch: list = []
        for row in _rows(job, applier.mapper, applier.tally):
            batch.append(row)
            if len(batch) >= BATCH:
                applier.apply(batch)
                _flush(session, job, applier, len(batch))
                batch = []
                yield job
        applier.apply(batch)
        _flush(session, job, applier, len(batch))
    job.status, job.finished_at = "done", utcnow()
    job.processed_rows = job.total_rows
    job.content = None
    outbox.emit(session, "import.finished", "import", job.id,
                {"entity": job.entity, "created": job.created_count,
                 "updated": job.updated_count, "errors": job.error_count})
    audit.record(session, actor, "import.finished", "import", job.id,
                 {"created": job.created_count, "updated": job.updated_count,
                  "skipped": job.skipped_count, "errors": job.error_count})
    yield job


def _pipelined(session: Session, job: ImportJob, applier: Any) -> Iterator[ImportJob]:
    """Batches for an applier that splits work into `prepare` (Python: parse, validate)
    and `apply_prepared` (database): the next batch is prepared in a thread while this
    one is written, so the CPU work overlaps the database's."""
    sink = Tally()
    rows = _rows(job, applier.mapper, sink)

    def pull() -> tuple[int, Any, Tally]:
        batch = list(itertools.islice(rows, COPY_BATCH))
        extra = Tally(skipped=sink.skipped, failed=sink.failed, issues=sink.issues)
        sink.skipped, sink.failed, sink.issues = 0, 0, []
        return len(batch), applier.prepare(batch), extra

    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(pull)
        while True:
            count, prepared, extra = pending.result()
            last = count < COPY_BATCH
            if not last:
                pending = pool.submit(pull)
            applier.tally.skipped += extra.skipped
            applier.tally.failed += extra.failed
            applier.tally.issues += extra.issues
            applier.apply_prepared(prepared)
            _flush(session, job, applier, count + extra.skipped + extra.failed)
            if last:
                return
            yield job


def _flush(session: Session, job: ImportJob, applier: RowApplier, count: int) -> None:
    tally = applier.tally
    job.processed_rows = min(job.processed_rows + count, job.total_rows)
    job.created_count, job.updated_count = tally.created, tally.updated
    job.skipped_count, job.error_count = tally.skipped, tally.failed
    issues, tally.issues = tally.issues, []
    stored = session.scalar(select(func.count()).select_from(ImportRowError).where(
        ImportRowError.job_id == job.id)) if issues else 0
    room = max(MAX_ISSUES - (stored or 0), 0)
    if issues[:room]:
        session.execute(ImportRowError.__table__.insert(), [
            {"tenant_id": job.tenant_id, "id": new_id(), "created_at": utcnow(),
             "job_id": job.id, "row_number": i.row, "column": i.column,
             "value": (i.value or "")[:2000], "message": i.message} for i in issues[:room]])


def fail(session: Session, job_id: Any, message: str) -> None:
    """Mark an import that stopped on an unexpected error (the rows committed stay)."""
    job = get_job(session, job_id)
    job.status, job.finished_at = "failed", utcnow()
    job.message = message[:2000]


def error_rows(session: Session, job_id: Any, page: int = 1000
               ) -> Iterator[tuple[int, str | None, str | None, str]]:
    """(row, column, value, message) in row order, read page by page with fresh queries.

    A streamed response runs after the request's session was removed, so the generator
    binds the tenant again to the (new) scoped session before it reads."""
    job = get_job(session, job_id)
    job_key, after = job.id, (0, None)
    e = ImportRowError

    def generate() -> Iterator[tuple[int, str | None, str | None, str]]:
        nonlocal after
        bind_tenant(session, job.tenant_id)
        while True:
            stmt = select(e.row_number, e.id, e.column, e.value, e.message).where(
                e.job_id == job_key).order_by(e.row_number, e.id).limit(page)
            if after[1] is not None:
                stmt = stmt.where(tuple_(e.row_number, e.id) > tuple_(*after))
            batch = session.execute(stmt).all()
            for number, _id, column, value, message in batch:
                yield number, column, value, message
            if len(batch) < page:
                return
            after = (batch[-1][0], batch[-1][1])

    return generate()


def error_report(session: Session, job_id: Any) -> Iterator[str]:
    """The error report as CSV text chunks (UTF-8 with BOM so Excel shows CJK text)."""
    from saas.services.exports import neutralise

    rows = error_rows(session, job_id)

    def generate() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")
        writer.writerow(ERROR_REPORT_HEADER)
        for count, (number, column, value, message) in enumerate(rows, start=1):
            writer.writerow([number, neutralise(column or ""), neutralise(value or ""),
                             neutralise(message)])
            if count % 500 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return generate()
