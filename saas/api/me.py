"""Who the token belongs to: the first call every integration makes."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from saas.api.common import Schema, current_staff, current_tenant, current_token
from saas.permissions import ALL_PERMISSIONS, role_can

blp = Blueprint("api_me", __name__, url_prefix="/me",
                description="The staff member, tenant and token of the request.")


class MeTenantSchema(Schema):
    id = ma.fields.UUID()
    slug = ma.fields.String()
    name = ma.fields.String()


class MeTokenSchema(Schema):
    id = ma.fields.UUID()
    name = ma.fields.String()
    scope = ma.fields.String()


class MeSchema(Schema):
    id = ma.fields.UUID()
    email = ma.fields.String()
    name = ma.fields.String()
    role = ma.fields.String()
    permissions = ma.fields.List(ma.fields.String())
    tenant = ma.fields.Nested(MeTenantSchema)
    token = ma.fields.Nested(MeTokenSchema)


@blp.route("")
@blp.response(200, MeSchema)
def get_me():
    staff = current_staff()
    return {"id": staff.id, "email": staff.email, "name": staff.name, "role": staff.role,
            "permissions": [p for p in ALL_PERMISSIONS if role_can(staff.role, p)],
            "tenant": current_tenant(), "token": current_token()}
