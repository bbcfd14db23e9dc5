"""Tenant configuration of customers: custom field definitions (including which are
sensitive, i.e. encrypted at rest) and the category list."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField

from saas.extensions import db
from saas.models.customers import FIELD_TYPES
from saas.services import custom_fields as field_service
from saas.services import customers as customer_service
from saas.services.errors import ServiceError
from saas.tenancy import current_tenant
from saas.web import nav
from saas.web.access import form_errors, request_actor, require
from saas.web.forms import choices
from saas.web.messages import translate_message

bp = Blueprint("customer_fields", __name__, url_prefix="/t/<slug>/customer-fields")
nav.add("customer_fields.index", _l("Customer fields"), permission="settings.manage",
        order=75)

TYPE_LABELS = {"text": _l("Text"), "number": _l("Number"), "date": _l("Date"),
               "choice": _l("Choice"), "multi_choice": _l("Multiple choice"),
               "boolean": _l("Yes / no")}
STATE_LABELS = {"plain": _l("Not encrypted"), "encrypting": _l("Encrypting values…"),
                "encrypted": _l("Encrypted"), "decrypting": _l("Decrypting values…")}
BUILTIN_LABELS = {"phones": _l("Phones"), "emails": _l("Emails"),
                  "wechat_id": _l("WeChat ID"), "address": _l("Address")}


class FieldForm(FlaskForm):
    key = StringField(_l("Key"), description=_l("Lower-case letters, digits and _."))
    label = StringField(_l("Label"))
    type = SelectField(_l("Type"), validate_choice=False)
    choices = StringField(_l("Choices"), description=_l("For choice fields; separate with "
                                                        "commas."))
    required = BooleanField(_l("Required"))
    sensitive = BooleanField(_l("Sensitive"), description=_l(
        "Encrypted at rest; the list finds it by exact value only, rules cannot use it."))


class CategoriesForm(FlaskForm):
    categories = StringField(_l("Categories"), description=_l("Separate with commas."))


def _field_form() -> FieldForm:
    form = FieldForm(prefix="field")
    form.type.choices = choices((t, TYPE_LABELS[t]) for t in FIELD_TYPES)
    return form


def _categories_form() -> CategoriesForm:
    form = CategoriesForm(prefix="cat")
    if request.method == "GET":
        form.categories.data = ", ".join(customer_service.categories(current_tenant))
    return form


def _render(field_form=None, categories_form=None, status=200):
    return render_template("customers/fields.html",
                           definitions=field_service.list_definitions(db.session),
                           form=field_form or _field_form(),
                           categories_form=categories_form or _categories_form(),
                           type_labels=TYPE_LABELS, state_labels=STATE_LABELS,
                           builtin_sensitive=[BUILTIN_LABELS[k] for k in
                                              field_service.BUILTIN_SENSITIVE]), status


def _split(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").replace("，", ",").split(",") if p.strip()]


@bp.get("/")
@require("settings.manage")
def index():
    return _render()


@bp.post("/")
@require("settings.manage")
def create():
    form = _field_form()
    if not form.validate_on_submit():
        return _render(form, status=400)
    try:
        field_service.create_definition(
            db.session, request_actor(), form.key.data or "", form.label.data or "",
            form.type.data or "", form.required.data, _split(form.choices.data),
            sensitive=form.sensitive.data)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        form_errors(form, exc)
        return _render(form, status=exc.status)
    flash(_("Custom field added."), "success")
    return redirect(url_for(".index"), 303)


@bp.post("/<field_id>/delete")
@require("settings.manage")
def delete(field_id: str):
    field_service.delete_definition(db.session, request_actor(), field_id)
    db.session.commit()
    flash(_("Custom field deleted."), "success")
    return redirect(url_for(".index"), 303)


@bp.post("/<field_id>/sensitive")
@require("settings.manage")
def sensitive(field_id: str):
    """Mark or unmark a field sensitive; the values move in a background job."""
    wanted = request.form.get("sensitive") == "on"
    try:
        field_service.update_definition(db.session, request_actor(), field_id,
                                        sensitive=wanted)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        if exc.status == 404:
            raise
        flash(" ".join([translate_message(exc.message)]
                       + [translate_message(m) for ms in exc.errors.values() for m in ms]),
              "error")
        return _render(status=exc.status)
    flash(_("The field is now sensitive: its values are being encrypted.") if wanted
          else _("The field is no longer sensitive: its values are being decrypted."),
          "success")
    return redirect(url_for(".index"), 303)


@bp.post("/categories")
@require("settings.manage")
def categories():
    form = _categories_form()
    if not form.validate_on_submit():
        return _render(categories_form=form, status=400)
    try:
        customer_service.set_categories(db.session, request_actor(),
                                        _split(form.categories.data))
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        form_errors(form, exc)
        return _render(categories_form=form, status=exc.status)
    flash(_("Categories saved."), "success")
    return redirect(url_for(".index"), 303)
