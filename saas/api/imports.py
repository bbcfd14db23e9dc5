"""Imports: upload a CSV/XLSX file, map its columns, dry-run, start, follow progress and
download the error report."""

from __future__ import annotations

import uuid

import marshmallow as ma
from flask import Response, stream_with_context
from flask_smorest import Blueprint
from flask_smorest.fields import Upload

from saas.api.common import Schema, api_actor, require
from saas.api.pagination import keyset_page
from saas.extensions import db
from saas.models.imports import IMPORT_ENTITIES, ImportJob
from saas.services import imports
from saas.uploads import large_upload

blp = Blueprint("api_imports", __name__, url_prefix="/imports",
                description="Import customers, contacts, products, orders and interactions "
                            "from CSV or XLSX.")


class ImportJobSchema(Schema):
    id = ma.fields.UUID()
    entity = ma.fields.String()
    filename = ma.fields.String()
    file_format = ma.fields.String(metadata={"description": "csv or xlsx"})
    encoding = ma.fields.String(allow_none=True, metadata={
        "description": "Detected text encoding of a CSV (utf-8, utf-8-sig, gb18030...)."})
    size = ma.fields.Integer()
    columns = ma.fields.List(ma.fields.String())
    mapping = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    targets = ma.fields.Method("_targets", metadata={
        "description": "Fields a column can be mapped to (custom fields as cf.<key>); "
                       "fields hidden from the caller's role are left out."})
    read_only_targets = ma.fields.Method("_read_only_targets", metadata={
        "description": "Those of `targets` the caller's role may see but not change: "
                       "mapping a column to one is refused (403)."})
    status = ma.fields.String(metadata={"description": "uploaded, queued, running, done, "
                                                       "failed"})
    total_rows = ma.fields.Integer()
    processed_rows = ma.fields.Integer()
    progress = ma.fields.Method("_progress", metadata={"description": "0-100"})
    created_count = ma.fields.Integer()
    updated_count = ma.fields.Integer()
    skipped_count = ma.fields.Integer()
    error_count = ma.fields.Integer()
    message = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    started_at = ma.fields.DateTime(allow_none=True)
    finished_at = ma.fields.DateTime(allow_none=True)

    def _targets(self, job: ImportJob) -> list[str]:
        return list(imports.target_access(db.session, api_actor(), job.entity))

    def _read_only_targets(self, job: ImportJob) -> list[str]:
        return [t for t, level in imports.target_access(db.session, api_actor(),
                                                        job.entity).items() if level != "write"]

    def _progress(self, job: ImportJob) -> int:
        if job.status == "done":
            return 100
        return int(100 * job.processed_rows / job.total_rows) if job.total_rows else 0


class ImportListSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(ImportJobSchema))
    next_cursor = ma.fields.String(allow_none=True)


class ImportListArgs(Schema):
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))
    cursor = ma.fields.String(load_default=None)


class ImportUploadForm(Schema):
    entity = ma.fields.String(required=True, validate=ma.validate.OneOf(IMPORT_ENTITIES))


class ImportUploadFiles(Schema):
    file = Upload(required=True, metadata={"description": "CSV (UTF-8, UTF-8 with BOM or "
                                                          "GBK) or XLSX; first row names the "
                                                          "columns."})


class ImportMappingSchema(Schema):
    mapping = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(allow_none=True),
                             required=True, metadata={
                                 "description": "{column: field}; empty or null ignores "
                                                "the column."})


class ImportPreviewArgs(Schema):
    limit = ma.fields.Integer(load_default=20, validate=ma.validate.Range(
        min=1, max=imports.PREVIEW_MAX))


class ImportIssueSchema(Schema):
    column = ma.fields.String(allow_none=True)
    value = ma.fields.String()
    message = ma.fields.String()


class ImportPreviewRowSchema(Schema):
    row = ma.fields.Integer(metadata={"description": "Row number as in a spreadsheet "
                                                     "(header is row 1)."})
    status = ma.fields.String(metadata={"description": "created, updated, skipped or error"})
    values = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    errors = ma.fields.List(ma.fields.Nested(ImportIssueSchema))


class ImportPreviewSchema(Schema):
    rows = ma.fields.List(ma.fields.Nested(ImportPreviewRowSchema))
    total_rows = ma.fields.Integer()
    mapping = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())


@blp.route("")
@require("customers.write")
@blp.arguments(ImportListArgs, location="query")
@blp.response(200, ImportListSchema)
def list_imports(args):
    return keyset_page(db.session, imports.list_jobs(),
                       [ImportJob.created_at.desc(), ImportJob.id.desc()], args["limit"],
                       args["cursor"])


@blp.route("", methods=["POST"])
@large_upload
@require("customers.write")
@blp.arguments(ImportUploadForm, location="form")
@blp.arguments(ImportUploadFiles, location="files")
@blp.response(201, ImportJobSchema)
def upload_import(form, files):
    """Bodies over IMPORT_MAX_BYTES are refused with 413 before they are read."""
    upload = files["file"]
    job = imports.upload(db.session, api_actor(), form["entity"], upload.filename or "",
                         upload.stream)
    db.session.commit()
    return job


@blp.route("/<uuid:import_id>")
@require("customers.write")
@blp.response(200, ImportJobSchema)
def get_import(import_id: uuid.UUID):
    return imports.get_job(db.session, import_id)


@blp.route("/<uuid:import_id>/mapping", methods=["PUT"])
@require("customers.write")
@blp.arguments(ImportMappingSchema)
@blp.response(200, ImportJobSchema)
def set_mapping(data, import_id: uuid.UUID):
    job = imports.set_mapping(db.session, api_actor(), import_id, data["mapping"])
    db.session.commit()
    return job


@blp.route("/<uuid:import_id>/preview", methods=["POST"])
@require("customers.write")
@blp.arguments(ImportPreviewArgs, location="query")
@blp.response(200, ImportPreviewSchema)
def preview_import(args, import_id: uuid.UUID):
    result = imports.preview(db.session, api_actor(), import_id, args["limit"])
    db.session.rollback()
    return result


@blp.route("/<uuid:import_id>/start", methods=["POST"])
@require("customers.write")
@blp.response(202, ImportJobSchema)
def start_import(import_id: uuid.UUID):
    job = imports.start(db.session, api_actor(), import_id)
    job_id = job.id
    db.session.commit()
    return imports.get_job(db.session, job_id)


@blp.route("/<uuid:import_id>/errors")
@require("customers.write")
@blp.doc(responses={"200": {"description": "CSV: row, column, value, message.",
                            "content": {"text/csv": {}}}})
def import_errors(import_id: uuid.UUID):
    chunks = imports.error_report(db.session, import_id)
    return Response(stream_with_context(chunks), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="import-{import_id}-errors.csv"'})
