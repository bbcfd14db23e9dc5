"""The managers' dashboard figures (issue #10), read from the precomputed dashboard
tables, each with the "last computed" stamp; CSV of each figure; a recompute trigger.

Its own module (blueprint `api_dashboard` under `/analytics/dashboard`) so the analytics
API module stays with the CLV/churn figures."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response
from flask_smorest import Blueprint

from saas.analytics import dashboard_figures as figs
from saas.api.common import Schema, current_tenant, require
from saas.extensions import db
from saas.jobs.queue import enqueue_after_commit

blp = Blueprint("api_dashboard", __name__, url_prefix="/analytics/dashboard",
                description="Dashboard figures (customers by tier/stage/category, new vs "
                            "lost, revenue by tier, purchase cycle, complaints, NPS/CSAT, "
                            "campaigns), precomputed by a scheduled job.")


class DashboardArgs(Schema):
    start = ma.fields.String(metadata={"description": "First day, YYYY-MM-DD (default: "
                                                      "the 1st of the month 11 months ago)."})
    end = ma.fields.String(metadata={"description": "Last day, YYYY-MM-DD (default: today)."})
    period = ma.fields.String(metadata={"description": "auto, day, week or month."})
    owner_id = ma.fields.String(metadata={"description": "Only customers this staff "
                                                         "member owns."})
    department = ma.fields.String(metadata={"description": "Only customers of this "
                                                           "department."})


class DashboardSeriesSchema(Schema):
    key = ma.fields.String(metadata={"description": "Tier, stage, category, cause, "
                                                    "metric...; empty = none."})
    values = ma.fields.List(ma.fields.Raw(allow_none=True))
    chart = ma.fields.Boolean(metadata={"description": "False: table-only column."})


class DashboardFigureSchema(Schema):
    name = ma.fields.String()
    kind = ma.fields.String(metadata={"description": "count, money or percent."})
    period = ma.fields.String(allow_none=True)
    currency = ma.fields.String(allow_none=True)
    labels = ma.fields.List(ma.fields.String())
    series = ma.fields.List(ma.fields.Nested(DashboardSeriesSchema))
    extra = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()))


class DashboardStampSchema(Schema):
    computed_at = ma.fields.DateTime(allow_none=True)
    first_day = ma.fields.Date(allow_none=True)
    last_day = ma.fields.Date(allow_none=True)


class DashboardFigureResponseSchema(DashboardStampSchema):
    figure = ma.fields.Nested(DashboardFigureSchema)


class DashboardSchema(DashboardStampSchema):
    start = ma.fields.Date()
    end = ma.fields.Date()
    owner_id = ma.fields.UUID(allow_none=True)
    department = ma.fields.String(allow_none=True)
    figures = ma.fields.List(ma.fields.Nested(DashboardFigureSchema))


class DashboardRecomputeSchema(Schema):
    full = ma.fields.Boolean(load_default=False, metadata={
        "description": "Rebuild all history instead of the recent window."})


class DashboardQueuedSchema(Schema):
    queued = ma.fields.Boolean()


def _filters(args: dict[str, Any]) -> figs.Filters:
    return figs.parse_filters(db.session, current_tenant().timezone, args)


def _stamp() -> dict[str, Any]:
    st = figs.stamp(db.session)
    return {"computed_at": st.computed_at if st else None,
            "first_day": st.first_day if st else None,
            "last_day": st.last_day if st else None}


@blp.route("")
@require("reports.read")
@blp.arguments(DashboardArgs, location="query", unknown=ma.RAISE)
@blp.response(200, DashboardSchema)
def dashboard(args):
    """Every figure under the same filters, with the "last computed" stamp."""
    f = _filters(args)
    currency = current_tenant().currency
    return {**_stamp(), "start": f.start, "end": f.end, "owner_id": f.owner_id,
            "department": f.department,
            "figures": [figs.figure(db.session, name, f, currency) for name in figs.FIGURES]}


@blp.route("/<figure>")
@require("reports.read")
@blp.arguments(DashboardArgs, location="query", unknown=ma.RAISE)
@blp.response(200, DashboardFigureResponseSchema)
def dashboard_figure(args, figure):
    """One figure (see the list in the API docs); an unknown name is a 404."""
    f = _filters(args)
    return {**_stamp(), "figure": figs.figure(db.session, figure, f, current_tenant().currency)}


@blp.route("/<figure>.csv")
@require("reports.read")
@blp.arguments(DashboardArgs, location="query", unknown=ma.RAISE)
@blp.response(200, description="The figure's table as CSV.")
def dashboard_figure_csv(args, figure):
    f = _filters(args)
    fig = figs.figure(db.session, figure, f, current_tenant().currency)
    return Response(figs.to_csv(fig), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{figure}.csv"'})


@blp.route("/recompute", methods=["POST"])
@require("reports.read")
@blp.arguments(DashboardRecomputeSchema, required=False)
@blp.response(202, DashboardQueuedSchema)
def dashboard_recompute(data):
    """Queue a recomputation of the tenant's dashboard tables."""
    enqueue_after_commit(db.session, "saas.jobs.analytics:refresh_dashboard",
                         current_tenant().id, bool((data or {}).get("full")))
    db.session.commit()
    return {"queued": True}
