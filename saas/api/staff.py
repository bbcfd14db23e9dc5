"""Staff members: who works in this tenant, their roles, and switching them off."""

from __future__ import annotations

import uuid

import marshmallow as ma
from flask_smorest import Blueprint

from saas.api.common import Schema, api_actor, require
from saas.api.pagination import page_args, page_schema, paginate
from saas.extensions import db
from saas.models import ROLES, Staff
from saas.services import staff as staff_service

blp = Blueprint("api_staff", __name__, url_prefix="/staff",
                description="Staff members of the tenant.")


class StaffSchema(Schema):
    id = ma.fields.UUID()
    email = ma.fields.String()
    name = ma.fields.String()
    role = ma.fields.String()
    department = ma.fields.String(allow_none=True)
    active = ma.fields.Boolean()
    last_login_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()


class StaffUpdateSchema(Schema):
    role = ma.fields.String(validate=ma.validate.OneOf(ROLES))
    active = ma.fields.Boolean(truthy={True}, falsy={False})


StaffListArgs = page_args("StaffListArgs", sorts=("name", "email", "created_at"),
                          default="name", role=ma.fields.String(validate=ma.validate.OneOf(ROLES)),
                          active=ma.fields.Boolean())
SORTS = {"name": Staff.name, "email": Staff.email, "created_at": Staff.created_at}


@blp.route("")
@require("staff.read")
@blp.arguments(StaffListArgs, location="query")
@blp.response(200, page_schema(StaffSchema))
def list_staff(args):
    stmt = staff_service.list_staff(db.session, role=args.get("role"),
                                    active=args.get("active"))
    return paginate(db.session, stmt, args, SORTS, tiebreak=Staff.id)


@blp.route("/<uuid:staff_id>")
@require("staff.read")
@blp.response(200, StaffSchema)
def get_staff(staff_id: uuid.UUID):
    return staff_service.get_staff(db.session, staff_id)


@blp.route("/<uuid:staff_id>", methods=["PATCH"])
@require("staff.manage")
@blp.arguments(StaffUpdateSchema)
@blp.response(200, StaffSchema)
def update_staff(data, staff_id: uuid.UUID):
    """Role and active change together or not at all (one transaction)."""
    actor = api_actor()
    member = staff_service.get_staff(db.session, staff_id)
    if "role" in data:
        staff_service.change_role(db.session, actor, member, data["role"])
    if "active" in data:
        staff_service.set_active(db.session, actor, member, data["active"])
    db.session.commit()
    return member
