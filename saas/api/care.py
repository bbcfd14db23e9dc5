"""Automated care rules (greetings, follow-ups, win-back) and what they sent."""

from __future__ import annotations

import uuid

import marshmallow as ma
from flask_smorest import Blueprint

from saas.api.common import Schema, api_actor, require
from saas.extensions import db
from saas.models.care import CARE_KINDS
from saas.services import care as care_service

blp = Blueprint("api_care", __name__, url_prefix="/care",
                description="Automated customer care through channel plugins.")


class CareRuleSchema(Schema):
    id = ma.fields.UUID()
    name = ma.fields.String()
    kind = ma.fields.String()
    channel = ma.fields.String()
    subject = ma.fields.String(allow_none=True)
    template = ma.fields.String()
    days_after = ma.fields.Integer(allow_none=True)
    reward_id = ma.fields.UUID(allow_none=True)
    active = ma.fields.Boolean()


class CareRuleUpdateSchema(Schema):
    name = ma.fields.String()
    channel = ma.fields.String()
    subject = ma.fields.String(allow_none=True)
    template = ma.fields.String()
    days_after = ma.fields.Integer(allow_none=True)
    reward_id = ma.fields.UUID(allow_none=True)
    active = ma.fields.Boolean()


class CareRuleCreateSchema(CareRuleUpdateSchema):
    name = ma.fields.String(required=True)
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(CARE_KINDS))
    channel = ma.fields.String(required=True)
    template = ma.fields.String(required=True)


class CareSendSchema(Schema):
    id = ma.fields.UUID()
    rule_id = ma.fields.UUID()
    customer_id = ma.fields.UUID()
    occasion = ma.fields.String()
    status = ma.fields.String()
    delivery_id = ma.fields.UUID(allow_none=True)
    detail = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()


@blp.route("/rules")
@require("campaigns.manage")
@blp.response(200, CareRuleSchema(many=True))
def list_rules():
    return care_service.list_rules(db.session)


@blp.route("/rules", methods=["POST"])
@require("campaigns.manage")
@blp.arguments(CareRuleCreateSchema)
@blp.response(201, CareRuleSchema)
def create_rule(data):
    rule = care_service.create_rule(db.session, api_actor(), data)
    db.session.commit()
    return rule


@blp.route("/rules/<uuid:care_rule_id>")
@require("campaigns.manage")
@blp.response(200, CareRuleSchema)
def get_rule(care_rule_id: uuid.UUID):
    return care_service.get_rule(db.session, care_rule_id)


@blp.route("/rules/<uuid:care_rule_id>", methods=["PATCH"])
@require("campaigns.manage")
@blp.arguments(CareRuleUpdateSchema)
@blp.response(200, CareRuleSchema)
def update_rule(data, care_rule_id: uuid.UUID):
    rule = care_service.update_rule(db.session, api_actor(), care_rule_id, data)
    db.session.commit()
    return rule


@blp.route("/rules/<uuid:care_rule_id>", methods=["DELETE"])
@require("campaigns.manage")
@blp.response(204)
def delete_rule(care_rule_id: uuid.UUID):
    care_service.delete_rule(db.session, api_actor(), care_rule_id)
    db.session.commit()


@blp.route("/sends")
@require("campaigns.manage")
@blp.response(200, CareSendSchema(many=True))
def list_sends():
    return care_service.history(db.session)


class CareQuietHoursSchema(Schema):
    start = ma.fields.String(required=True)
    end = ma.fields.String(required=True)


def _quiet_hours() -> dict:
    from saas.services.customers import bound_tenant

    start, end = (bound_tenant(db.session).settings or {}).get("quiet_hours") \
        or care_service.DEFAULT_QUIET_HOURS
    return {"start": start, "end": end}


@blp.route("/quiet-hours")
@require("campaigns.manage")
@blp.response(200, CareQuietHoursSchema)
def get_quiet_hours():
    return _quiet_hours()


@blp.route("/quiet-hours", methods=["PUT"])
@require("campaigns.manage")
@blp.arguments(CareQuietHoursSchema)
@blp.response(200, CareQuietHoursSchema)
def set_quiet_hours(data):
    care_service.set_quiet_hours(db.session, api_actor(), data["start"], data["end"])
    db.session.commit()
    return _quiet_hours()
