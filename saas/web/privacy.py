"""Privacy pages: field permissions and row scopes per role, retention, and one
customer's privacy page (consent history, who saw the data, export and erasure).

Also the helpers the customer pages call to apply field permissions: `redacted(customer)`
wraps a customer so hidden attributes read as empty and masked ones masked,
`hide_form_fields(form)` drops hidden fields from a form and disables read-only and
masked ones, and the reveal action shows one masked value in clear (audited).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from saas.extensions import db
from saas.models.customers import CONSENT_CHANNELS
from saas.models.privacy import ROW_SCOPES
from saas.services import (
    consent,
    field_access,
    read_audit,
    retention,
    row_scope,
    subject_requests,
)
from saas.services.errors import Conflict, ServiceError
from saas.web import nav
from saas.web.access import current_staff, flash_error, request_actor, require
from saas.web.messages import translate_message
from saas.web.saving import back_with_error, commit_or_rerender

bp = Blueprint("privacy", __name__, url_prefix="/t/<slug>/privacy")
nav.add("privacy.index", _l("Privacy"), permission="privacy.manage", order=92)

SCOPE_LABELS = {"all": _l("All customers"), "department": _l("Own department's"),
                "own": _l("Only their own")}
MATRIX_LEVELS = {"visible": "write", "readonly": "read", "masked": "masked",
                 "hidden": "hidden"}
ACTION_LABELS = {"customer.viewed": _l("Viewed"), "customer.exported": _l("Exported"),
                 "customer.field_revealed": _l("Revealed a field"),
                 "customer.erased": _l("Erased"),
                 "customers.exported": _l("Exported in a list")}


# -- helpers for the customer pages ----------------------------------------------------

def web_access() -> field_access.Access:
    """The logged-in staff member's field access, once per request."""
    access = g.get("_field_access")
    if access is None:
        staff = current_staff()
        access = field_access.access_for(db.session, staff.role if staff else None)
        g._field_access = access
    return access


class RedactedCustomer:
    """A read-only view of a customer in which hidden fields are empty and masked ones
    masked; `privacy_masked` lists the (key, label) of masked fields that have a value,
    for the reveal buttons."""

    def __init__(self, customer: Any, access: field_access.Access) -> None:
        self._customer = customer
        self._attrs, self._custom = field_access.hidden_attributes(access)
        self._masked, self._masked_custom = field_access.masked_attributes(access)
        self.privacy_masked = [(s.key, s.label) for s in access.specs
                               if s.key in access.masked
                               and field_access.clear_value(s, customer) not in
                               (None, "", [])]

    def __getattr__(self, name: str) -> Any:
        if name in self._attrs:
            return [] if name in ("phones", "emails", "tags") else (
                {} if name == "consent" else None)
        value = getattr(self._customer, name)
        if name in self._masked:
            return field_access.mask_value(self._masked[name], value)
        if name == "custom_fields" and (self._custom or self._masked_custom):
            return {k: (field_access.mask_value(self._masked_custom[k], v)
                        if k in self._masked_custom else v)
                    for k, v in (value or {}).items() if k not in self._custom}
        return value


def redacted(customer: Any) -> Any:
    access = web_access()
    return customer if not access.restricted else RedactedCustomer(customer, access)


class RedactedContact:
    """A contact whose phone/email follow the customer phones/emails permissions."""

    def __init__(self, contact: Any, access: field_access.Access) -> None:
        self._contact = contact
        self._access = access

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._contact, name)
        key = field_access.CONTACT_FIELDS.get(name)
        if key is None or self._access.can_see_clear(key):
            return value
        return None if key in self._access.hidden else field_access.mask_value(key, value)


def redacted_contacts(contacts: list) -> list:
    access = web_access()
    return contacts if not access.restricted else [RedactedContact(c, access)
                                                   for c in contacts]


def redacted_figures(figures: Any) -> Any:
    if web_access().can_see(field_access.ORDER_AMOUNTS) or not dataclasses.is_dataclass(
            figures):
        return figures
    return dataclasses.replace(figures, spend={})


class HiddenField:
    """Stands in for a form field the role may not see: templates that name it still
    render (the `field` macro skips it), and it is no longer part of the form."""

    privacy_hidden = True
    description = ""
    errors: tuple = ()
    data = None


def hide_form_fields(form: Any) -> set[str]:
    """Drop hidden fields from a customer form, disable read-only ones; returns the
    names of the form fields the service must not receive."""
    access = web_access()
    skip: set[str] = set()
    for spec in access.specs:
        if spec.custom or spec.key == field_access.ORDER_AMOUNTS:
            continue
        names = [f"consent_{c}" for c in CONSENT_CHANNELS] if spec.key == "consent" \
            else [spec.key]
        for name in names:
            if name not in form:
                continue
            if spec.key not in access.visible:
                del form[name]
                setattr(form, name, HiddenField())
                skip.add(name)
            elif spec.key not in access.editable:
                form[name].render_kw = {**(form[name].render_kw or {}), "disabled": True}
                if spec.key in access.masked and isinstance(form[name].data, str):
                    form[name].data = ", ".join(
                        str(field_access.mask_value(spec.key, part))
                        for part in form[name].data.split(", ")) if form[name].data else ""
                skip.add(name)
    return skip


def hidden_custom_keys() -> tuple[set[str], set[str]]:
    """(hidden, read-only) custom field keys for the customer form."""
    access = web_access()
    hidden = {s.key[3:] for s in access.specs if s.custom and s.key in access.hidden}
    readonly = {s.key[3:] for s in access.specs if s.custom and s.key in access.visible
                and s.key not in access.editable}
    return hidden, readonly


def check_filters(filters: dict[str, Any]) -> None:
    field_access.check_filters(web_access(), filters)


# -- admin pages -----------------------------------------------------------------------

@bp.get("/")
@require("privacy.manage")
def index():
    return render_template(
        "privacy/index.html", settings=field_access.settings(db.session),
        scopes=row_scope.scopes(db.session), scope_choices=ROW_SCOPES,
        scope_labels=SCOPE_LABELS, policy=retention.get_policy(db.session),
        preview=retention.preview(db.session), actions=retention.ACTIONS,
        erasures=subject_requests.erasures(db.session, 20))


@bp.post("/fields")
@require("privacy.manage")
def save_fields():
    """The matrix posts `<role>|<field>` = visible / readonly / masked / hidden for every
    cell."""
    changes = []
    for key, value in request.form.items():
        if "|" not in key:
            continue
        role, field = key.split("|", 1)
        changes.append({"role": role, "field": field,
                        "level": MATRIX_LEVELS.get(value, value)})

    def rerender(exc: ServiceError):
        if not isinstance(exc, Conflict):
            flash_error(exc)
            return redirect(url_for(".index"), 303)
        usages = [(k, m) for k, msgs in exc.errors.items() for m in msgs]
        return render_template(
            "privacy/confirm.html", usages=usages, form=request.form,
            message=translate_message(exc.message)), 409

    commit_or_rerender(lambda: field_access.set_permissions(
        db.session, request_actor(), changes, confirm=request.form.get("confirm") == "1"),
        rerender)
    flash(_("Field permissions saved."), "success")
    return redirect(url_for(".index"), 303)


@bp.post("/scopes")
@require("privacy.manage")
def save_scopes():
    def write() -> None:
        for role in row_scope.SCOPED_ROLES:
            if request.form.get(role):
                row_scope.set_scope(db.session, request_actor(), role, request.form[role])

    commit_or_rerender(write, back_with_error(url_for(".index"), 303))
    flash(_("Row scopes saved."), "success")
    return redirect(url_for(".index"), 303)


@bp.post("/retention")
@require("privacy.manage")
def save_retention():
    data = {"months": request.form.get("months"), "action": request.form.get("action"),
            "targets": request.form.getlist("targets")}
    try:
        policy = retention.clean_policy(data)
        if request.form.get("dry_run"):
            counts = retention.preview(db.session, policy)
            flash(_("Dry run: %(i)s interactions and %(t)s tickets would be affected.",
                    i=counts["interactions"], t=counts["tickets"]), "info")
            return redirect(url_for(".index"), 303)
        retention.set_policy(db.session, request_actor(), data)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        flash_error(exc)
        return redirect(url_for(".index"), 303)
    flash(_("Retention policy saved."), "success")
    return redirect(url_for(".index"), 303)


@bp.get("/customers/<customer_id>")
@require("privacy.manage")
def customer(customer_id: str):
    record = row_scope.get_customer(db.session, request_actor(), customer_id)
    return render_template(
        "privacy/customer.html", customer=record,
        history=consent.history(db.session, record.id),
        current=consent.derived_state(db.session, record.id),
        reads=read_audit.who_saw(db.session, record.id, read_audit.DEFAULT_DAYS),
        action_labels=ACTION_LABELS, days=read_audit.DEFAULT_DAYS)


@bp.post("/customers/<customer_id>/reveal")
@require("customers.read")
def reveal(customer_id: str):
    """One masked field of a customer in clear, recorded in the read audit. A POST, so a
    link preview or prefetch never reveals (nor logs) anything."""
    actor = request_actor()
    record = row_scope.get_customer(db.session, actor, customer_id)
    key = request.form.get("field", "")
    value = field_access.reveal(db.session, actor, record, key, "360 page")
    db.session.commit()
    spec = next(s for s in web_access().specs if s.key == key)
    values = value if isinstance(value, list) else [value]
    response = Response(render_template("privacy/reveal.html", customer=record,
                                        label=spec.label, custom=spec.custom,
                                        values=values))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/customers/<customer_id>/export")
@require("privacy.manage")
def export(customer_id: str):
    body = subject_requests.export_customer(db.session, request_actor(), customer_id)
    db.session.commit()
    return Response(body, mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="customer-{customer_id}.zip"'})


@bp.post("/customers/<customer_id>/erase")
@require("privacy.manage")
def erase(customer_id: str):
    row_scope.get_customer(db.session, request_actor(), customer_id)  # 404 before anything
    if request.form.get("confirm") != "ERASE":
        flash(_("Type ERASE to confirm."), "error")
        return redirect(url_for(".customer", customer_id=customer_id), 303)
    back = url_for(".customer", customer_id=customer_id)
    commit_or_rerender(lambda: subject_requests.erase_customer(
        db.session, request_actor(), customer_id, request.form.get("reason") or None),
        back_with_error(back, 303))
    flash(_("The customer's personal data was erased."), "success")
    return redirect(back, 303)
