"""Customer profiles: list/search/filter, CRUD, bulk upsert, key figures and timeline."""

from __future__ import annotations

import uuid

import marshmallow as ma
from flask_smorest import Blueprint

from saas import timeline as timeline_registry
from saas.api import privacy as privacy_api
from saas.api.common import FastDumpSchema, Schema, api_actor, require
from saas.api.pagination import page_args, page_schema, paginate
from saas.extensions import db
from saas.models.customers import Customer
from saas.services import customer_list, customer_upsert, read_audit, row_scope
from saas.services import customers as customer_service
from saas.services import orders as order_service

blp = Blueprint("api_customers", __name__, url_prefix="/customers",
                description="Customer profiles, search, bulk upsert and the 360 view.")


class CustomerSchema(FastDumpSchema):
    id = ma.fields.UUID()
    kind = ma.fields.String()
    name = ma.fields.String()
    phone = ma.fields.String(allow_none=True, metadata={"description": "First phone, E.164."})
    email = ma.fields.String(allow_none=True)
    phones = ma.fields.List(ma.fields.String())
    emails = ma.fields.List(ma.fields.String())
    wechat_id = ma.fields.String(allow_none=True)
    address = ma.fields.String(allow_none=True)
    industry = ma.fields.String(allow_none=True)
    company_size = ma.fields.String(allow_none=True)
    purchasing_power = ma.fields.String(allow_none=True)
    category = ma.fields.String(allow_none=True)
    owner_id = ma.fields.UUID(allow_none=True)
    department = ma.fields.String(allow_none=True)
    tags = ma.fields.List(ma.fields.String())
    birthday = ma.fields.Date(allow_none=True)
    source_channel = ma.fields.String(allow_none=True)
    lifecycle_stage = ma.fields.String()
    consent = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Dict())
    custom_fields = ma.fields.Dict(keys=ma.fields.String())
    notes = ma.fields.String(allow_none=True)
    external_id = ma.fields.String(allow_none=True)
    merged_into_id = ma.fields.UUID(allow_none=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()

    @ma.post_dump
    def _hide_fields(self, data, **kwargs):
        """Fields the caller's role may not see are left out (privacy, issue 11)."""
        return privacy_api.redact_customer(data)


def _text(**kw) -> ma.fields.String:
    return ma.fields.String(allow_none=True, **kw)


class CustomerUpdateSchema(Schema):
    """Fields to change; phones/emails are normalised and checked by the service."""

    kind = ma.fields.String(validate=ma.validate.OneOf(("person", "company")))
    name = ma.fields.String()
    phones = ma.fields.List(ma.fields.String(), allow_none=True)
    emails = ma.fields.List(ma.fields.String(), allow_none=True)
    wechat_id = _text()
    address = _text()
    industry = _text()
    company_size = _text()
    purchasing_power = _text()
    category = _text()
    owner_id = ma.fields.UUID(allow_none=True)
    department = _text()
    tags = ma.fields.List(ma.fields.String(), allow_none=True)
    birthday = ma.fields.Date(allow_none=True)
    source_channel = _text()
    lifecycle_stage = _text()
    consent = ma.fields.Dict(keys=ma.fields.String(), allow_none=True, metadata={
        "description": "{channel: {status: granted|withdrawn, source?, at?}} or "
                       "{channel: status}; channels email, sms, wechat, phone."})
    custom_fields = ma.fields.Dict(keys=ma.fields.String(), allow_none=True, metadata={
        "description": "Values by custom field key; null clears one."})
    notes = _text()
    external_id = _text()


class CustomerCreateSchema(CustomerUpdateSchema):
    name = ma.fields.String(required=True)


class CustomerBulkSchema(Schema):
    rows = ma.fields.List(ma.fields.Dict(), required=True, validate=ma.validate.Length(
        min=1, max=customer_upsert.MAX_ROWS), metadata={
        "description": "Customer objects (fields as in POST /customers)."})


class CustomerBulkRowSchema(Schema):
    index = ma.fields.Integer()
    status = ma.fields.String(metadata={"description": "created, updated or error"})
    id = ma.fields.UUID(allow_none=True)
    errors = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()))


class CustomerBulkResultSchema(Schema):
    created = ma.fields.Integer()
    updated = ma.fields.Integer()
    failed = ma.fields.Integer()
    rows = ma.fields.List(ma.fields.Nested(CustomerBulkRowSchema))


class CustomerKeyFiguresSchema(Schema):
    order_count = ma.fields.Integer()
    spend = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Decimal(as_string=True),
                           metadata={"description": "Total per currency code."})
    first_order_at = ma.fields.DateTime(allow_none=True)
    last_order_at = ma.fields.DateTime(allow_none=True)
    average_interval_days = ma.fields.Float(allow_none=True)

    @ma.post_dump
    def _hide_fields(self, data, **kwargs):
        """Order amounts are left out for roles that may not see them (issue 11)."""
        return privacy_api.redact_customer(data)


class TimelineItemSchema(FastDumpSchema):
    at = ma.fields.DateTime()
    kind = ma.fields.String()
    title = ma.fields.String()
    entity_type = ma.fields.String()
    entity_id = ma.fields.String()
    body = ma.fields.String(allow_none=True)
    data = ma.fields.Dict()


class TimelineArgs(Schema):
    before = ma.fields.AwareDateTime(load_default=None, metadata={
        "description": "Only items strictly before this time (the last item's `at`)."})
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))


class _ListBase(Schema):
    class Meta:
        unknown = ma.INCLUDE


_PAGE_FIELDS = {
    "limit": ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200)),
    "cursor": ma.fields.String(load_default=None),
}
CustomerListArgs = page_args(
    "CustomerListArgs", sorts=tuple(customer_list.SORTS), default=customer_list.DEFAULT_SORT,
    base=type("CustomerListBase", (_ListBase,), _PAGE_FIELDS),
    q=ma.fields.String(metadata={"description": "Name part, phone (any format) or email."}),
    tags=ma.fields.List(ma.fields.String(), metadata={"description": "All must match."}),
    owner_id=ma.fields.String(metadata={"description": "Staff id, or `none`."}),
    created_from=ma.fields.String(), created_to=ma.fields.String(),
    include_merged=ma.fields.String(),
    segment=ma.fields.String(metadata={"description": "A saved segment's id."}),
    **{name: ma.fields.String() for name in customer_list.EQUALITY_FIELDS})
SORT_COLUMNS = dict(customer_list.SORTS)


@blp.route("")
@require("customers.read")
# An instance: given the class, webargs builds the schema (30 fields) for every request.
@blp.arguments(CustomerListArgs(), location="query", unknown=ma.INCLUDE)
@blp.response(200, page_schema(CustomerSchema))
def list_customers(args):
    """Filters also accept `cf.<key>=value` (custom fields) and `consent.<channel>=status`."""
    raw = {k: v for k, v in args.items() if k not in ("limit", "cursor", "sort")}
    if "tags" in raw:
        raw["tags"] = [t for item in raw["tags"] for t in item.split(",")]
    privacy_api.check_filters(raw)
    query = customer_list.parse_filters(db.session, raw)
    stmt = row_scope.apply(db.session, api_actor(), customer_list.filtered(db.session, query))
    return paginate(db.session, stmt, args,
                    columns=SORT_COLUMNS, tiebreak=Customer.id)


@blp.route("", methods=["POST"])
@require("customers.write")
@blp.arguments(CustomerCreateSchema)
@blp.response(201, CustomerSchema)
def create_customer(data):
    customer = customer_service.create_customer(db.session, api_actor(), data)
    db.session.commit()
    return customer


@blp.route("/bulk", methods=["POST"])
@require("customers.write")
@blp.arguments(CustomerBulkSchema)
@blp.response(200, CustomerBulkResultSchema)
def bulk_upsert(data):
    """Each row is matched by external_id, then email, then phone; bad rows are reported
    with their field errors and the good ones are kept."""
    results = customer_upsert.upsert_customers(db.session, api_actor(), data["rows"])
    db.session.commit()
    count = {s: sum(1 for r in results if r.status == s) for s in ("created", "updated",
                                                                  "error")}
    return {"created": count["created"], "updated": count["updated"],
            "failed": count["error"], "rows": results}


@blp.route("/<uuid:customer_id>")
@require("customers.read")
@blp.response(200, CustomerSchema)
def get_customer(customer_id: uuid.UUID):
    actor = api_actor()
    customer = row_scope.get_customer(db.session, actor, customer_id)
    if read_audit.record_api_view(db.session, actor, customer.id, "profile"):
        db.session.commit()
    return customer


@blp.route("/<uuid:customer_id>", methods=["PATCH"])
@require("customers.write")
@blp.arguments(CustomerUpdateSchema)
@blp.response(200, CustomerSchema)
def update_customer(data, customer_id: uuid.UUID):
    row_scope.check(db.session, api_actor(), customer_id)
    customer = customer_service.update_customer(db.session, api_actor(), customer_id, data)
    db.session.commit()
    return customer


@blp.route("/<uuid:customer_id>", methods=["DELETE"])
@require("customers.delete")
@blp.response(204)
def delete_customer(customer_id: uuid.UUID):
    row_scope.check(db.session, api_actor(), customer_id)
    customer_service.delete_customer(db.session, api_actor(), customer_id)
    db.session.commit()


@blp.route("/<uuid:customer_id>/key-figures")
@require("customers.read")
@blp.response(200, CustomerKeyFiguresSchema)
def key_figures(customer_id: uuid.UUID):
    row_scope.check(db.session, api_actor(), customer_id)
    return order_service.key_figures(db.session, customer_id)


@blp.route("/<uuid:customer_id>/timeline")
@require("customers.read")
@blp.arguments(TimelineArgs, location="query")
@blp.response(200, TimelineItemSchema(many=True))
def customer_timeline(args, customer_id: uuid.UUID):
    actor = api_actor()
    customer = row_scope.get_customer(db.session, actor, customer_id)
    items = timeline_registry.timeline(db.session, customer.id, args["before"], args["limit"])
    if read_audit.record_api_view(db.session, actor, customer.id, "timeline"):
        db.session.commit()
    return privacy_api.redact_timeline(items)
