"""Loyalty: programme settings, rewards, a customer's points (balance, ledger, coupons,
membership), redemption, adjustments, coupons, referral codes and membership levels."""

from __future__ import annotations

import marshmallow as ma
from flask import g, request
from flask_smorest import Blueprint

from saas.api.common import Schema, api_actor, require
from saas.extensions import db
from saas.services import loyalty as loyalty_service
from saas.services import referrals as referral_service
from saas.services import row_scope

blp = Blueprint("api_loyalty", __name__, url_prefix="/loyalty",
                description="Loyalty points, rewards and referrals.")


class LoyaltyProgramSchema(Schema):
    points_per_unit = ma.fields.Float()
    expiry_months = ma.fields.Integer()
    notice_days = ma.fields.Integer()
    tier_multipliers = ma.fields.Dict()
    bonus = ma.fields.Dict()
    cap_per_order = ma.fields.Integer(allow_none=True)
    cap_per_month = ma.fields.Integer(allow_none=True)
    contribution_rules = ma.fields.List(ma.fields.Dict())


class LoyaltyProgramUpdateSchema(Schema):
    points_per_unit = ma.fields.Raw()
    expiry_months = ma.fields.Raw()
    notice_days = ma.fields.Raw()
    tier_multipliers = ma.fields.Raw()
    bonus = ma.fields.Raw()
    cap_per_order = ma.fields.Raw(allow_none=True)
    cap_per_month = ma.fields.Raw(allow_none=True)
    contribution_rules = ma.fields.Raw()


class RewardSchema(Schema):
    id = ma.fields.UUID(dump_only=True)
    name = ma.fields.String()
    kind = ma.fields.String()
    description = ma.fields.String()
    points_cost = ma.fields.Integer()
    stock = ma.fields.Integer(allow_none=True)
    discount_percent = ma.fields.Integer(allow_none=True)
    valid_days = ma.fields.Integer(allow_none=True)
    active = ma.fields.Boolean()


class RewardBodySchema(Schema):
    name = ma.fields.Raw()
    kind = ma.fields.Raw()
    description = ma.fields.Raw()
    points_cost = ma.fields.Raw()
    stock = ma.fields.Raw(allow_none=True)
    discount_percent = ma.fields.Raw(allow_none=True)
    valid_days = ma.fields.Raw(allow_none=True)
    active = ma.fields.Boolean()


class PointsEntrySchema(Schema):
    id = ma.fields.UUID()
    created_at = ma.fields.DateTime()
    kind = ma.fields.String()
    points = ma.fields.Integer()
    balance_after = ma.fields.Integer()
    expires_at = ma.fields.DateTime(allow_none=True)
    reason = ma.fields.String()
    actor_label = ma.fields.String()


class CouponSchema(Schema):
    code = ma.fields.String()
    discount_percent = ma.fields.Integer(allow_none=True)
    expires_at = ma.fields.DateTime(allow_none=True)
    used_at = ma.fields.DateTime(allow_none=True)


class LevelSchema(Schema):
    id = ma.fields.UUID(dump_only=True)
    name = ma.fields.String()
    basis = ma.fields.String()
    threshold = ma.fields.Integer()
    window_months = ma.fields.Integer()
    benefits = ma.fields.String()


class LevelBodySchema(Schema):
    name = ma.fields.Raw(required=True)
    basis = ma.fields.Raw(required=True)
    threshold = ma.fields.Raw(required=True)
    window_months = ma.fields.Raw()
    benefits = ma.fields.Raw()


class CustomerPointsSchema(Schema):
    balance = ma.fields.Integer()
    level = ma.fields.Nested(LevelSchema, allow_none=True)
    entries = ma.fields.List(ma.fields.Nested(PointsEntrySchema))
    coupons = ma.fields.List(ma.fields.Nested(CouponSchema))


class RedeemSchema(Schema):
    reward_id = ma.fields.String(required=True)


class RedemptionSchema(Schema):
    id = ma.fields.UUID()
    reward_id = ma.fields.UUID()
    points = ma.fields.Integer()
    coupon_code = ma.fields.String(allow_none=True)


class AdjustSchema(Schema):
    points = ma.fields.Raw(required=True)
    reason = ma.fields.Raw(required=True)


class CouponUseSchema(Schema):
    code = ma.fields.Raw(required=True)
    used_on = ma.fields.String(load_default="", validate=ma.validate.Length(max=100))


class ReferralCodeSchema(Schema):
    code = ma.fields.String()


class ReferralSchema(Schema):
    id = ma.fields.UUID()
    referrer_id = ma.fields.UUID()
    referred_id = ma.fields.UUID()
    code = ma.fields.String()


@blp.route("/program")
@require("customers.read")
@blp.response(200, LoyaltyProgramSchema)
def get_program():
    result = loyalty_service.program(db.session)
    db.session.commit()
    return result


@blp.route("/program", methods=["PATCH"])
@require("settings.manage")
@blp.arguments(LoyaltyProgramUpdateSchema)
@blp.response(200, LoyaltyProgramSchema)
def update_program(data):
    result = loyalty_service.update_program(db.session, api_actor(), data)
    db.session.commit()
    return result


@blp.route("/rewards")
@require("customers.read")
@blp.response(200, RewardSchema(many=True))
def list_rewards():
    return loyalty_service.list_rewards(db.session)


@blp.route("/rewards", methods=["POST"])
@require("settings.manage")
@blp.arguments(RewardBodySchema)
@blp.response(201, RewardSchema)
def create_reward(data):
    reward = loyalty_service.create_reward(db.session, api_actor(), data)
    db.session.commit()
    return reward


@blp.route("/rewards/<uuid:reward_id>", methods=["PATCH"])
@require("settings.manage")
@blp.arguments(RewardBodySchema)
@blp.response(200, RewardSchema)
def update_reward(data, reward_id):
    reward = loyalty_service.update_reward(db.session, api_actor(), reward_id, data)
    db.session.commit()
    return reward


@blp.before_request
def _customer_in_row_scope():
    """Every route with a customer id: 404 outside the caller's row scope (issue 11)."""
    customer_id = (request.view_args or {}).get("customer_id")
    if customer_id is not None and g.get("staff") is not None:
        row_scope.ensure_visible(db.session, api_actor(), customer_id)


@blp.route("/customers/<uuid:customer_id>")
@require("customers.read")
@blp.response(200, CustomerPointsSchema)
def customer_points(customer_id):
    entries = loyalty_service.ledger(db.session, customer_id)
    return {"balance": loyalty_service.balance(db.session, customer_id),
            "level": loyalty_service.membership(db.session, customer_id).level,
            "entries": entries, "coupons": loyalty_service.coupons(db.session, customer_id)}


@blp.route("/customers/<uuid:customer_id>/redeem", methods=["POST"])
@require("customers.write")
@blp.arguments(RedeemSchema)
@blp.response(201, RedemptionSchema)
def redeem(data, customer_id):
    redemption = loyalty_service.redeem(db.session, api_actor(), customer_id,
                                        data["reward_id"])
    db.session.commit()
    return redemption


@blp.route("/customers/<uuid:customer_id>/adjust", methods=["POST"])
@require("customers.write")
@blp.arguments(AdjustSchema)
@blp.response(201, PointsEntrySchema)
def adjust(data, customer_id):
    entry = loyalty_service.adjust(db.session, api_actor(), customer_id, data["points"],
                                   data["reason"])
    db.session.commit()
    return entry


@blp.route("/customers/<uuid:customer_id>/referral-code")
@require("customers.write")
@blp.response(200, ReferralCodeSchema)
def referral_code(customer_id):
    code = referral_service.code_for(db.session, api_actor(), customer_id)
    db.session.commit()
    return code


@blp.route("/customers/<uuid:customer_id>/referral", methods=["POST"])
@require("customers.write")
@blp.arguments(ReferralCodeSchema)
@blp.response(201, ReferralSchema)
def register_referral(data, customer_id):
    referral = referral_service.register(db.session, api_actor(), customer_id,
                                         data.get("code"))
    db.session.commit()
    return referral


@blp.route("/coupons/use", methods=["POST"])
@require("customers.write")
@blp.arguments(CouponUseSchema)
@blp.response(200, CouponSchema)
def use_coupon(data):
    coupon = loyalty_service.use_coupon(db.session, api_actor(), data["code"],
                                        data["used_on"])
    db.session.commit()
    return coupon


@blp.route("/levels")
@require("customers.read")
@blp.response(200, LevelSchema(many=True))
def list_levels():
    return loyalty_service.list_levels(db.session)


@blp.route("/levels", methods=["POST"])
@require("settings.manage")
@blp.arguments(LevelBodySchema)
@blp.response(201, LevelSchema)
def create_level(data):
    level = loyalty_service.create_level(db.session, api_actor(), data)
    db.session.commit()
    return level


@blp.route("/levels/<uuid:level_id>", methods=["DELETE"])
@require("settings.manage")
@blp.response(204)
def delete_level(level_id):
    loyalty_service.delete_level(db.session, api_actor(), level_id)
    db.session.commit()
