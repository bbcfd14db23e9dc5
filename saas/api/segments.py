"""Segments: built-in value/behaviour/lifecycle distribution and saved dynamic segments."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from saas.api.common import Schema, api_actor, require
from saas.extensions import db
from saas.services import segments as segment_service

blp = Blueprint("api_segments", __name__, url_prefix="/segments",
                description="Customer segments.")


class SegmentSchema(Schema):
    id = ma.fields.UUID(dump_only=True)
    name = ma.fields.String()
    description = ma.fields.String()
    rule = ma.fields.Dict()
    created_at = ma.fields.DateTime(dump_only=True)


class SegmentWithCountSchema(SegmentSchema):
    count = ma.fields.Integer(allow_none=True, metadata={
        "description": "Null while the rule has problems."})
    problems = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.List(
        ma.fields.String()), metadata={"description": "What in the stored rule no longer "
                                       "exists (a deleted custom field or tier) or "
                                       "names a field hidden from the caller, by path."})


class SegmentCreateSchema(Schema):
    name = ma.fields.Raw(required=True)
    description = ma.fields.Raw()
    rule = ma.fields.Raw(required=True)


class SegmentUpdateSchema(Schema):
    name = ma.fields.Raw()
    description = ma.fields.Raw()
    rule = ma.fields.Raw()


class SegmentRuleSchema(Schema):
    rule = ma.fields.Raw(required=True)


class SegmentCountSchema(Schema):
    count = ma.fields.Integer()


class SegmentMemberSchema(Schema):
    id = ma.fields.UUID()
    name = ma.fields.String()


class BuiltinRowSchema(Schema):
    key = ma.fields.String()
    rule = ma.fields.String()
    count = ma.fields.Integer()


class BuiltinSchema(Schema):
    value_segment = ma.fields.List(ma.fields.Nested(BuiltinRowSchema))
    behaviour = ma.fields.List(ma.fields.Nested(BuiltinRowSchema))
    lifecycle = ma.fields.List(ma.fields.Nested(BuiltinRowSchema))


@blp.route("/builtin")
@require("customers.read")
@blp.response(200, BuiltinSchema)
def builtin():
    return segment_service.builtin_distribution(db.session)


@blp.route("")
@require("customers.read")
@blp.response(200, SegmentSchema(many=True))
def list_segments():
    return segment_service.list_segments(db.session)


@blp.route("", methods=["POST"])
@require("campaigns.manage")
@blp.arguments(SegmentCreateSchema)
@blp.response(201, SegmentSchema)
def create_segment(data):
    segment = segment_service.create_segment(db.session, api_actor(), data)
    db.session.commit()
    return segment


@blp.route("/count", methods=["POST"])
@require("customers.read")
@blp.arguments(SegmentRuleSchema)
@blp.response(200, SegmentCountSchema)
def count_rule(data):
    """Customers in the caller's row scope matching the rule; a rule on a field hidden
    from the caller is a 422 naming it."""
    return {"count": segment_service.preview_count(db.session, data["rule"], api_actor())}


@blp.route("/<uuid:segment_id>")
@require("customers.read")
@blp.response(200, SegmentWithCountSchema)
def get_segment(segment_id):
    segment = segment_service.get_segment(db.session, segment_id)
    problems = segment_service.rule_problems(db.session, segment, api_actor())
    return {"id": segment.id, "name": segment.name, "description": segment.description,
            "rule": segment.rule, "created_at": segment.created_at, "problems": problems,
            "count": None if problems else segment_service.count(db.session, segment_id,
                                                                 api_actor())}


@blp.route("/<uuid:segment_id>", methods=["PATCH"])
@require("campaigns.manage")
@blp.arguments(SegmentUpdateSchema)
@blp.response(200, SegmentSchema)
def update_segment(data, segment_id):
    segment = segment_service.update_segment(db.session, api_actor(), segment_id, data)
    db.session.commit()
    return segment


@blp.route("/<uuid:segment_id>", methods=["DELETE"])
@require("campaigns.manage")
@blp.response(204)
def delete_segment(segment_id):
    segment_service.delete_segment(db.session, api_actor(), segment_id)
    db.session.commit()


@blp.route("/<uuid:segment_id>/members")
@require("customers.read")
@blp.response(200, SegmentMemberSchema(many=True))
def members(segment_id):
    """Members in the caller's row scope; 422 when the rule names a field hidden from
    the caller."""
    return segment_service.members(db.session, segment_id, limit=200, actor=api_actor())
