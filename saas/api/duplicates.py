"""Duplicate customers: candidate pairs with their reasons, merge, dismiss."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from saas.api import privacy as privacy_api
from saas.api.common import Schema, api_actor, require
from saas.extensions import db
from saas.services import duplicates, merge, row_scope

blp = Blueprint("api_duplicates", __name__, url_prefix="/duplicates",
                description="Duplicate detection and merge.")


class DuplicateCustomerSchema(Schema):
    id = ma.fields.UUID()
    name = ma.fields.String()
    phones = ma.fields.List(ma.fields.String())
    emails = ma.fields.List(ma.fields.String())
    address = ma.fields.String(allow_none=True)
    external_id = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()

    @ma.post_dump
    def _hide_fields(self, data, **kwargs):
        """Masked fields masked, hidden ones left out, as on `GET /customers` (issue 11)."""
        return privacy_api.redact_customer(data)


class DuplicatePairSchema(Schema):
    first = ma.fields.Nested(DuplicateCustomerSchema)
    second = ma.fields.Nested(DuplicateCustomerSchema)
    reasons = ma.fields.List(ma.fields.String(), metadata={
        "description": "same_email, same_phone, same_name, similar_name_same_address"})
    detail = ma.fields.List(ma.fields.String(allow_none=True), metadata={
        "description": "The shared value behind each reason: masked when the caller's "
                       "role sees that field masked, null when it is hidden."})

    @ma.post_dump
    def _hide_detail(self, data, **kwargs):
        data["detail"] = duplicates.redacted_detail(privacy_api.request_access(),
                                                    data.get("reasons") or [],
                                                    data.get("detail") or [])
        return data


class DuplicateListSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(DuplicatePairSchema))


class DuplicateListArgs(Schema):
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(
        min=1, max=duplicates.MAX_PAIRS))
    reason = ma.fields.String(load_default=None,
                              validate=ma.validate.OneOf(duplicates.REASONS))


class MergeRequestSchema(Schema):
    survivor_id = ma.fields.UUID(required=True)
    merged_id = ma.fields.UUID(required=True)
    choices = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(
        validate=ma.validate.OneOf(merge.SIDES)), load_default=dict, metadata={
        "description": "{field: survivor|merged}; custom fields as custom_fields.<key>. "
                       "Unchosen fields keep the survivor's value unless it is empty."})


class MergeRecordSchema(Schema):
    id = ma.fields.UUID()
    survivor_id = ma.fields.UUID()
    merged_id = ma.fields.UUID()
    choices = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    moved = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    created_at = ma.fields.DateTime()


class DismissSchema(Schema):
    first_id = ma.fields.UUID(required=True)
    second_id = ma.fields.UUID(required=True)


@blp.route("")
@require("customers.read")
@blp.arguments(DuplicateListArgs, location="query")
@blp.response(200, DuplicateListSchema)
def list_duplicates(args):
    pairs = duplicates.candidates(db.session, args["limit"], args["reason"])
    return {"items": row_scope.visible_pairs(db.session, api_actor(), pairs)}


@blp.route("/merge", methods=["POST"])
@require("customers.write")
@blp.arguments(MergeRequestSchema)
@blp.response(200, MergeRecordSchema)
def merge_customers(data):
    for key in ("survivor_id", "merged_id"):
        row_scope.ensure_visible(db.session, api_actor(), data[key])
    record = merge.merge_customers(db.session, api_actor(), data["survivor_id"],
                                   data["merged_id"], data["choices"])
    db.session.commit()
    return record


@blp.route("/dismiss", methods=["POST"])
@require("customers.write")
@blp.arguments(DismissSchema)
@blp.response(204)
def dismiss_pair(data):
    for key in ("first_id", "second_id"):
        row_scope.ensure_visible(db.session, api_actor(), data[key])
    duplicates.dismiss(db.session, api_actor(), data["first_id"], data["second_id"])
    db.session.commit()
