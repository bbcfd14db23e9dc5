"""Service-desk tickets: queues, conversation, status changes, files, SLA settings."""

from __future__ import annotations

import uuid
from datetime import timedelta

import marshmallow as ma
from flask import current_app, g, request, send_file
from flask_smorest import Blueprint

from saas.api.common import Schema, api_actor, current_tenant, require
from saas.api.pagination import page_args, page_schema, paginate
from saas.extensions import db
from saas.models.tickets import PRIORITIES, STATUSES, TICKET_CHANNELS, TICKET_TYPES, Ticket
from saas.services import holidays as holiday_service
from saas.services import row_scope, sla, ticket_analysis
from saas.services import tickets as ticket_service
from saas.services.errors import InvalidInput
from saas.services.visits import tenant_today

blp = Blueprint("api_tickets", __name__, url_prefix="/tickets",
                description="Service-desk tickets with SLA deadlines.")


class TicketSchema(Schema):
    id = ma.fields.UUID()
    customer_id = ma.fields.UUID()
    subject = ma.fields.String()
    description = ma.fields.String()
    channel = ma.fields.String()
    type = ma.fields.String()
    priority = ma.fields.String()
    cause = ma.fields.String(allow_none=True)
    owner_id = ma.fields.UUID(allow_none=True)
    watchers = ma.fields.List(ma.fields.String())
    status = ma.fields.String()
    opened_at = ma.fields.DateTime()
    first_response_due_at = ma.fields.DateTime(allow_none=True)
    resolution_due_at = ma.fields.DateTime(allow_none=True)
    first_responded_at = ma.fields.DateTime(allow_none=True)
    resolved_at = ma.fields.DateTime(allow_none=True)
    closed_at = ma.fields.DateTime(allow_none=True)
    reopen_count = ma.fields.Integer()
    overdue = ma.fields.Function(lambda t: ticket_service.is_overdue(t))
    updated_at = ma.fields.DateTime()


class TicketCreateSchema(Schema):
    customer_id = ma.fields.UUID(required=True)
    subject = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    description = ma.fields.String()
    channel = ma.fields.String(validate=ma.validate.OneOf(TICKET_CHANNELS))
    type = ma.fields.String(validate=ma.validate.OneOf(TICKET_TYPES))
    priority = ma.fields.String(validate=ma.validate.OneOf(PRIORITIES))
    cause = ma.fields.String(allow_none=True)
    owner_id = ma.fields.UUID(allow_none=True)
    watchers = ma.fields.List(ma.fields.UUID())


class TicketUpdateSchema(Schema):
    subject = ma.fields.String(validate=ma.validate.Length(min=1, max=200))
    description = ma.fields.String()
    type = ma.fields.String(validate=ma.validate.OneOf(TICKET_TYPES))
    priority = ma.fields.String(validate=ma.validate.OneOf(PRIORITIES))
    cause = ma.fields.String(allow_none=True)
    owner_id = ma.fields.UUID(allow_none=True)
    watchers = ma.fields.List(ma.fields.UUID())


class TicketStatusSchema(Schema):
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(STATUSES))


class TicketMessageSchema(Schema):
    id = ma.fields.UUID()
    kind = ma.fields.String()
    body = ma.fields.String()
    author_id = ma.fields.UUID(allow_none=True)
    author_label = ma.fields.String(allow_none=True)
    channel = ma.fields.String(allow_none=True)
    delivery_status = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()


class TicketMessageCreateSchema(Schema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(["reply", "note"]))
    body = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=20000))


class TicketAttachmentSchema(Schema):
    id = ma.fields.UUID()
    filename = ma.fields.String()
    content_type = ma.fields.String()
    size = ma.fields.Integer()
    sha256 = ma.fields.String()
    created_at = ma.fields.DateTime()


class TicketSlaTargetSchema(Schema):
    first_response_hours = ma.fields.Float(required=True)
    resolution_hours = ma.fields.Float(required=True)


class TicketSettingsSchema(Schema):
    causes = ma.fields.List(ma.fields.String(), required=True)
    working_days = ma.fields.List(ma.fields.Integer(), required=True)
    working_hours = ma.fields.List(ma.fields.String(), required=True)
    priorities = ma.fields.Dict(keys=ma.fields.String(),
                                values=ma.fields.Nested(TicketSlaTargetSchema), required=True)
    holidays = ma.fields.List(ma.fields.String(), dump_only=True)
    timezone = ma.fields.String(dump_only=True)


TicketListArgs = page_args(
    "TicketListArgs", sorts=("opened_at", "resolution_due_at"), default="-opened_at",
    queue=ma.fields.String(load_default="all",
                           validate=ma.validate.OneOf(ticket_service.QUEUES)),
    status=ma.fields.String(validate=ma.validate.OneOf(STATUSES)),
    priority=ma.fields.String(validate=ma.validate.OneOf(PRIORITIES)),
    customer_id=ma.fields.UUID(), owner_id=ma.fields.UUID(), cause=ma.fields.String())


def _settings() -> dict:
    tenant = current_tenant()
    return {"causes": ticket_service.causes(tenant), **sla.policy_data(tenant),
            "timezone": tenant.timezone}


@blp.before_request
def _ticket_in_row_scope():
    """Every route with a ticket id: 404 when the ticket's customer is outside the
    caller's row scope (privacy, issue 11)."""
    ticket_id = (request.view_args or {}).get("ticket_id")
    if ticket_id is not None and g.get("staff") is not None:
        ticket = ticket_service.get_ticket(db.session, ticket_id)
        row_scope.ensure_visible(db.session, api_actor(), ticket.customer_id)


@blp.route("")
@require("tickets.read")
@blp.arguments(TicketListArgs, location="query")
@blp.response(200, page_schema(TicketSchema))
def list_tickets(args):
    actor = api_actor()
    if args.get("customer_id"):
        row_scope.ensure_visible(db.session, actor, args["customer_id"])
    stmt = ticket_service.query(db.session, actor, queue=args["queue"],
                                status=args.get("status"), priority=args.get("priority"),
                                customer_id=args.get("customer_id"),
                                owner_id=args.get("owner_id"), cause=args.get("cause"))
    stmt = row_scope.limit_by_customer(db.session, actor, stmt, Ticket.customer_id)
    return paginate(db.session, stmt, args,
                    columns={"opened_at": Ticket.opened_at,
                             "resolution_due_at": Ticket.resolution_due_at},
                    tiebreak=Ticket.id)


@blp.route("", methods=["POST"])
@require("tickets.write")
@blp.arguments(TicketCreateSchema)
@blp.response(201, TicketSchema)
def create_ticket(data):
    if data.get("watchers") is not None:
        data["watchers"] = [str(w) for w in data["watchers"]]
    row_scope.ensure_visible(db.session, api_actor(), data["customer_id"])
    ticket = ticket_service.create_ticket(db.session, api_actor(), {"channel": "api", **data})
    db.session.commit()
    return ticket


@blp.route("/settings")
@require("tickets.read")
@blp.response(200, TicketSettingsSchema)
def get_settings():
    return _settings()


@blp.route("/settings", methods=["PUT"])
@require("settings.manage")
@blp.arguments(TicketSettingsSchema)
@blp.response(200, TicketSettingsSchema)
def put_settings(data):
    actor = api_actor()
    ticket_service.set_causes(db.session, actor, data.pop("causes"))
    ticket_service.set_sla_policy(db.session, actor, data)
    db.session.commit()
    return _settings()


@blp.route("/<uuid:ticket_id>")
@require("tickets.read")
@blp.response(200, TicketSchema)
def get_ticket(ticket_id: uuid.UUID):
    return ticket_service.get_ticket(db.session, ticket_id)


@blp.route("/<uuid:ticket_id>", methods=["PATCH"])
@require("tickets.write")
@blp.arguments(TicketUpdateSchema)
@blp.response(200, TicketSchema)
def update_ticket(data, ticket_id: uuid.UUID):
    if data.get("watchers") is not None:
        data["watchers"] = [str(w) for w in data["watchers"]]
    ticket = ticket_service.update_ticket(db.session, api_actor(), ticket_id, data)
    db.session.commit()
    return ticket


@blp.route("/<uuid:ticket_id>/status", methods=["POST"])
@require("tickets.write")
@blp.arguments(TicketStatusSchema)
@blp.response(200, TicketSchema)
def change_status(data, ticket_id: uuid.UUID):
    ticket = ticket_service.change_status(db.session, api_actor(), ticket_id, data["status"])
    db.session.commit()
    return ticket


@blp.route("/<uuid:ticket_id>/messages")
@require("tickets.read")
@blp.response(200, TicketMessageSchema(many=True))
def list_messages(ticket_id: uuid.UUID):
    return ticket_service.messages(db.session, ticket_service.get_ticket(db.session, ticket_id))


@blp.route("/<uuid:ticket_id>/messages", methods=["POST"])
@require("tickets.write")
@blp.arguments(TicketMessageCreateSchema)
@blp.response(201, TicketMessageSchema)
def add_message(data, ticket_id: uuid.UUID):
    message = ticket_service.add_message(db.session, api_actor(), ticket_id, data["kind"],
                                         data["body"])
    db.session.commit()
    return message


@blp.route("/<uuid:ticket_id>/attachments")
@require("tickets.read")
@blp.response(200, TicketAttachmentSchema(many=True))
def list_attachments(ticket_id: uuid.UUID):
    return ticket_service.attachments(db.session,
                                      ticket_service.get_ticket(db.session, ticket_id))


@blp.route("/<uuid:ticket_id>/attachments", methods=["POST"])
@require("tickets.write")
@blp.response(201, TicketAttachmentSchema)
def upload_attachment(ticket_id: uuid.UUID):
    """Upload one file as multipart/form-data field `file`."""
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput.field("file", "Send the file as multipart field 'file'.")
    attachment = ticket_service.add_attachment(
        db.session, api_actor(), ticket_id, upload.filename or "", upload.read(),
        ticket_service.storage_root(current_app.instance_path))
    db.session.commit()
    return attachment


@blp.route("/<uuid:ticket_id>/attachments/<uuid:attachment_id>")
@require("tickets.read")
def download_attachment(ticket_id: uuid.UUID, attachment_id: uuid.UUID):
    attachment = ticket_service.get_attachment(db.session, ticket_id, attachment_id)
    path = ticket_service.attachment_path(
        ticket_service.storage_root(current_app.instance_path), attachment)
    return send_file(path, mimetype=attachment.content_type, as_attachment=True,
                     download_name=attachment.filename)


class HolidaySchema(Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    start = ma.fields.Date()
    end = ma.fields.Date()
    greeting = ma.fields.Boolean()


class HolidayCreateSchema(Schema):
    name = ma.fields.String(required=True)
    start = ma.fields.Date(required=True)
    end = ma.fields.Date(allow_none=True)
    greeting = ma.fields.Boolean()


class HolidayUpdateSchema(Schema):
    name = ma.fields.String()
    start = ma.fields.Date()
    end = ma.fields.Date(allow_none=True)
    greeting = ma.fields.Boolean()


@blp.route("/holidays")
@require("tickets.read")
@blp.response(200, HolidaySchema(many=True))
def list_holidays():
    return holiday_service.calendar(current_tenant())


@blp.route("/holidays", methods=["POST"])
@require("settings.manage")
@blp.arguments(HolidayCreateSchema)
@blp.response(201, HolidaySchema)
def create_holiday(data):
    holiday = holiday_service.add_holiday(db.session, api_actor(), data)
    db.session.commit()
    return holiday


@blp.route("/holidays/<uuid:holiday_id>", methods=["PATCH"])
@require("settings.manage")
@blp.arguments(HolidayUpdateSchema)
@blp.response(200, HolidaySchema)
def update_holiday(data, holiday_id: uuid.UUID):
    holiday = holiday_service.update_holiday(db.session, api_actor(), holiday_id, data)
    db.session.commit()
    return holiday


@blp.route("/holidays/<uuid:holiday_id>", methods=["DELETE"])
@require("settings.manage")
@blp.response(204)
def delete_holiday(holiday_id: uuid.UUID):
    holiday_service.remove_holiday(db.session, api_actor(), holiday_id)
    db.session.commit()


class TicketAnalysisArgs(Schema):
    since = ma.fields.Date()
    until = ma.fields.Date()
    bucket = ma.fields.String(load_default="month",
                              validate=ma.validate.OneOf(ticket_analysis.BUCKETS))


class TicketParetoSchema(Schema):
    cause = ma.fields.String()
    count = ma.fields.Integer()
    share = ma.fields.Float()
    cumulative = ma.fields.Float()


class TicketPeriodSchema(Schema):
    period = ma.fields.String()
    cause = ma.fields.String()
    count = ma.fields.Integer()


class TicketTimesSchema(Schema):
    key = ma.fields.String()
    tickets = ma.fields.Integer()
    avg_first_response_hours = ma.fields.Float(allow_none=True)
    avg_resolution_hours = ma.fields.Float(allow_none=True)


class TicketReopenSchema(Schema):
    resolved = ma.fields.Integer()
    reopened = ma.fields.Integer()
    rate = ma.fields.Float(allow_none=True)


class TicketTrendSeriesSchema(Schema):
    cause = ma.fields.String()
    counts = ma.fields.List(ma.fields.Integer())


class TicketTrendSchema(Schema):
    periods = ma.fields.List(ma.fields.String())
    series = ma.fields.List(ma.fields.Nested(TicketTrendSeriesSchema))


class TicketAnalysisSchema(Schema):
    since = ma.fields.Date()
    until = ma.fields.Date()
    bucket = ma.fields.String()
    trend = ma.fields.Nested(TicketTrendSchema)
    pareto = ma.fields.List(ma.fields.Nested(TicketParetoSchema))
    by_period = ma.fields.List(ma.fields.Nested(TicketPeriodSchema))
    by_agent = ma.fields.List(ma.fields.Nested(TicketTimesSchema))
    by_cause = ma.fields.List(ma.fields.Nested(TicketTimesSchema))
    reopen = ma.fields.Nested(TicketReopenSchema)


@blp.route("/analysis")
@require("reports.read")
@blp.arguments(TicketAnalysisArgs, location="query")
@blp.response(200, TicketAnalysisSchema)
def analysis(args):
    until = args.get("until") or tenant_today(db.session)
    since = args.get("since") or until - timedelta(days=180)
    return ticket_analysis.summary(db.session, since, until, args["bucket"])
