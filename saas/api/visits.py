"""Return visits: plans per tier, my visits, recording a visit, the plan report."""

from __future__ import annotations

import uuid
from datetime import timedelta

import marshmallow as ma
from flask_smorest import Blueprint

from saas.api.common import Schema, api_actor, current_staff, require
from saas.extensions import db
from saas.models.visits import VISIT_METHODS
from saas.services import row_scope
from saas.services import visits as visit_service

blp = Blueprint("api_visits", __name__, url_prefix="/visits",
                description="Return-visit plans per tier and visit tasks.")


class VisitPlanSchema(Schema):
    id = ma.fields.UUID()
    tier_id = ma.fields.UUID()
    every_days = ma.fields.Integer()
    method = ma.fields.String()
    assignee_id = ma.fields.UUID(allow_none=True)
    active = ma.fields.Boolean()


class VisitPlanCreateSchema(Schema):
    tier_id = ma.fields.UUID(required=True)
    every_days = ma.fields.Integer(required=True)
    method = ma.fields.String(required=True, validate=ma.validate.OneOf(VISIT_METHODS))
    assignee_id = ma.fields.UUID(allow_none=True)


class VisitPlanUpdateSchema(Schema):
    tier_id = ma.fields.UUID()
    every_days = ma.fields.Integer()
    method = ma.fields.String(validate=ma.validate.OneOf(VISIT_METHODS))
    assignee_id = ma.fields.UUID(allow_none=True)
    active = ma.fields.Boolean()


class VisitTaskSchema(Schema):
    id = ma.fields.UUID()
    customer_id = ma.fields.UUID()
    plan_id = ma.fields.UUID()
    due_on = ma.fields.Date()
    assignee_id = ma.fields.UUID(allow_none=True)
    method = ma.fields.String()
    status = ma.fields.String()
    done_at = ma.fields.DateTime(allow_none=True)
    outcome = ma.fields.String(allow_none=True)
    rating = ma.fields.Integer(allow_none=True)
    needs = ma.fields.String(allow_none=True)
    next_step = ma.fields.String(allow_none=True)
    interaction_id = ma.fields.UUID(allow_none=True)


class MyVisitsSchema(Schema):
    overdue = ma.fields.List(ma.fields.Nested(VisitTaskSchema))
    today = ma.fields.List(ma.fields.Nested(VisitTaskSchema))
    upcoming = ma.fields.List(ma.fields.Nested(VisitTaskSchema))


class VisitRecordSchema(Schema):
    outcome = ma.fields.String(required=True)
    rating = ma.fields.Integer(required=True)
    needs = ma.fields.String(allow_none=True)
    next_step = ma.fields.String(allow_none=True)


class VisitReportArgs(Schema):
    since = ma.fields.Date()
    until = ma.fields.Date()


class VisitOutcomeSchema(Schema):
    outcome = ma.fields.String()
    count = ma.fields.Integer()


class VisitReportRowSchema(Schema):
    plan_id = ma.fields.UUID()
    tier = ma.fields.String()
    every_days = ma.fields.Integer()
    method = ma.fields.String()
    due = ma.fields.Integer()
    done = ma.fields.Integer()
    done_on_time = ma.fields.Integer()
    on_time_rate = ma.fields.Float(allow_none=True)
    average_rating = ma.fields.Float(allow_none=True)
    outcomes = ma.fields.List(ma.fields.Nested(VisitOutcomeSchema))


class VisitEffectArgs(Schema):
    since = ma.fields.Date()
    until = ma.fields.Date()
    window_days = ma.fields.Integer(load_default=30)


class VisitEffectRowSchema(Schema):
    plan_id = ma.fields.UUID()
    tier = ma.fields.String()
    method = ma.fields.String()
    outcome = ma.fields.String()
    visits = ma.fields.Integer()
    orders_before = ma.fields.Integer()
    orders_after = ma.fields.Integer()
    orders_change = ma.fields.Integer()
    spend_before = ma.fields.Decimal(as_string=True)
    spend_after = ma.fields.Decimal(as_string=True)
    spend_change = ma.fields.Decimal(as_string=True)
    bought_after = ma.fields.Integer()
    bought_after_rate = ma.fields.Float(allow_none=True)
    # By plan only: the control group (the tier's customers not visited in the period,
    # around the period's midpoint) and the difference-in-differences.
    spend_change_per_visit = ma.fields.Decimal(as_string=True, allow_none=True)
    orders_change_per_visit = ma.fields.Float(allow_none=True)
    control_customers = ma.fields.Integer()
    control_orders_before = ma.fields.Integer()
    control_orders_after = ma.fields.Integer()
    control_orders_change = ma.fields.Integer(allow_none=True)
    control_spend_before = ma.fields.Decimal(as_string=True)
    control_spend_after = ma.fields.Decimal(as_string=True)
    control_spend_change = ma.fields.Decimal(as_string=True, allow_none=True)
    control_spend_change_per_customer = ma.fields.Decimal(as_string=True, allow_none=True)
    control_orders_change_per_customer = ma.fields.Float(allow_none=True)
    did_spend = ma.fields.Decimal(as_string=True, allow_none=True)
    did_orders = ma.fields.Float(allow_none=True)


class VisitEffectSchema(Schema):
    since = ma.fields.Date()
    until = ma.fields.Date()
    window_days = ma.fields.Integer()
    currency = ma.fields.String()
    control_reference_at = ma.fields.DateTime()
    total = ma.fields.Nested(VisitEffectRowSchema)
    by_plan = ma.fields.List(ma.fields.Nested(VisitEffectRowSchema))
    by_method = ma.fields.List(ma.fields.Nested(VisitEffectRowSchema))
    by_outcome = ma.fields.List(ma.fields.Nested(VisitEffectRowSchema))


@blp.route("")
@require("customers.read")
@blp.response(200, MyVisitsSchema)
def my_visits():
    buckets = visit_service.my_visits(db.session, current_staff().id)
    visible = {t.id for t in row_scope.keep_visible(
        db.session, api_actor(), [t for tasks in buckets.values() for t in tasks])}
    return {name: [t for t in tasks if t.id in visible] for name, tasks in buckets.items()}


@blp.route("/<uuid:task_id>/record", methods=["POST"])
@require("customers.write")
@blp.arguments(VisitRecordSchema)
@blp.response(200, VisitTaskSchema)
def record_visit(data, task_id: uuid.UUID):
    row_scope.ensure_visible(db.session, api_actor(),
                             visit_service.get_task(db.session, task_id).customer_id)
    task = visit_service.record_visit(db.session, api_actor(), task_id, data)
    db.session.commit()
    return task


@blp.route("/plans")
@require("customers.read")
@blp.response(200, VisitPlanSchema(many=True))
def list_plans():
    plans = visit_service.list_plans(db.session)
    db.session.commit()  # the template's plans are saved on first use
    return plans


@blp.route("/plans", methods=["POST"])
@require("settings.manage")
@blp.arguments(VisitPlanCreateSchema)
@blp.response(201, VisitPlanSchema)
def create_plan(data):
    plan = visit_service.create_plan(db.session, api_actor(), data)
    db.session.commit()
    return plan


@blp.route("/plans/<uuid:plan_id>", methods=["PATCH"])
@require("settings.manage")
@blp.arguments(VisitPlanUpdateSchema)
@blp.response(200, VisitPlanSchema)
def update_plan(data, plan_id: uuid.UUID):
    plan = visit_service.update_plan(db.session, api_actor(), plan_id, data)
    db.session.commit()
    return plan


@blp.route("/plans/<uuid:plan_id>", methods=["DELETE"])
@require("settings.manage")
@blp.response(204)
def delete_plan(plan_id: uuid.UUID):
    visit_service.delete_plan(db.session, api_actor(), plan_id)
    db.session.commit()


@blp.route("/report")
@require("reports.read")
@blp.arguments(VisitReportArgs, location="query")
@blp.response(200, VisitReportRowSchema(many=True))
def report(args):
    until = args.get("until") or visit_service.tenant_today(db.session)
    since = args.get("since") or until - timedelta(days=90)
    return visit_service.report(db.session, since, until)


@blp.route("/report/purchases")
@require("reports.read")
@blp.arguments(VisitEffectArgs, location="query")
@blp.response(200, VisitEffectSchema)
def purchase_effect(args):
    until = args.get("until") or visit_service.tenant_today(db.session)
    since = args.get("since") or until - timedelta(days=90)
    return visit_service.purchase_effect(db.session, since, until, args["window_days"])
