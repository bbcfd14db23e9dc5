"""Return-visit pages: my visits (overdue, today, upcoming) with recording, the plans
per tier, and the plan report."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField, TextAreaField

from saas.extensions import db
from saas.models import Staff
from saas.models.customers import Customer
from saas.models.visits import VISIT_METHODS
from saas.services import row_scope
from saas.services import tiers as tier_service
from saas.services import visits as visit_service
from saas.services.errors import ServiceError
from saas.web import nav
from saas.web.access import current_staff, flash_error, request_actor, require
from saas.web.forms import choices
from saas.web.saving import commit_or_rerender

bp = Blueprint("visits", __name__, url_prefix="/t/<slug>/visits")
nav.add("visits.index", _l("Visits"), permission="customers.read", order=42)

METHOD_LABELS = {"in_person": _l("In person"), "phone": _l("Phone"), "video": _l("Video"),
                 "message": _l("Message")}


class RecordForm(FlaskForm):
    outcome = TextAreaField(_l("Outcome"))
    rating = SelectField(_l("Effectiveness (1-5)"), validate_choice=False)
    needs = TextAreaField(_l("Needs found"))
    next_step = StringField(_l("Next step"))


class PlanForm(FlaskForm):
    tier_id = SelectField(_l("Tier"), validate_choice=False)
    every_days = StringField(_l("Every (days)"))
    method = SelectField(_l("Method"), validate_choice=False)
    assignee_id = SelectField(_l("Who visits"), validate_choice=False)


def _record_form(bound: bool = True) -> RecordForm:
    form = RecordForm() if bound else RecordForm(formdata=None)
    form.rating.choices = choices((str(n), str(n)) for n in range(5, 0, -1))
    return form


def _plan_form() -> PlanForm:
    form = PlanForm()
    form.tier_id.choices = choices((str(t.id), t.name) for t in tier_service.list_tiers(
        db.session))
    form.method.choices = choices((m, METHOD_LABELS[m]) for m in VISIT_METHODS)
    staff = db.session.scalars(select(Staff).where(Staff.active.is_(True))
                               .order_by(Staff.name)).all()
    form.assignee_id.choices = choices([("", _("The customer's owner"))]
                                       + [(str(s.id), s.name) for s in staff])
    return form


def _task_context(task_id):
    task = visit_service.get_task(db.session, task_id)
    row_scope.ensure_visible(db.session, request_actor(), task.customer_id)
    customer = db.session.scalars(select(Customer).where(
        Customer.id == task.customer_id)).first()
    return task, customer


@bp.get("/")
@require("customers.read")
def index():
    staff = current_staff()
    buckets = visit_service.my_visits(db.session, staff.id if staff else None)
    visible = {t.id for t in row_scope.keep_visible(
        db.session, request_actor(), [t for tasks in buckets.values() for t in tasks])}
    buckets = {name: [t for t in tasks if t.id in visible]
               for name, tasks in buckets.items()}
    ids = {t.customer_id for tasks in buckets.values() for t in tasks}
    names = {c.id: c.name for c in db.session.scalars(
        select(Customer).where(Customer.id.in_(ids)))} if ids else {}
    return render_template("visits/index.html", buckets=buckets, names=names,
                           method_labels=METHOD_LABELS)


@bp.route("/<uuid:task_id>/record", methods=["GET", "POST"])
@require("customers.write")
def record(task_id):
    task, customer = _task_context(task_id)
    form = _record_form()
    if form.validate_on_submit():
        data = {"outcome": form.outcome.data, "rating": form.rating.data,
                "needs": form.needs.data, "next_step": form.next_step.data}
        commit_or_rerender(
            lambda: visit_service.record_visit(db.session, request_actor(), task.id, data),
            lambda exc: _render_record(form, *_task_context(task_id), exc.status), form=form)
        flash(_("Visit recorded."), "success")
        return redirect(url_for(".index"))
    return _render_record(form, task, customer)


def _render_record(form: RecordForm, task, customer, status: int = 200):
    return render_template("visits/record.html", form=form, task=task, customer=customer,
                           method_labels=METHOD_LABELS), status


@bp.get("/plans")
@require("customers.read")
def plans():
    return _render_plans(_plan_form())


@bp.post("/plans")
@require("settings.manage")
def create_plan():
    form = _plan_form()
    if form.validate_on_submit():
        data = {"tier_id": form.tier_id.data, "every_days": form.every_days.data,
                "method": form.method.data, "assignee_id": form.assignee_id.data or None}
        commit_or_rerender(lambda: visit_service.create_plan(db.session, request_actor(), data),
                           lambda exc: (_render_plans(form), exc.status), form=form)
        flash(_("Visit plan saved."), "success")
    return redirect(url_for(".plans"))


def _render_plans(form: PlanForm):
    plans = visit_service.list_plans(db.session)
    db.session.commit()
    tiers = {t.id: t.name for t in tier_service.list_tiers(db.session)}
    staff = {s.id: s.name for s in db.session.scalars(select(Staff))}
    return render_template("visits/plans.html", plans=plans, tiers=tiers, staff=staff,
                           form=form, method_labels=METHOD_LABELS)


@bp.post("/plans/<uuid:plan_id>/delete")
@require("settings.manage")
def delete_plan(plan_id):
    try:
        visit_service.delete_plan(db.session, request_actor(), plan_id)
        db.session.commit()
        flash(_("Visit plan deleted."), "success")
    except ServiceError as exc:
        db.session.rollback()
        if exc.status == 404:
            raise
        flash_error(exc)
    return redirect(url_for(".plans"))


@bp.get("/report")
@require("reports.read")
def report():
    """Plans: visits done on time and outcomes; and purchases before vs after visits."""
    today = visit_service.tenant_today(db.session)
    window = request.args.get("window_days", "30")
    try:
        until = date.fromisoformat(request.args.get("until") or today.isoformat())
        since = date.fromisoformat(request.args.get("since")
                                   or (until - timedelta(days=90)).isoformat())
        window_days = int(window) if window.strip().isdigit() else -1
        rows = visit_service.report(db.session, since, until)
        effect = visit_service.purchase_effect(db.session, since, until, window_days)
    except (ValueError, ServiceError):
        flash(_("Give the period as two dates, the start before the end, and a window "
                "of 1 to 365 days."), "error")
        since, until, window_days = today - timedelta(days=90), today, 30
        rows = visit_service.report(db.session, since, until)
        effect = visit_service.purchase_effect(db.session, since, until, window_days)
    return render_template("visits/report.html", rows=rows, since=since, until=until,
                           method_labels=METHOD_LABELS, effect=effect,
                           window_days=window_days)
