"""Service-desk pages: queues, a ticket's conversation and actions, SLA settings.

Thin views: each parses a form, calls one service function, commits, and redirects;
service errors go next to the fields (or into a flash) with the service's status.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import (
    BooleanField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)

from saas.api.pagination import keyset_page
from saas.extensions import db
from saas.models import Staff
from saas.models.customers import Customer
from saas.models.tickets import PRIORITIES, STATUSES, TICKET_TYPES, Ticket
from saas.services import holidays as holiday_service
from saas.services import row_scope, sla, ticket_analysis
from saas.services import tickets as ticket_service
from saas.services.customers import get_customer
from saas.services.errors import InvalidInput, ServiceError
from saas.services.visits import tenant_today
from saas.tenancy import current_tenant
from saas.web import nav
from saas.web.access import current_staff, flash_error, request_actor, require
from saas.web.forms import choices
from saas.web.saving import commit_or_rerender

bp = Blueprint("tickets", __name__, url_prefix="/t/<slug>/tickets")
nav.add("tickets.index", _l("Tickets"), permission="tickets.read", order=40)


@bp.before_request
def _ticket_in_row_scope():
    """Every page with a ticket id: 404 when the ticket's customer is outside the
    staff member's row scope (privacy, issue 11)."""
    ticket_id = (request.view_args or {}).get("ticket_id")
    if ticket_id is not None and current_staff() is not None:
        ticket = ticket_service.get_ticket(db.session, ticket_id)
        row_scope.ensure_visible(db.session, request_actor(), ticket.customer_id)

STATUS_LABELS = {"new": _l("New"), "open": _l("Open"),
                 "pending_customer": _l("Waiting for customer"), "resolved": _l("Resolved"),
                 "closed": _l("Closed"), "reopened": _l("Reopened")}
PRIORITY_LABELS = {"low": _l("Low"), "normal": _l("Normal"), "high": _l("High"),
                   "urgent": _l("Urgent")}
TYPE_LABELS = {"complaint": _l("Complaint"), "request": _l("Request"),
               "question": _l("Question")}
QUEUE_LABELS = {"all": _l("All"), "mine": _l("Mine"), "team": _l("My team"),
                "overdue": _l("Overdue"), "due_soon": _l("Due soon"),
                "unassigned": _l("Unassigned")}
KIND_LABELS = {"reply": _l("Reply"), "note": _l("Internal note"),
               "inbound": _l("From the customer")}
WEEKDAYS = ((1, _l("Mon")), (2, _l("Tue")), (3, _l("Wed")), (4, _l("Thu")), (5, _l("Fri")),
            (6, _l("Sat")), (7, _l("Sun")))


class TicketForm(FlaskForm):
    customer_id = SelectField(_l("Customer"), validate_choice=False)
    subject = StringField(_l("Subject"))
    description = TextAreaField(_l("Description"))
    type = SelectField(_l("Type"), validate_choice=False)
    priority = SelectField(_l("Priority"), validate_choice=False, default="normal")
    cause = SelectField(_l("Cause"), validate_choice=False)
    owner_id = SelectField(_l("Owner"), validate_choice=False)


class MessageForm(FlaskForm):
    kind = SelectField(_l("Kind"), validate_choice=False, default="reply")
    body = TextAreaField(_l("Message"))


class EditForm(FlaskForm):
    priority = SelectField(_l("Priority"), validate_choice=False)
    cause = SelectField(_l("Cause"), validate_choice=False)
    owner_id = SelectField(_l("Owner"), validate_choice=False)
    watchers = SelectMultipleField(_l("Watchers"), validate_choice=False)


class AttachmentForm(FlaskForm):
    file = FileField(_l("File"))


class SettingsForm(FlaskForm):
    causes = TextAreaField(_l("Cause categories"), description=_l("One per line."))
    opens = StringField(_l("Opens at"), description=_l("HH:MM, in the tenant's time zone."))
    closes = StringField(_l("Closes at"))


class HolidayForm(FlaskForm):
    name = StringField(_l("Name"))
    start = StringField(_l("First day"), description=_l("YYYY-MM-DD"))
    end = StringField(_l("Last day"), description=_l("YYYY-MM-DD; empty for a single day."))
    greeting = BooleanField(_l("Send holiday greetings"), default=True)

    def data_for_service(self) -> dict:
        return {"name": self.name.data or "", "start": (self.start.data or "").strip(),
                "end": (self.end.data or "").strip() or None,
                "greeting": bool(self.greeting.data)}


def _staff_choices(empty: bool = True) -> list:
    staff = db.session.scalars(select(Staff).where(Staff.active.is_(True))
                               .order_by(Staff.name)).all()
    pairs = [("", _("Nobody"))] if empty else []
    return choices(pairs + [(str(s.id), s.name) for s in staff])


def _cause_choices() -> list:
    return choices([("", "—")] + [(c, c) for c in ticket_service.causes(current_tenant)])


def _edit_form(ticket: Ticket, formdata: Any = None) -> EditForm:
    form = EditForm(formdata=formdata, data={
        "priority": ticket.priority, "cause": ticket.cause or "",
        "owner_id": str(ticket.owner_id) if ticket.owner_id else "",
        "watchers": list(ticket.watchers or [])})
    form.priority.choices = choices((p, PRIORITY_LABELS[p]) for p in PRIORITIES)
    form.cause.choices = _cause_choices()
    form.owner_id.choices = _staff_choices()
    form.watchers.choices = _staff_choices(empty=False)
    return form


def _message_form(bound: bool = True) -> MessageForm:
    """Bound to the request's form data on a POST; `bound=False` for a blank form."""
    form = MessageForm() if bound else MessageForm(formdata=None)
    form.kind.choices = choices((k, KIND_LABELS[k]) for k in ("reply", "note"))
    return form


@bp.get("/")
@require("tickets.read")
def index():
    queue = request.args.get("queue", "all")
    status = request.args.get("status") or None
    priority = request.args.get("priority") or None
    if queue not in ticket_service.QUEUES:
        queue = "all"
    stmt = ticket_service.query(db.session, request_actor(), queue=queue,
                                status=status if status in STATUSES else None,
                                priority=priority if priority in PRIORITIES else None)
    stmt = row_scope.limit_by_customer(db.session, request_actor(), stmt, Ticket.customer_id)
    try:
        page = keyset_page(db.session, stmt, [Ticket.opened_at.desc(), Ticket.id.desc()],
                           50, request.args.get("cursor"))
    except Exception:  # a tampered cursor: start again from the top
        abort(400)
    customer_ids = {t.customer_id for t in page.items}
    owner_ids = {t.owner_id for t in page.items if t.owner_id}
    customers = {c.id: c for c in db.session.scalars(
        select(Customer).where(Customer.id.in_(customer_ids)))} if customer_ids else {}
    owners = {s.id: s for s in db.session.scalars(
        select(Staff).where(Staff.id.in_(owner_ids)))} if owner_ids else {}
    return render_template("tickets/index.html", page=page, queue=queue, status=status,
                           priority=priority, customers=customers, owners=owners,
                           queue_labels=QUEUE_LABELS, status_labels=STATUS_LABELS,
                           priority_labels=PRIORITY_LABELS,
                           is_overdue=ticket_service.is_overdue)


@bp.route("/new", methods=["GET", "POST"])
@require("tickets.write")
def create():
    form = TicketForm()
    wanted = request.args.get("customer_id") or form.customer_id.data
    recent = db.session.scalars(row_scope.apply(
        db.session, request_actor(), select(Customer).where(Customer.merged_into_id.is_(None)))
        .order_by(Customer.created_at.desc()).limit(500)).all()
    pairs = [(str(c.id), c.name) for c in recent]
    if wanted and wanted not in {p[0] for p in pairs}:
        try:
            chosen = row_scope.get_customer(db.session, request_actor(), wanted)
            pairs.insert(0, (str(chosen.id), chosen.name))
        except ServiceError:
            pass
    form.customer_id.choices = choices(pairs)
    form.type.choices = choices((t, TYPE_LABELS[t]) for t in TICKET_TYPES)
    form.priority.choices = choices((p, PRIORITY_LABELS[p]) for p in PRIORITIES)
    form.cause.choices = _cause_choices()
    form.owner_id.choices = _staff_choices()
    if request.method == "GET" and wanted:
        form.customer_id.data = wanted
    if form.validate_on_submit():
        data = {"customer_id": form.customer_id.data, "subject": form.subject.data,
                "description": form.description.data, "type": form.type.data,
                "priority": form.priority.data, "cause": form.cause.data or None,
                "owner_id": form.owner_id.data or None, "channel": "web"}

        def write() -> Ticket:
            row_scope.ensure_visible(db.session, request_actor(), data["customer_id"])
            return ticket_service.create_ticket(db.session, request_actor(), data)

        ticket = commit_or_rerender(
            write, lambda exc: (render_template("tickets/form.html", form=form), exc.status),
            form=form)
        flash(_("Ticket opened."), "success")
        return redirect(url_for(".show", ticket_id=ticket.id))
    return render_template("tickets/form.html", form=form)


def _render_show(ticket: Ticket, message_form: MessageForm | None = None,
                 edit_form: EditForm | None = None,
                 attachment_form: AttachmentForm | None = None, status: int = 200):
    customer = get_customer(db.session, ticket.customer_id)
    staff = {s.id: s for s in db.session.scalars(select(Staff))}
    return render_template(
        "tickets/show.html", ticket=ticket, customer=customer, staff=staff,
        messages=ticket_service.messages(db.session, ticket),
        attachments=ticket_service.attachments(db.session, ticket),
        message_form=message_form or _message_form(bound=False),
        edit_form=edit_form or _edit_form(ticket),
        attachment_form=attachment_form or AttachmentForm(),
        next_statuses=ticket_service.TRANSITIONS[ticket.status],
        status_labels=STATUS_LABELS, priority_labels=PRIORITY_LABELS,
        type_labels=TYPE_LABELS, kind_labels=KIND_LABELS,
        overdue=ticket_service.is_overdue(ticket),
        watchers=[staff.get(w) for w in ticket.watchers or []]), status


def _show_again(ticket_id, **forms: FlaskForm) -> Callable[[ServiceError], Any]:
    """The ticket page after a failed write: the ticket loaded again (the rollback expired
    it), the posted form with its errors."""
    return lambda exc: _render_show(ticket_service.get_ticket(db.session, ticket_id),
                                    status=exc.status, **forms)


@bp.get("/<uuid:ticket_id>")
@require("tickets.read")
def show(ticket_id):
    return _render_show(ticket_service.get_ticket(db.session, ticket_id))


@bp.post("/<uuid:ticket_id>/messages")
@require("tickets.write")
def add_message(ticket_id):
    ticket = ticket_service.get_ticket(db.session, ticket_id)
    form = _message_form()
    if form.validate_on_submit():
        commit_or_rerender(
            lambda: ticket_service.add_message(db.session, request_actor(), ticket.id,
                                               form.kind.data, form.body.data),
            _show_again(ticket_id, message_form=form), form=form)
        flash(_("Reply sent.") if form.kind.data == "reply" else _("Note added."),
              "success")
    return redirect(url_for(".show", ticket_id=ticket_id))


@bp.post("/<uuid:ticket_id>/status")
@require("tickets.write")
def change_status(ticket_id):
    try:
        ticket_service.change_status(db.session, request_actor(), ticket_id,
                                     request.form.get("status", ""))
        db.session.commit()
        flash(_("Status changed."), "success")
    except ServiceError as exc:
        db.session.rollback()
        if exc.status == 404:
            raise
        flash_error(exc)
    return redirect(url_for(".show", ticket_id=ticket_id))


@bp.post("/<uuid:ticket_id>/edit")
@require("tickets.write")
def edit(ticket_id):
    ticket = ticket_service.get_ticket(db.session, ticket_id)
    form = _edit_form(ticket, formdata=request.form)
    if form.validate_on_submit():
        data = {"priority": form.priority.data, "cause": form.cause.data or None,
                "owner_id": form.owner_id.data or None,
                "watchers": [w for w in form.watchers.data or [] if w]}
        commit_or_rerender(
            lambda: ticket_service.update_ticket(db.session, request_actor(), ticket.id, data),
            _show_again(ticket_id, edit_form=form), form=form)
        flash(_("Ticket updated."), "success")
    return redirect(url_for(".show", ticket_id=ticket_id))


@bp.post("/<uuid:ticket_id>/attachments")
@require("tickets.write")
def upload(ticket_id):
    ticket = ticket_service.get_ticket(db.session, ticket_id)
    form = AttachmentForm()
    if form.validate_on_submit():
        upload = form.file.data

        def write() -> None:
            if upload is None or not getattr(upload, "filename", ""):
                raise InvalidInput.field("file", "Choose a file.")
            ticket_service.add_attachment(
                db.session, request_actor(), ticket.id, upload.filename, upload.read(),
                ticket_service.storage_root(current_app.instance_path))

        commit_or_rerender(write, _show_again(ticket_id, attachment_form=form), form=form)
        flash(_("File attached."), "success")
    return redirect(url_for(".show", ticket_id=ticket_id))


@bp.get("/<uuid:ticket_id>/attachments/<uuid:attachment_id>")
@require("tickets.read")
def download(ticket_id, attachment_id):
    attachment = ticket_service.get_attachment(db.session, ticket_id, attachment_id)
    path = ticket_service.attachment_path(
        ticket_service.storage_root(current_app.instance_path), attachment)
    return send_file(path, mimetype=attachment.content_type, as_attachment=True,
                     download_name=attachment.filename)


@bp.route("/settings", methods=["GET", "POST"])
@require("settings.manage")
def settings():
    """Cause categories and the SLA policy (working days and hours, targets, holidays)."""
    tenant = current_tenant
    policy = sla.policy_data(tenant)
    form = SettingsForm(data={
        "causes": "\n".join(ticket_service.causes(tenant)),
        "opens": policy["working_hours"][0], "closes": policy["working_hours"][1]})
    targets = policy["priorities"]
    days = policy["working_days"]
    if form.validate_on_submit():
        days = [int(d) for d in request.form.getlist("working_days") if d.isdigit()]
        targets = {}
        for p in PRIORITIES:
            targets[p] = {}
            for kind in ("first_response_hours", "resolution_hours"):
                raw = request.form.get(f"{p}_{kind}", "").strip()
                try:
                    targets[p][kind] = float(raw)
                except ValueError:
                    targets[p][kind] = raw
        data = {"working_days": days, "working_hours": [form.opens.data.strip(),
                                                        form.closes.data.strip()],
                "priorities": targets}

        def write() -> None:
            actor = request_actor()
            ticket_service.set_causes(db.session, actor, [
                c for c in form.causes.data.splitlines() if c.strip()])
            ticket_service.set_sla_policy(db.session, actor, data)

        commit_or_rerender(write, lambda exc: (render_template(
            "tickets/settings.html", form=form, targets=targets, days=days,
            weekdays=WEEKDAYS, errors=exc.errors, holiday_count=len(policy["holidays"]),
            priority_labels=PRIORITY_LABELS), exc.status), form=form)
        flash(_("Service desk settings saved."), "success")
        return redirect(url_for(".settings"))
    return render_template("tickets/settings.html", form=form, targets=targets, days=days,
                           weekdays=WEEKDAYS, errors={}, priority_labels=PRIORITY_LABELS,
                           holiday_count=len(policy["holidays"]))


def _holiday_page(form: HolidayForm, status: int = 200, editing: Any = None):
    policy = sla.policy_data(current_tenant)
    names = dict(WEEKDAYS)
    return render_template("tickets/holidays.html", form=form, editing=editing,
                           holidays=holiday_service.calendar(current_tenant), policy=policy,
                           days_label=", ".join(str(names[d]) for d in policy["working_days"])
                           ), status


@bp.route("/holidays", methods=["GET", "POST"])
@require("settings.manage")
def holidays():
    """The holiday calendar shared by SLA business hours and holiday greetings."""
    form = HolidayForm()
    if form.validate_on_submit():
        commit_or_rerender(
            lambda: holiday_service.add_holiday(db.session, request_actor(),
                                                form.data_for_service()),
            lambda exc: _holiday_page(form, exc.status), form=form)
        flash(_("Holiday added."), "success")
        return redirect(url_for(".holidays"))
    return _holiday_page(form)


@bp.route("/holidays/<uuid:holiday_id>", methods=["GET", "POST"])
@require("settings.manage")
def edit_holiday(holiday_id):
    current = holiday_service.get_holiday(current_tenant, holiday_id)
    form = HolidayForm(data={"name": current.name, "start": current.start.isoformat(),
                             "end": current.end.isoformat(), "greeting": current.greeting})
    if form.validate_on_submit():
        commit_or_rerender(
            lambda: holiday_service.update_holiday(db.session, request_actor(), holiday_id,
                                                   form.data_for_service()),
            lambda exc: _holiday_page(form, exc.status, editing=current), form=form)
        flash(_("Holiday saved."), "success")
        return redirect(url_for(".holidays"))
    return _holiday_page(form, editing=current)


@bp.post("/holidays/<uuid:holiday_id>/delete")
@require("settings.manage")
def delete_holiday(holiday_id):
    holiday_service.remove_holiday(db.session, request_actor(), holiday_id)
    db.session.commit()
    flash(_("Holiday removed."), "success")
    return redirect(url_for(".holidays"))


def _analysis_period() -> tuple[date, date, str, dict[str, Any]]:
    """The period and bucket of the query string; a bad one falls back with a message."""
    today = tenant_today(db.session)
    bucket = request.args.get("bucket") or "month"
    try:
        until = date.fromisoformat(request.args.get("until") or today.isoformat())
        since = date.fromisoformat(request.args.get("since")
                                   or (until - timedelta(days=180)).isoformat())
        data = ticket_analysis.summary(db.session, since, until, bucket)
    except (ValueError, ServiceError):
        flash(_("Give the period as two dates, the start before the end."), "error")
        since, until, bucket = today - timedelta(days=180), today, "month"
        data = ticket_analysis.summary(db.session, since, until, bucket)
    return since, until, bucket, data


@bp.get("/analysis")
@require("reports.read")
def analysis():
    """Causes (Pareto chart), causes per week or month (trend chart), times by agent and
    cause, reopen rate; each chart with its table and a CSV download."""
    since, until, bucket, data = _analysis_period()
    pareto_chart = {"labels": [r["cause"] for r in data["pareto"]],
                    "counts": [r["count"] for r in data["pareto"]],
                    "cumulative": [round(r["cumulative"] * 100, 1) for r in data["pareto"]],
                    "count_label": _("Tickets"), "cumulative_label": _("Cumulative %")}
    trend_chart = {"labels": data["trend"]["periods"],
                   "series": [{"label": s["cause"], "counts": s["counts"]}
                              for s in data["trend"]["series"]]}
    return render_template("tickets/analysis.html", data=data, since=since, until=until,
                           bucket=bucket, pareto_chart=pareto_chart, trend_chart=trend_chart)


@bp.get("/analysis/<any(pareto, trend):figure>.csv")
@require("reports.read")
def analysis_csv(figure: str):
    since, until, bucket, data = _analysis_period()
    body = ticket_analysis.pareto_csv(data["pareto"]) if figure == "pareto" \
        else ticket_analysis.trend_csv(data["trend"])
    name = f"ticket-causes-{figure}-{since}-{until}.csv"
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
