"""The account's own settings: name, language, time zone, currency."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField

from saas.extensions import db
from saas.services import tenants as tenant_service
from saas.tenancy import current_tenant
from saas.web import nav
from saas.web.access import request_actor, require
from saas.web.forms import choices
from saas.web.public import LOCALE_CHOICES, timezone_choices
from saas.web.saving import commit_or_rerender

bp = Blueprint("settings", __name__, url_prefix="/t/<slug>/settings")
nav.add("settings.edit", _l("Settings"), permission="settings.manage", order=95)


class SettingsForm(FlaskForm):
    name = StringField(_l("Company name"))
    locale = SelectField(_l("Default language"), choices=choices(LOCALE_CHOICES),
                         validate_choice=False)
    timezone = SelectField(_l("Time zone"), validate_choice=False)
    currency = SelectField(_l("Currency"),
                           choices=choices((c, c) for c in tenant_service.CURRENCIES),
                           validate_choice=False)


@bp.route("/", methods=["GET", "POST"])
@require("settings.manage")
def edit():
    tenant = current_tenant._get_current_object()
    form = SettingsForm(obj=tenant if request.method == "GET" else None)
    form.timezone.choices = timezone_choices(form.timezone.data or tenant.timezone)
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("settings/edit.html", form=form), status
    commit_or_rerender(
        lambda: tenant_service.update_settings(
            db.session, tenant, request_actor(), name=form.name.data or "",
            locale=form.locale.data, timezone=form.timezone.data, currency=form.currency.data),
        lambda exc: (render_template("settings/edit.html", form=form), exc.status), form=form)
    flash(_("Settings saved."), "success")
    return redirect(url_for(".edit"), 303)
