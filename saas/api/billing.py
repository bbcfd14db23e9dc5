"""Plan, dunning state and usage over the API, plus the per-request plan rules every API
call passes: calls per minute (429) and no writes while the account is read-only (402)."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app, g, request
from flask_smorest import Blueprint

from saas.api.common import SAFE_METHODS, Schema, api_actor, current_staff, require
from saas.api.common import current_tenant as api_tenant
from saas.api.errors import error_response
from saas.billing.plans import PAID_PLANS
from saas.billing.state import BillingConfig, tenant_state
from saas.extensions import db
from saas.services import billing as billing_service
from saas.services import limits

blp = Blueprint("api_billing", __name__, url_prefix="/billing",
                description="The tenant's plan, its limits and current usage.")


def _config() -> BillingConfig:
    return BillingConfig.from_mapping(current_app.config)


class UsageSchema(Schema):
    limit = ma.fields.String()
    used = ma.fields.Integer()
    allowed = ma.fields.Integer(allow_none=True, metadata={"description": "null: unlimited"})


class BillingSchema(Schema):
    plan = ma.fields.String()
    billing_enabled = ma.fields.Boolean()
    subscription_status = ma.fields.String(allow_none=True)
    grace_until = ma.fields.DateTime(allow_none=True)
    read_only = ma.fields.Boolean()
    cancel_at = ma.fields.DateTime(allow_none=True)
    usage = ma.fields.List(ma.fields.Nested(UsageSchema))


class CheckoutSchema(Schema):
    plan = ma.fields.String(required=True, validate=ma.validate.OneOf(PAID_PLANS))


class CheckoutCreatedSchema(Schema):
    url = ma.fields.String()


@blp.route("")
@require("settings.manage")
@blp.response(200, BillingSchema)
def get_billing():
    ov = billing_service.overview(db.session, api_tenant(), _config())
    s = ov.state
    return {"plan": s.plan.key, "billing_enabled": s.enabled,
            "subscription_status": s.status, "grace_until": s.grace_until,
            "read_only": s.read_only, "cancel_at": s.cancel_at,
            "usage": [{"limit": u.limit, "used": u.used, "allowed": u.allowed}
                      for u in ov.usage]}


@blp.route("/checkout", methods=["POST"])
@require("billing.manage")
@blp.arguments(CheckoutSchema)
@blp.response(201, CheckoutCreatedSchema)
def create_checkout(data):
    url = billing_service.start_checkout(db.session, api_actor(), api_tenant(), _config(),
                                         data["plan"], email=current_staff().email)
    db.session.commit()
    return {"url": url}


@blp.before_app_request
def apply_plan_rules():
    """Runs after token authentication (registered later), once per API request."""
    tenant = g.get("tenant")
    if tenant is None or g.get("api_token") is None or not request.path.startswith("/api/"):
        return None
    config = _config()
    try:
        if request.method not in SAFE_METHODS:
            limits.ensure_writable(tenant_state(db.session, tenant.id, config))
        limits.count_api_call(db.session, tenant, config)
    except limits.ApiRateExceeded as exc:
        db.session.rollback()
        return error_response(429, exc.message, exc.errors, code=exc.code,
                              headers={"Retry-After": str(exc.retry_after)})
    except limits.AccountReadOnly as exc:
        db.session.rollback()
        return error_response(exc.status, exc.message, exc.errors, code=exc.code)
    return None
