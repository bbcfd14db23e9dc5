"""The tenant's own account settings (name, locale, time zone, currency)."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from saas.api.common import Schema, api_actor, current_tenant, require
from saas.extensions import db
from saas.services import tenants as tenant_service

blp = Blueprint("api_tenant", __name__, url_prefix="/tenant",
                description="The tenant (company account) of the token and its settings.")


class TenantSchema(Schema):
    id = ma.fields.UUID(dump_only=True)
    slug = ma.fields.String(dump_only=True)
    name = ma.fields.String()
    locale = ma.fields.String()
    timezone = ma.fields.String()
    currency = ma.fields.String()
    template = ma.fields.String(dump_only=True)
    status = ma.fields.String(dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)


class TenantUpdateSchema(Schema):
    name = ma.fields.String(validate=ma.validate.Length(max=200))
    locale = ma.fields.String()
    timezone = ma.fields.String()
    currency = ma.fields.String()


@blp.route("")
@blp.response(200, TenantSchema)
def get_tenant():
    return current_tenant()


@blp.route("", methods=["PATCH"])
@require("settings.manage")
@blp.arguments(TenantUpdateSchema)
@blp.response(200, TenantSchema)
def update_tenant(data):
    tenant = tenant_service.update_settings(db.session, current_tenant(), api_actor(), **data)
    db.session.commit()
    return tenant
