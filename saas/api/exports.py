"""Export the customers of a list filter as CSV or XLSX (streamed)."""

from __future__ import annotations

from flask import Response, request, stream_with_context
from flask_smorest import Blueprint

from saas.api import privacy as privacy_api
from saas.api.common import require
from saas.extensions import db
from saas.services import exports, read_audit
from saas.services.errors import InvalidInput

blp = Blueprint("api_exports", __name__, url_prefix="/exports",
                description="Customer exports.")


def export_response(args, filename: str) -> Response:
    """Validate the filter first (a bad one is a 422), then stream the file."""
    filters = {k: (args.getlist(k) if k == "tags" else args.get(k)) for k in args
               if k != "format"}
    if "tags" in filters:
        filters["tags"] = [t for item in filters["tags"] for t in item.split(",")]
    fmt = args.get("format", "csv")
    if fmt not in exports.FORMATS:
        raise InvalidInput.field("format", "Choose csv or xlsx.")
    actor = privacy_api.request_actor()
    header, body = exports.rows(db.session, filters, actor=actor)
    read_audit.record_list_export(db.session, actor, filters, fmt)
    db.session.commit()
    if fmt == "xlsx":
        stream, mimetype = exports.xlsx_stream(header, body), exports.XLSX_TYPE
    else:
        stream, mimetype = exports.csv_stream(header, body), "text/csv; charset=utf-8"
    return Response(stream_with_context(stream), mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{filename}.{fmt}"'})


@blp.route("/customers")
@require("customers.read")
@blp.doc(parameters=[
    {"in": "query", "name": "format", "schema": {"type": "string", "enum": ["csv", "xlsx"]}},
    {"in": "query", "name": "q", "schema": {"type": "string"}},
], responses={"200": {"description": "The customers matching the filter."}})
def export_customers():
    """Takes the same filters as GET /customers (`q`, `tags`, `category`, `cf.<key>`...)."""
    return export_response(request.args, "customers")
