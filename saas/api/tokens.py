"""API tokens: a staff member's own tokens; owners and admins see and revoke all."""

from __future__ import annotations

import uuid

import marshmallow as ma
from flask_smorest import Blueprint

from saas.api.common import Schema, api_actor, current_staff, has_permission, require
from saas.api.pagination import page_args, page_schema, paginate
from saas.extensions import db
from saas.models import ApiToken
from saas.services import tokens as token_service

blp = Blueprint("api_tokens", __name__, url_prefix="/tokens",
                description="API tokens (the secret is shown only once, on creation).")

# Who may see and revoke everybody's tokens, not only their own.
ALL_TOKENS_PERMISSION = "staff.manage"


class TokenSchema(Schema):
    id = ma.fields.UUID()
    name = ma.fields.String()
    scope = ma.fields.String()
    prefix = ma.fields.String()
    staff_id = ma.fields.UUID()
    last_used_at = ma.fields.DateTime(allow_none=True)
    revoked_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()


class TokenCreatedSchema(TokenSchema):
    token = ma.fields.String()


class TokenCreateSchema(Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    scope = ma.fields.String(required=True, validate=ma.validate.OneOf(token_service.SCOPES))


TokenListArgs = page_args("TokenListArgs", sorts=("created_at", "name"), default="-created_at")
SORTS = {"created_at": ApiToken.created_at, "name": ApiToken.name}


def _sees_all() -> bool:
    return has_permission(ALL_TOKENS_PERMISSION)


@blp.route("")
@require("tokens.manage")
@blp.arguments(TokenListArgs, location="query")
@blp.response(200, page_schema(TokenSchema))
def list_tokens(args):
    owner = None if _sees_all() else current_staff().id
    return paginate(db.session, token_service.list_tokens(db.session, owner), args, SORTS,
                    tiebreak=ApiToken.id)


@blp.route("", methods=["POST"])
@require("tokens.manage")
@blp.arguments(TokenCreateSchema)
@blp.response(201, TokenCreatedSchema)
def create_token(data):
    token, raw = token_service.create_token(db.session, api_actor(), data["name"],
                                            data["scope"])
    db.session.commit()
    token.token = raw  # shown once; only its hash is stored
    return token


@blp.route("/<uuid:token_id>", methods=["DELETE"])
@require("tokens.manage")
@blp.response(204)
def revoke_token(token_id: uuid.UUID):
    token_service.revoke(db.session, api_actor(), token_id, own_only=not _sees_all())
    db.session.commit()
