"""Tiers: definitions, preview before apply, distribution, a customer's tier, history
and manual overrides."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from saas.api.common import Schema, api_actor, require
from saas.extensions import db
from saas.services import row_scope
from saas.services import tiers as tier_service

blp = Blueprint("api_tiers", __name__, url_prefix="/tiers",
                description="Customer tiers and their rules.")


class TierSchema(Schema):
    id = ma.fields.UUID(dump_only=True)
    name = ma.fields.String()
    colour = ma.fields.String()
    description = ma.fields.String()
    position = ma.fields.Integer()
    rule = ma.fields.Dict()


class TiersBodySchema(Schema):
    tiers = ma.fields.List(ma.fields.Raw(), required=True)


class TiersPreviewBodySchema(Schema):
    tiers = ma.fields.List(ma.fields.Raw(), load_default=None)


class TierMoveSchema(Schema):
    from_ = ma.fields.String(data_key="from", attribute="from", allow_none=True)
    to = ma.fields.String(allow_none=True)
    count = ma.fields.Integer()


class TierSampleSchema(Schema):
    customer_id = ma.fields.UUID()
    name = ma.fields.String()
    from_ = ma.fields.String(data_key="from", attribute="from", allow_none=True)
    to = ma.fields.String(allow_none=True)


class TierPreviewSchema(Schema):
    moves = ma.fields.List(ma.fields.Nested(TierMoveSchema))
    sample = ma.fields.List(ma.fields.Nested(TierSampleSchema))
    moving = ma.fields.Integer()
    total = ma.fields.Integer()


class TierApplySchema(Schema):
    version = ma.fields.Integer()
    moved = ma.fields.Integer()


class TierCountSchema(Schema):
    name = ma.fields.String(allow_none=True)
    colour = ma.fields.String()
    count = ma.fields.Integer()


class TierChangeSchema(Schema):
    id = ma.fields.UUID()
    created_at = ma.fields.DateTime()
    from_tier = ma.fields.String(allow_none=True)
    to_tier = ma.fields.String(allow_none=True)
    reason = ma.fields.String()
    rule_version = ma.fields.Integer(allow_none=True)
    actor_label = ma.fields.String(allow_none=True)
    override_until = ma.fields.DateTime(allow_none=True)


class CustomerTierSchema(Schema):
    tier = ma.fields.String(allow_none=True)
    source = ma.fields.String(allow_none=True)
    override_until = ma.fields.DateTime(allow_none=True)
    history = ma.fields.List(ma.fields.Nested(TierChangeSchema))


class TierOverrideSchema(Schema):
    tier_id = ma.fields.String(required=True)
    until = ma.fields.AwareDateTime(load_default=None, allow_none=True)
    note = ma.fields.String(load_default="")


@blp.route("")
@require("customers.read")
@blp.response(200, TierSchema(many=True))
def list_tiers():
    result = tier_service.list_tiers(db.session)
    db.session.commit()
    return result


@blp.route("", methods=["PUT"])
@require("settings.manage")
@blp.arguments(TiersBodySchema)
@blp.response(200, TierSchema(many=True))
def save_tiers(data):
    result = tier_service.save_tiers(db.session, api_actor(), data["tiers"])
    db.session.commit()
    return result


@blp.route("/preview", methods=["POST"])
@require("customers.read")
@blp.arguments(TiersPreviewBodySchema)
@blp.response(200, TierPreviewSchema)
def preview_tiers(data):
    result = tier_service.preview(db.session, data.get("tiers"))
    db.session.rollback()
    return result


@blp.route("/apply", methods=["POST"])
@require("settings.manage")
@blp.response(200, TierApplySchema)
def apply_tiers():
    result = tier_service.apply(db.session, api_actor())
    db.session.commit()
    return result


@blp.route("/distribution")
@require("customers.read")
@blp.response(200, TierCountSchema(many=True))
def distribution():
    return tier_service.distribution(db.session)


def _customer_tier(customer_id):
    found = tier_service.customer_tier(db.session, customer_id)
    return {"tier": found[1].name if found else None,
            "source": found[0].source if found else None,
            "override_until": found[0].override_until if found else None,
            "history": tier_service.history(db.session, customer_id)}


@blp.route("/customers/<uuid:customer_id>")
@require("customers.read")
@blp.response(200, CustomerTierSchema)
def customer_tier(customer_id):
    row_scope.ensure_visible(db.session, api_actor(), customer_id)
    return _customer_tier(customer_id)


@blp.route("/customers/<uuid:customer_id>/override", methods=["POST"])
@require("customers.write")
@blp.arguments(TierOverrideSchema)
@blp.response(200, CustomerTierSchema)
def override(data, customer_id):
    row_scope.ensure_visible(db.session, api_actor(), customer_id)
    tier_service.override(db.session, api_actor(), customer_id, data["tier_id"],
                          data["until"], data["note"])
    db.session.commit()
    return _customer_tier(customer_id)


@blp.route("/customers/<uuid:customer_id>/override", methods=["DELETE"])
@require("customers.write")
@blp.response(204)
def clear_override(customer_id):
    row_scope.ensure_visible(db.session, api_actor(), customer_id)
    tier_service.clear_override(db.session, api_actor(), customer_id)
    db.session.commit()
