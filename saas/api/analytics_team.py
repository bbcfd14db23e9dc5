"""Team figures (issue #10): staff KPIs with a leaderboard, and the at-risk work list.

Every staff member may call these: a manager (`reports.read`) sees everyone, anyone
else only their own figures and customers."""

from __future__ import annotations

import marshmallow as ma
from flask_babel import gettext
from flask_smorest import Blueprint

from saas.analytics import churn
from saas.api import privacy as privacy_api
from saas.api.common import Schema, api_actor, require
from saas.extensions import db
from saas.services import at_risk, field_access, staff_kpis

blp = Blueprint("api_analytics_team", __name__, url_prefix="/analytics",
                description="Staff KPIs, the leaderboard and at-risk customers per owner.")


class StaffKpiSchema(Schema):
    staff_id = ma.fields.UUID()
    name = ma.fields.String()
    email = ma.fields.String()
    role = ma.fields.String()
    department = ma.fields.String(allow_none=True)
    rank = ma.fields.Integer()
    customers_owned = ma.fields.Integer()
    visits_due = ma.fields.Integer()
    visits_done = ma.fields.Integer()
    visits_on_time = ma.fields.Integer()
    visits_on_time_rate = ma.fields.Float(allow_none=True)
    tickets_handled = ma.fields.Integer()
    first_response_hours = ma.fields.Float(allow_none=True)
    resolution_hours = ma.fields.Float(allow_none=True)
    csat = ma.fields.Float(allow_none=True)
    csat_answers = ma.fields.Integer()
    nps = ma.fields.Float(allow_none=True)
    nps_answers = ma.fields.Integer()
    revenue = ma.fields.Decimal(as_string=True)


class LeaderboardSchema(Schema):
    since = ma.fields.Date()
    until = ma.fields.Date()
    currency = ma.fields.String()
    sort = ma.fields.String()
    computed_at = ma.fields.DateTime()
    items = ma.fields.List(ma.fields.Nested(StaffKpiSchema))


class StaffKpiOneSchema(LeaderboardSchema):
    class Meta:
        exclude = ("items",)

    staff = ma.fields.Nested(StaffKpiSchema)


class PeriodArgs(Schema):
    since = ma.fields.Date(metadata={"description": "First day (tenant's time zone); "
                                                    "default 29 days before `until`."})
    until = ma.fields.Date(metadata={"description": "Last day, included; default today."})


class LeaderboardArgs(PeriodArgs):
    sort = ma.fields.String(load_default="-revenue", validate=ma.validate.OneOf(
        [s for name in staff_kpis.SORTS for s in (name, f"-{name}")]))
    department = ma.fields.String(validate=ma.validate.Length(max=100))


class AtRiskArgs(Schema):
    owner_id = ma.fields.UUID()
    department = ma.fields.String(validate=ma.validate.Length(min=1, max=100))
    everyone = ma.fields.Boolean(load_default=False)
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(
        min=1, max=at_risk.MAX_ROWS))


class AtRiskSchema(Schema):
    customer_id = ma.fields.UUID()
    name = ma.fields.String()
    owner_id = ma.fields.UUID(allow_none=True)
    owner_name = ma.fields.String(allow_none=True)
    score = ma.fields.Float()
    reasons = ma.fields.Function(lambda r: [churn.describe(x, gettext) for x in r.reasons])
    reason_codes = ma.fields.Function(lambda r: [x for x in r.reasons if isinstance(x, dict)])
    value_at_stake = ma.fields.Decimal(as_string=True)
    p_alive = ma.fields.Float(allow_none=True)
    clv = ma.fields.Decimal(as_string=True, allow_none=True)
    computed_at = ma.fields.DateTime()

    @ma.post_dump
    def _hide_fields(self, data, **kwargs):
        """Amounts and the owner are left out for roles that may not see them (issue 11)."""
        access = privacy_api.request_access()
        for key, names in ((field_access.ORDER_AMOUNTS, at_risk.AMOUNTS),
                           ("owner_id", at_risk.OWNER)):
            if not access.can_see(key):
                for name in names:
                    data.pop(name, None)
        return data


class AtRiskListSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(AtRiskSchema))


@blp.route("/staff-kpis")
@require()
@blp.arguments(LeaderboardArgs, location="query")
@blp.response(200, LeaderboardSchema)
def leaderboard(args):
    """The leaderboard: every active staff member's KPIs for the period, ranked; an
    agent gets only their own row."""
    return staff_kpis.compute(db.session, api_actor(), args.get("since"), args.get("until"),
                              department=args.get("department"), sort=args["sort"])


@blp.route("/staff-kpis/<uuid:staff_id>")
@require()
@blp.arguments(PeriodArgs, location="query")
@blp.response(200, StaffKpiOneSchema)
def staff_kpi(args, staff_id):
    """One person's KPIs: your own, or anyone's with `reports.read` (else 403)."""
    board, row = staff_kpis.for_staff(db.session, api_actor(), staff_id, args.get("since"),
                                      args.get("until"))
    return {"since": board.since, "until": board.until, "currency": board.currency,
            "sort": board.sort, "computed_at": board.computed_at, "staff": row}


@blp.route("/at-risk")
@require("customers.read")
@blp.arguments(AtRiskArgs, location="query")
@blp.response(200, AtRiskListSchema)
def list_at_risk(args):
    """At-risk customers by value at stake: your own by default; managers may ask for
    an owner, a department or everyone."""
    return {"items": at_risk.list_at_risk(
        db.session, api_actor(), args.get("owner_id"), args.get("department"),
        args["everyone"], args["limit"])}
