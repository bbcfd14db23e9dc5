"""Staff management: who works in this account, invitations, roles, deactivation."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField

from saas.extensions import db
from saas.models import ROLES
from saas.services import staff as staff_service
from saas.services.errors import ServiceError
from saas.tenancy import current_tenant
from saas.web import nav
from saas.web.access import can, flash_error, request_actor, require
from saas.web.forms import choices
from saas.web.saving import commit_or_rerender
from saas.web.templating import role_label

bp = Blueprint("staff", __name__, url_prefix="/t/<slug>/staff")
nav.add("staff.index", _l("Staff"), permission="staff.read", order=80)


def _role_choices() -> list:
    return choices((r, role_label(r)) for r in ROLES)


class InviteForm(FlaskForm):
    email = EmailField(_l("Email"))
    role = SelectField(_l("Role"), validate_choice=False)


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), validate_choice=False)


def _render_index(invite_form: InviteForm, status: int = 200, link: str | None = None):
    members = db.session.scalars(staff_service.list_staff(db.session)).all()
    return render_template("staff/index.html", members=members, form=invite_form,
                           role_choices=_role_choices(), invitation_link=link,
                           can_manage=can("staff.manage")), status


def _invite_form(blank: bool = False) -> InviteForm:
    form = InviteForm(formdata=None) if blank else InviteForm()
    form.role.choices = _role_choices()
    if request.method == "GET" or blank:
        form.role.data = "agent"
    return form


def _index_with_error(exc: ServiceError):
    flash_error(exc)
    return _render_index(_invite_form(blank=True), exc.status)


@bp.get("/")
@require("staff.read")
def index():
    return _render_index(_invite_form())


@bp.post("/invite")
@require("staff.manage")
def invite():
    form = _invite_form()
    if not form.validate_on_submit():
        return _render_index(form, 400)
    invitation, link = commit_or_rerender(lambda: staff_service.invite(
        db.session, request_actor(), form.email.data or "", form.role.data or "",
        current_app.config["INVITATION_TTL_HOURS"], current_app.config["BASE_URL"],
        current_tenant.slug), lambda exc: _render_index(form, exc.status), form=form)
    flash(_("Invitation sent to %(email)s.", email=invitation.email), "success")
    return _render_index(_invite_form(blank=True), 201, link)


@bp.post("/<staff_id>/role")
@require("staff.manage")
def change_role(staff_id: str):
    member = staff_service.get_staff(db.session, staff_id)
    form = RoleForm()
    if form.validate_on_submit():
        commit_or_rerender(lambda: staff_service.change_role(
            db.session, request_actor(), member, form.role.data or ""), _index_with_error)
        flash(_("%(name)s is now %(role)s.", name=member.name,
                role=role_label(member.role)), "success")
    return redirect(url_for(".index"), 303)


@bp.post("/<staff_id>/active")
@require("staff.manage")
def set_active(staff_id: str):
    member = staff_service.get_staff(db.session, staff_id)
    if request.form.get("active") not in ("0", "1"):
        flash(_("Choose whether the account is active."), "error")
        return _render_index(_invite_form(blank=True), 422)
    active = request.form["active"] == "1"
    commit_or_rerender(lambda: staff_service.set_active(db.session, request_actor(), member,
                                                        active), _index_with_error)
    flash(_("%(name)s can log in again.", name=member.name) if active
          else _("%(name)s can no longer log in.", name=member.name), "success")
    return redirect(url_for(".index"), 303)
