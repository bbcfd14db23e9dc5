"""Customer pages: the list (filters, search, saved views), the form, and the 360 page."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import SelectField, StringField, TextAreaField

from saas.extensions import db
from saas.models import Staff
from saas.models.customers import (
    CONSENT_CHANNELS,
    CUSTOMER_KINDS,
    LIFECYCLE_STAGES,
    PURCHASING_POWER,
)
from saas.models.interactions import CHANNELS, DIRECTIONS, KINDS
from saas.models.orders import COUNTED_STATUSES, Order
from saas.services import contacts as contact_service
from saas.services import custom_fields as field_service
from saas.services import customer_list, field_access, read_audit, row_scope, saved_views
from saas.services import customers as customer_service
from saas.services import interactions as interaction_service
from saas.services import orders as order_service
from saas.services import segments as segment_service
from saas.services.errors import InvalidInput, ServiceError
from saas.services.money import CENT
from saas.tenancy import current_tenant
from saas.timeline import timeline
from saas.web import nav
from saas.web import privacy as privacy_web
from saas.web.access import can, flash_error, form_errors, request_actor, require
from saas.web.customer_labels import (
    CHANNEL_LABELS,
    CONSENT_LABELS,
    DIRECTION_LABELS,
    INTERACTION_KIND_LABELS,
    KIND_LABELS,
    ORDER_STATUS_LABELS,
    POWER_LABELS,
    STAGE_LABELS,
    labelled,
)
from saas.web.forms import choices
from saas.web.messages import translate_message

bp = Blueprint("customers", __name__, url_prefix="/t/<slug>/customers")
nav.add("customers.index", _l("Customers"), permission="customers.read", order=20)

PAGE_SIZE = 25
TIMELINE_SIZE = 30


class CustomerForm(FlaskForm):
    kind = SelectField(_l("Type"), validate_choice=False)
    name = StringField(_l("Name"))
    phones = StringField(_l("Phones"), description=_l("Separate several with commas."))
    emails = StringField(_l("Emails"), description=_l("Separate several with commas."))
    wechat_id = StringField(_l("WeChat ID"))
    address = TextAreaField(_l("Address"))
    industry = StringField(_l("Industry"))
    company_size = StringField(_l("Company size"))
    purchasing_power = SelectField(_l("Purchasing power"), validate_choice=False)
    category = SelectField(_l("Category"), validate_choice=False)
    owner_id = SelectField(_l("Owner"), validate_choice=False)
    department = StringField(_l("Department"))
    tags = StringField(_l("Tags"), description=_l("Separate several with commas."))
    birthday = StringField(_l("Birthday"), render_kw={"type": "date"})
    source_channel = StringField(_l("Source channel"))
    lifecycle_stage = SelectField(_l("Lifecycle stage"), validate_choice=False)
    consent_email = SelectField(_l("Email consent"), validate_choice=False)
    consent_sms = SelectField(_l("SMS consent"), validate_choice=False)
    consent_wechat = SelectField(_l("WeChat consent"), validate_choice=False)
    consent_phone = SelectField(_l("Phone consent"), validate_choice=False)
    external_id = StringField(_l("External ID"))
    notes = TextAreaField(_l("Notes"))


class InteractionForm(FlaskForm):
    channel = SelectField(_l("Channel"), validate_choice=False)
    direction = SelectField(_l("Direction"), validate_choice=False)
    kind = SelectField(_l("Kind"), validate_choice=False)
    summary = TextAreaField(_l("Summary"))
    follow_up_on = StringField(_l("Follow up on"), render_kw={"type": "date"})


class ContactForm(FlaskForm):
    name = StringField(_l("Name"))
    title = StringField(_l("Title"))
    phone = StringField(_l("Phone"))
    email = StringField(_l("Email"))


def _staff_choices(keep=None) -> list:
    """Active staff, plus `keep` (a customer's current owner, even if deactivated)."""
    members = db.session.scalars(select(Staff).where(
        Staff.active.is_(True) | (Staff.id == keep)).order_by(Staff.name, Staff.id))
    return choices([("", _("— nobody —"))] + [(str(m.id), m.name) for m in members])


def _customer_form(customer=None) -> CustomerForm:
    form = CustomerForm(data=_form_data(customer)) if customer and request.method == "GET" \
        else CustomerForm()
    form.kind.choices = choices(labelled(CUSTOMER_KINDS, KIND_LABELS))
    form.purchasing_power.choices = choices([("", "—")] + labelled(PURCHASING_POWER,
                                                                   POWER_LABELS))
    names = customer_service.categories(current_tenant)
    if customer is not None and customer.category and customer.category not in names:
        names = [*names, customer.category]
    form.category.choices = choices([("", "—")] + [(c, c) for c in names])
    form.owner_id.choices = _staff_choices(customer.owner_id if customer else None)
    form.lifecycle_stage.choices = choices(labelled(LIFECYCLE_STAGES, STAGE_LABELS))
    for channel in CONSENT_CHANNELS:
        getattr(form, f"consent_{channel}").choices = choices(
            [("", _("Not recorded"))] + labelled(("granted", "withdrawn"), CONSENT_LABELS))
    return form


def _form_data(customer) -> dict[str, Any]:
    data = {name: getattr(customer, name) for name in (
        "kind", "name", "wechat_id", "address", "industry", "company_size",
        "purchasing_power", "category", "department", "source_channel", "lifecycle_stage",
        "external_id", "notes")}
    data.update(phones=", ".join(customer.phones or []),
                emails=", ".join(customer.emails or []),
                tags=", ".join(customer.tags or []),
                birthday=customer.birthday.isoformat() if customer.birthday else "",
                owner_id=str(customer.owner_id) if customer.owner_id else "")
    for channel in CONSENT_CHANNELS:
        data[f"consent_{channel}"] = (customer.consent or {}).get(channel, {}).get("status", "")
    return {k: ("" if v is None else v) for k, v in data.items()}


def _service_data(form: CustomerForm, definitions, customer=None,
                  skip: set[str] = frozenset()) -> dict[str, Any]:
    """`skip`: fields hidden from or read-only for this role (privacy, issue 11)."""
    data: dict[str, Any] = {name: getattr(form, name).data for name in (
        "kind", "name", "phones", "emails", "wechat_id", "address", "industry",
        "company_size", "purchasing_power", "category", "owner_id", "department", "tags",
        "birthday", "source_channel", "lifecycle_stage", "external_id", "notes")
        if name not in skip}
    consent = {}
    for channel in CONSENT_CHANNELS:
        if f"consent_{channel}" in skip:
            continue
        status = getattr(form, f"consent_{channel}").data
        current = ((customer.consent if customer else {}) or {}).get(channel, {})
        if status and status != current.get("status"):
            consent[channel] = {"status": status, "source": _("staff form")}
    if consent or not skip & {f"consent_{c}" for c in CONSENT_CHANNELS}:
        data["consent"] = consent
    values: dict[str, Any] = {}
    for d in definitions:
        if d.type == "multi_choice":
            values[d.key] = request.form.getlist(f"cf_{d.key}")
        else:
            values[d.key] = request.form.get(f"cf_{d.key}", "")
    data["custom_fields"] = values
    return data


def _custom_values(customer, definitions) -> dict[str, Any]:
    if request.method == "POST":
        return {d.key: (request.form.getlist(f"cf_{d.key}") if d.type == "multi_choice"
                        else request.form.get(f"cf_{d.key}", "")) for d in definitions}
    return dict((customer.custom_fields if customer else {}) or {})


def _split_errors(form: FlaskForm, exc: ServiceError) -> dict[str, list[str]]:
    """Custom-field errors go next to those fields; the rest to the form's own fields."""
    cf_errors = {k.split(".", 1)[1]: v for k, v in exc.errors.items()
                 if k.startswith("custom_fields.")}
    rest = {k.replace(".", "_"): v for k, v in exc.errors.items()
            if not k.startswith("custom_fields.")}
    if rest or not cf_errors:
        form_errors(form, ServiceError(exc.message, rest))  # any subclass's signature
    return cf_errors


def _render_form(form, customer, definitions, cf_errors=None, status=200):
    return render_template("customers/form.html", form=form, customer=customer,
                           definitions=definitions, cf_errors=cf_errors or {},
                           cf_values=_custom_values(customer, definitions)), status


def _list_privacy() -> dict[str, set[str]]:
    """What the list page leaves out for the viewer's role: `blocked_filters` (filter
    keys of fields not visible in clear — the server would refuse them) and
    `hidden_fields` (field keys whose column stays empty)."""
    access = privacy_web.web_access()
    return {"blocked_filters": {key for spec in access.specs
                                if not access.can_see_clear(spec.key)
                                for key in spec.filter_keys},
            "hidden_fields": set(access.hidden)}


@bp.get("/")
@require("customers.read")
def index():
    raw = {k: v for k, v in request.args.items() if k not in ("cursor", "view") and v}
    views = saved_views.list_views(db.session, request_actor())
    view_id = request.args.get("view")
    if view_id:
        view = saved_views.get_view(db.session, request_actor(), view_id)
        kept, dropped = saved_views.applicable(db.session, request_actor(), view,
                                               privacy_web.web_access())
        if dropped:
            flash(_("The view “%(view)s” opened without its filter on %(fields)s: that "
                    "field is hidden for your role, so more customers may be listed.",
                    view=view.name, fields=", ".join(
                        d.label if d.custom else _(d.label) for d in dropped)), "info")
        return redirect(url_for(".index", **kept, sort=view.sort), 303)
    try:
        privacy_web.check_filters(raw)
        query = customer_list.parse_filters(db.session, raw)
        page = customer_list.page(db.session, query, request.args.get("cursor") or None,
                                  PAGE_SIZE, where=row_scope.criterion(db.session,
                                                                       request_actor()))
        page.items = [privacy_web.redacted(c) for c in page.items]
        status = 200
    except InvalidInput as exc:
        details = "; ".join(f"{key}: {translate_message(m)}" for key, msgs in exc.errors.items()
                            for m in msgs)
        flash(f"{translate_message(exc.message)} {details}", "error")
        query, page, status = customer_list.CustomerQuery(), customer_list.Page([], None), 422
    owners = {m.id: m.name for m in db.session.scalars(select(Staff))}
    return render_template(
        "customers/index.html", page=page, filters=raw, views=views, owners=owners,
        **_list_privacy(),
        categories=customer_service.categories(current_tenant),
        stages=labelled(LIFECYCLE_STAGES, STAGE_LABELS),
        kinds=labelled(CUSTOMER_KINDS, KIND_LABELS), staff_choices=_staff_choices(),
        segments=segment_service.list_segments(db.session),
        stage_labels=STAGE_LABELS, kind_labels=KIND_LABELS,
        sorts=[("-created_at", _("Newest first")), ("created_at", _("Oldest first")),
               ("name", _("Name A–Z")), ("-name", _("Name Z–A")),
               ("-updated_at", _("Recently changed"))],
        has_filters=bool(set(raw) - {"sort"}), cursor=request.args.get("cursor")), status


@bp.post("/views")
@require("customers.read")
def save_view():
    filters = {k: v for k, v in request.form.items()
               if k not in ("csrf_token", "view_name", "sort") and v}
    try:
        saved_views.create_view(db.session, request_actor(), request.form.get("view_name", ""),
                                filters, request.form.get("sort") or None)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        flash_error(exc)
        return redirect(url_for(".index", **filters), 303)
    flash(_("View saved."), "success")
    return redirect(url_for(".index", **filters, sort=request.form.get("sort") or None), 303)


@bp.post("/views/<view_id>/delete")
@require("customers.read")
def delete_view(view_id: str):
    saved_views.delete_view(db.session, request_actor(), view_id)
    db.session.commit()
    flash(_("View deleted."), "success")
    return redirect(url_for(".index"), 303)


@bp.route("/new", methods=["GET", "POST"])
@require("customers.write")
def create():
    definitions = _editable_definitions()
    form = _customer_form()
    skip = privacy_web.hide_form_fields(form)
    if request.method == "GET":
        form.lifecycle_stage.data = "lead"
    if form.validate_on_submit():
        try:
            customer = customer_service.create_customer(
                db.session, request_actor(), _service_data(form, definitions, skip=skip))
            db.session.commit()
        except ServiceError as exc:
            db.session.rollback()
            cf_errors = _split_errors(form, exc)
            return _render_form(form, None, definitions, cf_errors, exc.status)
        flash(_("Customer saved."), "success")
        return redirect(url_for(".show", customer_id=customer.id), 303)
    return _render_form(form, None, definitions)


@bp.route("/<customer_id>/edit", methods=["GET", "POST"])
@require("customers.write")
def edit(customer_id: str):
    customer = row_scope.get_customer(db.session, request_actor(), customer_id)
    definitions = _editable_definitions()
    form = _customer_form(customer)
    skip = privacy_web.hide_form_fields(form)
    if form.validate_on_submit():
        try:
            customer_service.update_customer(db.session, request_actor(), customer.id,
                                             _service_data(form, definitions, customer,
                                                           skip=skip))
            db.session.commit()
        except ServiceError as exc:
            db.session.rollback()
            customer = customer_service.get_customer(db.session, customer_id)
            cf_errors = _split_errors(form, exc)
            return _render_form(form, customer, definitions, cf_errors, exc.status)
        flash(_("Customer saved."), "success")
        return redirect(url_for(".show", customer_id=customer.id), 303)
    return _render_form(form, customer, definitions)


def _editable_definitions():
    """Custom field definitions this role may edit (hidden/read-only ones stay out of the
    form, so a submit neither shows nor clears them)."""
    hidden, readonly = privacy_web.hidden_custom_keys()
    return [d for d in field_service.list_definitions(db.session)
            if d.key not in hidden and d.key not in readonly]


def _interaction_form() -> InteractionForm:
    form = InteractionForm()
    form.channel.choices = choices(labelled(CHANNELS, CHANNEL_LABELS))
    form.direction.choices = choices(labelled(DIRECTIONS, DIRECTION_LABELS))
    form.kind.choices = choices([("", "—")] + labelled(KINDS, INTERACTION_KIND_LABELS))
    if request.method == "GET":
        form.direction.data = "out"
    return form


def _key_figures(customer_id) -> order_service.KeyFigures:
    """`order_service.key_figures` of an already loaded customer in one scan of its
    orders (count, first, last and spend per currency together), same result."""
    rows = db.session.execute(
        select(Order.currency, func.count(Order.id), func.min(Order.placed_at),
               func.max(Order.placed_at), func.sum(Order.total))
        .where(Order.customer_id == customer_id, Order.status.in_(COUNTED_STATUSES))
        .group_by(Order.currency).order_by(Order.currency)).all()
    count = sum(r[1] for r in rows)
    spend = {r[0]: Decimal(r[4]).quantize(CENT) for r in rows}
    first = min((r[2] for r in rows), default=None)
    last = max((r[3] for r in rows), default=None)
    if isinstance(first, str):
        first, last = datetime.fromisoformat(first), datetime.fromisoformat(last)
    interval = None
    if count > 1:
        interval = round((last - first).total_seconds() / 86400 / (count - 1), 1)
    return order_service.KeyFigures(count, spend, first, last, interval)


def _render_show(customer, interaction_form=None, contact_form=None, status=200):
    before = None
    if request.args.get("before"):
        try:
            before = datetime.fromisoformat(request.args["before"])
        except ValueError:
            abort(400)
        if before.tzinfo is None:
            abort(400)
    access = privacy_web.web_access()
    items = field_access.redact_timeline(access, timeline(db.session, customer.id, before,
                                                          TIMELINE_SIZE))
    customer = privacy_web.redacted(customer)
    owner = db.session.get(Staff, (customer.tenant_id, customer.owner_id)) \
        if customer.owner_id else None
    # The custom fields (key, label, in order) as the field-access registry has just
    # read them: no second query of the definitions.
    definitions = [SimpleNamespace(key=s.key.removeprefix("cf."), label=s.label)
                   for s in access.specs if s.custom]
    # Only a company shows its contacts: a person's page skips the two queries.
    contacts = privacy_web.redacted_contacts(
        contact_service.list_contacts(db.session, customer.id)) \
        if customer.kind == "company" else []
    return render_template(
        "customers/show.html", customer=customer, owner=owner, contacts=contacts,
        figures=privacy_web.redacted_figures(_key_figures(customer.id)),
        items=items,
        older=items[-1].at.isoformat() if len(items) == TIMELINE_SIZE else None,
        definitions=definitions, interaction_form=interaction_form or _interaction_form(),
        contact_form=contact_form or ContactForm(), can_write=can("customers.write"),
        kind_labels=KIND_LABELS, stage_labels=STAGE_LABELS, power_labels=POWER_LABELS,
        channel_labels=CHANNEL_LABELS, direction_labels=DIRECTION_LABELS,
        interaction_kind_labels=INTERACTION_KIND_LABELS, consent_labels=CONSENT_LABELS,
        order_status_labels=ORDER_STATUS_LABELS), status


@bp.get("/<customer_id>")
@require("customers.read")
def show(customer_id: str):
    customer = row_scope.get_customer(db.session, request_actor(), customer_id)
    read_audit.record_view(db.session, request_actor(), customer.id)
    # Committed after rendering: a commit first would expire the staff member and the
    # customer, and the page would load them again (three more round trips).
    response = _render_show(customer)
    db.session.commit()
    return response


@bp.post("/<customer_id>/interactions")
@require("customers.write")
def log_interaction(customer_id: str):
    customer = row_scope.get_customer(db.session, request_actor(), customer_id)
    form = _interaction_form()
    if form.validate_on_submit():
        data = {"channel": form.channel.data, "direction": form.direction.data,
                "kind": form.kind.data or None, "summary": form.summary.data,
                "follow_up_on": form.follow_up_on.data}
        try:
            interaction_service.log_interaction(db.session, request_actor(), customer.id, data)
            db.session.commit()
        except ServiceError as exc:
            db.session.rollback()
            form_errors(form, exc)
            customer = customer_service.get_customer(db.session, customer_id)
            return _render_show(customer, interaction_form=form, status=exc.status)
        flash(_("Interaction logged."), "success")
        return redirect(url_for(".show", customer_id=customer.id), 303)
    return _render_show(customer, interaction_form=form, status=422)


@bp.post("/<customer_id>/contacts")
@require("customers.write")
def add_contact(customer_id: str):
    customer = row_scope.get_customer(db.session, request_actor(), customer_id)
    form = ContactForm()
    if form.validate_on_submit():
        try:
            data = {"name": form.name.data, "title": form.title.data,
                    "phone": form.phone.data, "email": form.email.data}
            field_access.check_contact_writable(db.session, request_actor(), data)
            contact_service.create_contact(db.session, request_actor(), customer.id, data)
            db.session.commit()
        except ServiceError as exc:
            db.session.rollback()
            form_errors(form, exc)
            customer = customer_service.get_customer(db.session, customer_id)
            return _render_show(customer, contact_form=form, status=exc.status)
        flash(_("Contact added."), "success")
        return redirect(url_for(".show", customer_id=customer.id), 303)
    return _render_show(customer, contact_form=form, status=422)
