"""Import pages: upload, column mapping with a dry-run preview, progress, error report;
and the export of the customer list's current filter."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from saas.api.exports import export_response
from saas.extensions import db
from saas.models.imports import IMPORT_ENTITIES, ImportJob
from saas.services import imports
from saas.services.errors import ServiceError
from saas.uploads import large_upload
from saas.web import nav
from saas.web.access import flash_error, request_actor, require

bp = Blueprint("imports", __name__, url_prefix="/t/<slug>/imports")
nav.add("imports.index", _l("Import"), permission="customers.write", order=25)

ENTITY_LABELS = {"customers": _l("Customers"), "contacts": _l("Contacts"),
                 "products": _l("Products"), "orders": _l("Orders"),
                 "interactions": _l("Interactions")}
STATUS_LABELS = {"uploaded": _l("Waiting for mapping"), "queued": _l("Queued"),
                 "running": _l("Running"), "done": _l("Done"), "failed": _l("Failed")}


def _progress(job: ImportJob) -> dict:
    percent = 100 if job.status == "done" else (
        int(100 * job.processed_rows / job.total_rows) if job.total_rows else 0)
    return {"status": job.status, "status_label": str(STATUS_LABELS[job.status]),
            "percent": percent, "processed": job.processed_rows, "total": job.total_rows,
            "created": job.created_count, "updated": job.updated_count,
            "skipped": job.skipped_count, "errors": job.error_count,
            "message": job.message}


def _index(status: int = 200):
    jobs = db.session.scalars(imports.list_jobs().order_by(
        ImportJob.created_at.desc(), ImportJob.id.desc()).limit(50)).all()
    return render_template("imports/index.html", jobs=jobs, entities=IMPORT_ENTITIES,
                           entity_labels=ENTITY_LABELS, status_labels=STATUS_LABELS), status


@bp.get("/")
@require("customers.write")
def index():
    return _index()


@bp.post("/")
@large_upload
@require("customers.write")
def upload():
    """A body over IMPORT_MAX_BYTES never gets here: the 413 page states the limit."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose a CSV or XLSX file."), "error")
        return _index(422)
    try:
        job = imports.upload(db.session, request_actor(), request.form.get("entity", ""),
                             upload.filename, upload.stream)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        flash_error(exc)
        return _index(exc.status)
    return redirect(url_for(".show", import_id=job.id), 303)


def _show(job: ImportJob, preview: dict | None = None, errors: dict | None = None,
          mapping: dict | None = None, status: int = 200):
    issues = []
    if job.status in ("done", "failed") and job.error_count:
        issues = [row for _n, row in zip(range(20), imports.error_rows(db.session, job.id),
                                         strict=False)]
    return render_template(
        "imports/show.html", job=job, preview=preview, errors=errors or {},
        mapping=mapping if mapping is not None else job.mapping,
        targets=imports.target_access(db.session, request_actor(), job.entity), issues=issues,
        entity_labels=ENTITY_LABELS, status_labels=STATUS_LABELS,
        progress=_progress(job)), status


@bp.get("/<import_id>")
@require("customers.write")
def show(import_id: str):
    return _show(imports.get_job(db.session, import_id))


@bp.post("/<import_id>")
@require("customers.write")
def configure(import_id: str):
    """Save the mapping, then either preview (dry run) or start the import."""
    job = imports.get_job(db.session, import_id)
    mapping = {col: request.form.get(f"map-{i}", "") for i, col in enumerate(job.columns)}
    action = request.form.get("action", "preview")
    try:
        imports.set_mapping(db.session, request_actor(), job.id, mapping)
        if action == "start":
            imports.start(db.session, request_actor(), job.id)
            db.session.commit()
            flash(_("Import started."), "success")
            return redirect(url_for(".show", import_id=job.id), 303)
        db.session.commit()
        result = imports.preview(db.session, request_actor(), job.id, 20)
        db.session.rollback()
    except ServiceError as exc:
        db.session.rollback()
        job = imports.get_job(db.session, import_id)
        flash_error(exc)
        return _show(job, errors=exc.errors, mapping=mapping, status=exc.status)
    return _show(imports.get_job(db.session, import_id), preview=result)


@bp.get("/<import_id>/progress")
@require("customers.write")
def progress(import_id: str):
    return jsonify(_progress(imports.get_job(db.session, import_id)))


@bp.get("/<import_id>/errors.csv")
@require("customers.write")
def error_report(import_id: str):
    job = imports.get_job(db.session, import_id)
    chunks = imports.error_report(db.session, job.id)
    name = job.filename.rsplit(".", 1)[0] or "import"
    return Response(stream_with_context(chunks), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{name}-errors.csv"'})


@bp.get("/export")
@require("customers.read")
def export():
    """The customer list's current filter (same query string) as CSV or XLSX."""
    try:
        return export_response(request.args, "customers")
    except ServiceError as exc:
        flash_error(exc)
        return redirect(url_for("customers.index"), 303)

