"""Invitations: how new staff join a tenant (the link is shown once, on creation)."""

from __future__ import annotations

import uuid

import marshmallow as ma
from flask import current_app
from flask_smorest import Blueprint

from saas.api.common import Schema, api_actor, current_tenant, require
from saas.api.pagination import page_args, page_schema, paginate
from saas.extensions import db
from saas.models import ROLES, Invitation
from saas.models.base import utcnow
from saas.services import staff as staff_service

blp = Blueprint("api_invitations", __name__, url_prefix="/invitations",
                description="Invitations of new staff members.")


def _status(inv: Invitation) -> str:
    if inv.revoked_at is not None:
        return "revoked"
    if inv.accepted_at is not None:
        return "accepted"
    return "expired" if inv.expires_at < utcnow() else "pending"


class InvitationSchema(Schema):
    id = ma.fields.UUID()
    email = ma.fields.String()
    role = ma.fields.String()
    status = ma.fields.Function(_status)
    expires_at = ma.fields.DateTime()
    invited_by_id = ma.fields.UUID(allow_none=True)
    accepted_at = ma.fields.DateTime(allow_none=True)
    accepted_staff_id = ma.fields.UUID(allow_none=True)
    revoked_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()


class InvitationCreatedSchema(InvitationSchema):
    link = ma.fields.String()


class InvitationCreateSchema(Schema):
    email = ma.fields.String(required=True, validate=ma.validate.Length(max=254))
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(ROLES))


InvitationListArgs = page_args("InvitationListArgs", sorts=("created_at", "email"),
                               default="-created_at")
SORTS = {"created_at": Invitation.created_at, "email": Invitation.email}


@blp.route("")
@require("staff.manage")
@blp.arguments(InvitationListArgs, location="query")
@blp.response(200, page_schema(InvitationSchema))
def list_invitations(args):
    return paginate(db.session, staff_service.list_invitations(db.session), args, SORTS,
                    tiebreak=Invitation.id)


@blp.route("", methods=["POST"])
@require("staff.manage")
@blp.arguments(InvitationCreateSchema)
@blp.response(201, InvitationCreatedSchema)
def create_invitation(data):
    cfg = current_app.config
    invitation, link = staff_service.invite(
        db.session, api_actor(), data["email"], data["role"],
        ttl_hours=cfg["INVITATION_TTL_HOURS"], base_url=cfg["BASE_URL"],
        tenant_slug=current_tenant().slug)
    db.session.commit()
    invitation.link = link  # shown once; never stored
    return invitation


@blp.route("/<uuid:invitation_id>", methods=["DELETE"])
@require("staff.manage")
@blp.response(204)
def revoke_invitation(invitation_id: uuid.UUID):
    staff_service.revoke_invitation(db.session, api_actor(), invitation_id)
    db.session.commit()
