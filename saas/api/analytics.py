"""Analytics figures (issue #10), read from the tables the analytics jobs precompute:
CLV / P(alive) per customer, association rules and bundles, churn scores with reasons,
and a recompute trigger. Every figure carries its `computed_at` stamp."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask_babel import gettext
from flask_smorest import Blueprint
from sqlalchemy import and_, select

from saas.analytics import backtest, baskets, churn
from saas.api import privacy as privacy_api
from saas.api.common import Schema, api_actor, current_tenant, require
from saas.api.pagination import page_args, page_schema, paginate
from saas.extensions import db
from saas.jobs.queue import enqueue_after_commit
from saas.models.analytics import AnalyticsFit, AssociationRule, ChurnScore, CustomerClv
from saas.models.customers import Customer
from saas.models.tenant import Staff
from saas.services import field_access, row_scope
from saas.services.errors import InvalidInput

blp = Blueprint("api_analytics", __name__, url_prefix="/analytics",
                description="Customer lifetime value, bought-together rules and churn "
                            "scores, recomputed by background jobs.")

# Money derived from a customer's order amounts (issue 11): absent for roles that may not
# see `order_amounts`, like `spend` in key figures. Counts, rates and P(alive) stay.
CLV_AMOUNTS = ("monetary", "expected_spend", "clv")
CHURN_AMOUNTS = ("value_at_stake",)
OWNER_FILTERS = ("owner_id", "department")


def _without_amounts(data: dict, keys: tuple[str, ...]) -> dict:
    """`data` without `keys` when the caller's role may not see order amounts."""
    if not privacy_api.request_access().can_see(field_access.ORDER_AMOUNTS):
        for key in keys:
            data.pop(key, None)
    return data


def _check_owner_filters(args: dict) -> None:
    """A filter on the customers' owner is refused (422) when the role may not see who
    owns a customer: the answer would tell it, as a customer-list filter would."""
    if privacy_api.request_access().can_see("owner_id"):
        return
    errors = {key: ["You may not filter on this field."] for key in OWNER_FILTERS
              if args.get(key)}
    if errors:
        raise InvalidInput("The filter has errors.", errors)


class ClvSchema(Schema):
    customer_id = ma.fields.UUID(attribute="id")
    frequency = ma.fields.Integer(metadata={"description": "Repeat orders (x)."})
    recency_weeks = ma.fields.Float(metadata={"description": "Last order, weeks after "
                                                             "the first (t_x)."})
    age_weeks = ma.fields.Float(metadata={"description": "Weeks since the first order (T)."})
    monetary = ma.fields.Decimal(as_string=True)
    expected_purchases_90d = ma.fields.Float()
    p_alive = ma.fields.Float()
    expected_spend = ma.fields.Decimal(as_string=True)
    clv = ma.fields.Decimal(as_string=True)
    currency = ma.fields.String()
    computed_at = ma.fields.DateTime()

    @ma.post_dump
    def _hide_amounts(self, data, **kwargs):
        return _without_amounts(data, CLV_AMOUNTS)


class FitSchema(Schema):
    kind = ma.fields.String()
    params = ma.fields.Dict()
    log_likelihood = ma.fields.Float(allow_none=True)
    customers = ma.fields.Integer()
    computed_at = ma.fields.DateTime()


class ChurnSchema(Schema):
    customer_id = ma.fields.UUID(attribute="id")
    score = ma.fields.Float()
    at_risk = ma.fields.Boolean()
    reasons = ma.fields.Function(
        lambda s: [churn.describe(r, gettext) for r in s.reasons or []],
        metadata={"description": "The reasons in words, in the caller's language."})
    reason_codes = ma.fields.Function(
        lambda s: [r for r in s.reasons or [] if isinstance(r, dict)],
        metadata={"description": "The same reasons as `{code, params}`."})
    value_at_stake = ma.fields.Decimal(as_string=True)
    computed_at = ma.fields.DateTime()

    @ma.post_dump
    def _hide_amounts(self, data, **kwargs):
        return _without_amounts(data, CHURN_AMOUNTS)


class RuleSchema(Schema):
    antecedent_id = ma.fields.UUID()
    consequent_id = ma.fields.UUID()
    pair_count = ma.fields.Integer()
    support = ma.fields.Float()
    confidence = ma.fields.Float()
    lift = ma.fields.Float()
    computed_at = ma.fields.DateTime()


class RecommendationSchema(Schema):
    product_id = ma.fields.UUID()
    name = ma.fields.String()
    sku = ma.fields.String()
    confidence = ma.fields.Float()
    lift = ma.fields.Float()


class CustomerAnalyticsSchema(Schema):
    customer_id = ma.fields.UUID()
    clv = ma.fields.Nested(ClvSchema, allow_none=True)
    churn = ma.fields.Nested(ChurnSchema, allow_none=True)
    recommendations = ma.fields.List(ma.fields.Nested(RecommendationSchema))


class BundleSchema(Schema):
    product_ids = ma.fields.List(ma.fields.String())
    support = ma.fields.Float()
    confidence = ma.fields.Float()
    lift = ma.fields.Float()
    computed_at = ma.fields.DateTime()


class BundlesSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(BundleSchema))


class FitsSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(FitSchema))


class RecomputeSchema(Schema):
    queued = ma.fields.Boolean()


ClvListArgs = page_args("AnalyticsClvListArgs",
                        sorts=("clv", "p_alive", "expected_purchases_90d"), default="-clv")
ChurnListArgs = page_args("AnalyticsChurnListArgs", sorts=("score", "value_at_stake"),
                          default="-value_at_stake", at_risk=ma.fields.Boolean(),
                          owner_id=ma.fields.UUID(), department=ma.fields.String())
RuleListArgs = page_args("AnalyticsRuleListArgs", sorts=("lift", "confidence", "support"),
                         default="-lift", product_id=ma.fields.UUID())


@blp.route("/clv")
@require("reports.read")
@blp.arguments(ClvListArgs, location="query")
@blp.response(200, page_schema(ClvSchema))
def list_clv(args):
    """Per-customer expected purchases (90 days), P(alive) and 52-week CLV of the
    customers in the caller's row scope."""
    stmt = row_scope.limit_by_customer(db.session, api_actor(), select(CustomerClv),
                                       CustomerClv.id)
    return paginate(db.session, stmt, args,
                    columns={"clv": CustomerClv.clv, "p_alive": CustomerClv.p_alive,
                             "expected_purchases_90d": CustomerClv.expected_purchases_90d},
                    tiebreak=CustomerClv.id)


@blp.route("/clv/model")
@require("reports.read")
@blp.response(200, FitsSchema)
def clv_model():
    """The fitted BG/NBD and Gamma-Gamma parameters."""
    return {"items": db.session.scalars(select(AnalyticsFit).order_by(AnalyticsFit.kind)).all()}


@blp.route("/customers/<uuid:customer_id>")
@require("customers.read")
@blp.response(200, CustomerAnalyticsSchema)
def customer_analytics(customer_id):
    """One customer's CLV, churn score and "next product" recommendations."""
    customer = row_scope.get_customer(db.session, api_actor(), customer_id)
    return {"customer_id": customer.id,
            "clv": db.session.get(CustomerClv, (customer.tenant_id, customer.id)),
            "churn": db.session.get(ChurnScore, (customer.tenant_id, customer.id)),
            "recommendations": baskets.recommendations(db.session, customer.id)}


@blp.route("/rules")
@require("reports.read")
@blp.arguments(RuleListArgs, location="query")
@blp.response(200, page_schema(RuleSchema))
def list_rules(args):
    """Association rules "bought A → also bought B"."""
    stmt = select(AssociationRule)
    if args.get("product_id"):
        stmt = stmt.where(AssociationRule.antecedent_id == args["product_id"])
    return paginate(db.session, stmt, args,
                    columns={"lift": AssociationRule.lift,
                             "confidence": AssociationRule.confidence,
                             "support": AssociationRule.support},
                    tiebreak=AssociationRule.id)


@blp.route("/bundles")
@require("reports.read")
@blp.response(200, BundlesSchema)
def list_bundles():
    """Product pairs bought together more often than chance (lift > 1)."""
    return {"items": baskets.bundles(db.session)}


@blp.route("/churn")
@require("reports.read")
@blp.arguments(ChurnListArgs, location="query")
@blp.response(200, page_schema(ChurnSchema))
def list_churn(args):
    """Churn scores with reasons of the customers in the caller's row scope; filter
    at-risk customers and by owner."""
    _check_owner_filters(args)
    stmt = row_scope.limit_by_customer(db.session, api_actor(), select(ChurnScore),
                                       ChurnScore.id)
    if args.get("at_risk") is not None:
        stmt = stmt.where(ChurnScore.at_risk.is_(args["at_risk"]))
    if args.get("owner_id"):
        stmt = stmt.where(ChurnScore.id.in_(
            select(Customer.id).where(Customer.owner_id == args["owner_id"])))
    if args.get("department"):
        stmt = stmt.where(ChurnScore.id.in_(
            select(Customer.id).join(Staff, and_(Staff.tenant_id == Customer.tenant_id,
                                                 Staff.id == Customer.owner_id))
            .where(Staff.department == args["department"])))
    return paginate(db.session, stmt, args,
                    columns={"score": ChurnScore.score,
                             "value_at_stake": ChurnScore.value_at_stake},
                    tiebreak=ChurnScore.id)


class BackTestArgs(Schema):
    days = ma.fields.Integer(load_default=180, validate=ma.validate.Range(min=7, max=730))
    as_of = ma.fields.Date(metadata={"description": "Score as of this day (default: "
                                                    "`days` ago); `as_of` + `days` ≤ today."})


class BackTestSchema(Schema):
    as_of = ma.fields.DateTime()
    horizon_days = ma.fields.Integer()
    customers = ma.fields.Integer()
    flagged = ma.fields.Integer()
    churned = ma.fields.Integer()
    flagged_and_churned = ma.fields.Integer()
    recall = ma.fields.Float(allow_none=True)
    precision = ma.fields.Float(allow_none=True)
    caught_by = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    value_flagged_and_churned = ma.fields.Decimal(as_string=True)
    value_missed = ma.fields.Decimal(as_string=True)


@blp.route("/churn/back-test")
@require("reports.read")
@blp.arguments(BackTestArgs, location="query")
@blp.response(200, BackTestSchema)
def churn_back_test(args):
    """Score the tenant as it was `days` ago and count how many of the customers who
    then placed no order in those `days` had been flagged (computed on request)."""
    as_of = args.get("as_of")
    start = (datetime.combine(as_of, time(), ZoneInfo(current_tenant().timezone or "UTC"))
             if as_of else None)
    return backtest.run(db.session, start, args["days"]).as_dict()


@blp.route("/recompute", methods=["POST"])
@require("reports.read")
@blp.response(202, RecomputeSchema)
def recompute():
    """Queue a recomputation of every analytics table of the tenant."""
    enqueue_after_commit(db.session, "saas.jobs.analytics:recompute_tenant",
                         current_tenant().id)
    db.session.commit()
    return {"queued": True}

