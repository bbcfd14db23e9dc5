"""Privacy administration: field permissions, row scopes, consent history, read audit,
subject requests (export, erase) and retention.

The module also holds the small request helpers the customer API and the export use to
apply field permissions (`redact_customer`, `check_filters`, `request_actor`); they cache
the caller's access per request so a page of 200 customers costs one lookup.
"""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask import Response, g, has_request_context, request
from flask_smorest import Blueprint

from saas.api.common import Schema, api_actor, require
from saas.extensions import db
from saas.models.customers import CONSENT_CHANNELS, CONSENT_STATUSES
from saas.models.privacy import CONSENT_SOURCES, ROW_SCOPES
from saas.services import (
    consent,
    field_access,
    read_audit,
    retention,
    row_scope,
    subject_requests,
)
from saas.services.context import Actor

blp = Blueprint("api_privacy", __name__, url_prefix="/privacy",
                description="Field permissions, row scopes, consent history, read audit, "
                            "subject requests and retention.")


# -- helpers for other modules ----------------------------------------------------------

def request_actor() -> Actor | None:
    """The acting staff member of this request (API token or web login), if any."""
    staff = g.get("staff") if has_request_context() else None
    if staff is None:
        return None
    return Actor.of_staff(staff, request.remote_addr, request.user_agent.string)


def request_access() -> field_access.Access:
    """The caller's field access, computed once per request."""
    access = g.get("_field_access") if has_request_context() else None
    if access is None:
        staff = g.get("staff") if has_request_context() else None
        access = field_access.access_for(db.session, staff.role if staff else None)
        if has_request_context():
            g._field_access = access
    return access


def redact_customer(data: dict[str, Any]) -> dict[str, Any]:
    access = request_access()
    if not access.hidden and not access.masked:
        return data  # the owner, or a role limited nowhere: nothing to take out
    return field_access.redact(access, data)


def redact_contact(data: dict[str, Any]) -> dict[str, Any]:
    return field_access.redact_contact(request_access(), data)


def redact_order(data: dict[str, Any]) -> dict[str, Any]:
    return field_access.redact_order(request_access(), data)


def redact_timeline(items: list) -> list:
    return field_access.redact_timeline(request_access(), items)


def check_filters(filters: dict[str, Any]) -> None:
    field_access.check_filters(request_access(), filters)


# -- schemas ---------------------------------------------------------------------------

class PrivacyRoleAccessSchema(Schema):
    level = ma.fields.String(metadata={"description": "write, read, masked or hidden"})
    visible = ma.fields.Boolean()
    editable = ma.fields.Boolean()
    masked = ma.fields.Boolean()


class PrivacyFieldSchema(Schema):
    key = ma.fields.String()
    label = ma.fields.String()
    custom = ma.fields.Boolean()
    maskable = ma.fields.Boolean()
    roles = ma.fields.Dict(keys=ma.fields.String(),
                           values=ma.fields.Nested(PrivacyRoleAccessSchema))


class PrivacyFieldSettingsSchema(Schema):
    roles = ma.fields.List(ma.fields.String())
    levels = ma.fields.List(ma.fields.String())
    fields = ma.fields.List(ma.fields.Nested(PrivacyFieldSchema))


class PrivacyFieldChangeSchema(Schema):
    role = ma.fields.String(required=True)
    field = ma.fields.String(required=True)
    level = ma.fields.String(validate=ma.validate.OneOf(field_access.LEVELS), metadata={
        "description": "write, read, masked (maskable fields only) or hidden."})
    visible = ma.fields.Boolean(metadata={"description": "Older form of `level`."})
    editable = ma.fields.Boolean(load_default=True)
    masked = ma.fields.Boolean(load_default=False)

    @ma.validates_schema
    def _level_or_visible(self, data, **kwargs):
        if "level" not in data and "visible" not in data:
            raise ma.ValidationError("Give the level.", "level")


class PrivacyFieldChangesSchema(Schema):
    changes = ma.fields.List(ma.fields.Nested(PrivacyFieldChangeSchema), required=True,
                             validate=ma.validate.Length(min=1, max=500))
    confirm = ma.fields.Boolean(load_default=False, metadata={
        "description": "Hide fields used in tier rules or segments anyway."})


class PrivacyRowScopesSchema(Schema):
    scopes = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())


class PrivacyRowScopeChangeSchema(Schema):
    role = ma.fields.String(required=True)
    scope = ma.fields.String(required=True, validate=ma.validate.OneOf(ROW_SCOPES))


class PrivacyConsentEventSchema(Schema):
    id = ma.fields.UUID()
    channel = ma.fields.String()
    status = ma.fields.String()
    source = ma.fields.String()
    detail = ma.fields.String(allow_none=True)
    actor_id = ma.fields.UUID(allow_none=True)
    actor_label = ma.fields.String()
    at = ma.fields.DateTime()


class PrivacyConsentSchema(Schema):
    current = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Dict())
    history = ma.fields.List(ma.fields.Nested(PrivacyConsentEventSchema))


class PrivacyConsentChangeSchema(Schema):
    channel = ma.fields.String(required=True, validate=ma.validate.OneOf(CONSENT_CHANNELS))
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(CONSENT_STATUSES))
    source = ma.fields.String(load_default="api", validate=ma.validate.OneOf(CONSENT_SOURCES))


class PrivacyAccessArgs(Schema):
    days = ma.fields.Integer(load_default=read_audit.DEFAULT_DAYS,
                             validate=ma.validate.Range(min=1, max=read_audit.MAX_DAYS))


class PrivacyAccessEntrySchema(Schema):
    at = ma.fields.DateTime(attribute="created_at")
    action = ma.fields.String()
    actor_id = ma.fields.UUID(allow_none=True)
    actor_label = ma.fields.String()
    ip = ma.fields.String(allow_none=True)
    user_agent = ma.fields.String(allow_none=True)
    details = ma.fields.Dict(attribute="changes")


class PrivacyRevealSchema(Schema):
    field = ma.fields.String(required=True, metadata={
        "description": "A maskable field key: phones, emails, wechat_id, address, "
                       "external_id or cf.<key> of a text custom field."})


class PrivacyRevealedSchema(Schema):
    field = ma.fields.String()
    value = ma.fields.Raw(allow_none=True, metadata={
        "description": "The clear value (a list for phones and emails)."})


class PrivacyEraseSchema(Schema):
    reason = ma.fields.String(load_default=None, allow_none=True,
                              validate=ma.validate.Length(max=200))


class PrivacyErasureSchema(Schema):
    id = ma.fields.UUID()
    customer_id = ma.fields.UUID()
    actor_label = ma.fields.String()
    reason = ma.fields.String(allow_none=True)
    summary = ma.fields.Dict()
    created_at = ma.fields.DateTime()


class PrivacyRetentionSchema(Schema):
    months = ma.fields.Integer(allow_none=True, validate=ma.validate.Range(
        min=1, max=retention.MAX_MONTHS))
    action = ma.fields.String(validate=ma.validate.OneOf(retention.ACTIONS))
    targets = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(
        retention.TARGETS)))


class PrivacyRetentionPreviewSchema(Schema):
    interactions = ma.fields.Integer()
    tickets = ma.fields.Integer()


# -- routes ----------------------------------------------------------------------------

@blp.route("/field-permissions")
@require("privacy.manage")
@blp.response(200, PrivacyFieldSettingsSchema)
def get_field_permissions():
    return field_access.settings(db.session)


@blp.route("/field-permissions", methods=["PUT"])
@require("privacy.manage")
@blp.arguments(PrivacyFieldChangesSchema)
@blp.response(200, PrivacyFieldSettingsSchema)
def put_field_permissions(data):
    """Hiding a field used by a tier rule or segment answers 409 listing where, unless
    `confirm` is true."""
    field_access.set_permissions(db.session, api_actor(), data["changes"], data["confirm"])
    db.session.commit()
    return field_access.settings(db.session)


@blp.route("/row-scopes")
@require("privacy.manage")
@blp.response(200, PrivacyRowScopesSchema)
def get_row_scopes():
    return {"scopes": row_scope.scopes(db.session)}


@blp.route("/row-scopes", methods=["PUT"])
@require("privacy.manage")
@blp.arguments(PrivacyRowScopeChangeSchema)
@blp.response(200, PrivacyRowScopesSchema)
def put_row_scope(data):
    row_scope.set_scope(db.session, api_actor(), data["role"], data["scope"])
    db.session.commit()
    return {"scopes": row_scope.scopes(db.session)}


@blp.route("/customers/<uuid:customer_id>/consent")
@require("customers.read")
@blp.response(200, PrivacyConsentSchema)
def get_consent(customer_id: uuid.UUID):
    customer = row_scope.get_customer(db.session, api_actor(), customer_id)
    field_access.require_visible(request_access(), "consent")
    return {"current": consent.derived_state(db.session, customer.id),
            "history": consent.history(db.session, customer.id)}


@blp.route("/customers/<uuid:customer_id>/consent", methods=["POST"])
@require("customers.write")
@blp.arguments(PrivacyConsentChangeSchema)
@blp.response(200, PrivacyConsentSchema)
def post_consent(data, customer_id: uuid.UUID):
    customer = row_scope.get_customer(db.session, api_actor(), customer_id)
    field_access.require_visible(request_access(), "consent", write=True)
    consent.change(db.session, api_actor(), customer.id, data["channel"], data["status"],
                   data["source"])
    db.session.commit()
    return {"current": consent.derived_state(db.session, customer.id),
            "history": consent.history(db.session, customer.id)}


@blp.route("/customers/<uuid:customer_id>/access-log")
@require("privacy.manage")
@blp.arguments(PrivacyAccessArgs, location="query")
@blp.response(200, PrivacyAccessEntrySchema(many=True))
def access_log(args, customer_id: uuid.UUID):
    """Who viewed, exported or revealed this customer's data in the last `days` days."""
    customer = row_scope.get_customer(db.session, api_actor(), customer_id)
    return read_audit.who_saw(db.session, customer.id, args["days"])


@blp.route("/customers/<uuid:customer_id>/reveal", methods=["POST"])
@require("customers.read")
@blp.arguments(PrivacyRevealSchema)
@blp.response(200, PrivacyRevealedSchema)
def reveal_field(data, customer_id: uuid.UUID):
    """The clear value of a field the caller's role sees masked; recorded in the read
    audit (who, when, which field, IP and user agent)."""
    actor = api_actor()
    customer = row_scope.get_customer(db.session, actor, customer_id)
    value = field_access.reveal(db.session, actor, customer, data["field"], "API")
    db.session.commit()
    return {"field": data["field"], "value": value}


@blp.route("/customers/<uuid:customer_id>/export")
@require("privacy.manage")
@blp.response(200, description="A zip archive: everything.json plus one CSV per table.")
def export_customer(customer_id: uuid.UUID):
    body = subject_requests.export_customer(db.session, api_actor(), customer_id)
    db.session.commit()
    return Response(body, mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="customer-{customer_id}.zip"'})


@blp.route("/customers/<uuid:customer_id>/erase", methods=["POST"])
@require("privacy.manage")
@blp.arguments(PrivacyEraseSchema)
@blp.response(200, PrivacyErasureSchema)
def erase_customer(data, customer_id: uuid.UUID):
    record = subject_requests.erase_customer(db.session, api_actor(), customer_id,
                                             data.get("reason"))
    db.session.commit()
    return record


@blp.route("/erasures")
@require("privacy.manage")
@blp.response(200, PrivacyErasureSchema(many=True))
def list_erasures():
    return subject_requests.erasures(db.session)


@blp.route("/retention")
@require("privacy.manage")
@blp.response(200, PrivacyRetentionSchema)
def get_retention():
    policy = retention.get_policy(db.session)
    return {"months": policy.months, "action": policy.action,
            "targets": list(policy.targets)}


@blp.route("/retention", methods=["PUT"])
@require("privacy.manage")
@blp.arguments(PrivacyRetentionSchema)
@blp.response(200, PrivacyRetentionSchema)
def put_retention(data):
    policy = retention.set_policy(db.session, api_actor(), data)
    db.session.commit()
    return {"months": policy.months, "action": policy.action,
            "targets": list(policy.targets)}


@blp.route("/retention/preview", methods=["POST"])
@require("privacy.manage")
@blp.arguments(PrivacyRetentionSchema)
@blp.response(200, PrivacyRetentionPreviewSchema)
def preview_retention(data):
    """The dry run: how many rows the given policy would touch now (nothing is changed)."""
    return retention.preview(db.session, retention.clean_policy(data))
