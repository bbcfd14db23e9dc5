"""Interactions: calls, visits, messages and meetings with a customer."""

from __future__ import annotations

import uuid

import marshmallow as ma
from flask_smorest import Blueprint

from saas.api.common import Schema, api_actor, require
from saas.api.pagination import keyset_page, page_schema
from saas.extensions import db
from saas.models.interactions import CHANNELS, DIRECTIONS, KINDS, Interaction
from saas.services import interactions as interaction_service
from saas.services import row_scope

blp = Blueprint("api_interactions", __name__, url_prefix="",
                description="The interaction log of each customer.")


class InteractionSchema(Schema):
    id = ma.fields.UUID()
    customer_id = ma.fields.UUID()
    contact_id = ma.fields.UUID(allow_none=True)
    channel = ma.fields.String()
    direction = ma.fields.String()
    kind = ma.fields.String(allow_none=True)
    summary = ma.fields.String()
    staff_id = ma.fields.UUID(allow_none=True)
    occurred_at = ma.fields.DateTime()
    follow_up_on = ma.fields.Date(allow_none=True)
    created_at = ma.fields.DateTime()


class InteractionCreateSchema(Schema):
    channel = ma.fields.String(required=True, validate=ma.validate.OneOf(CHANNELS))
    direction = ma.fields.String(validate=ma.validate.OneOf(DIRECTIONS))
    kind = ma.fields.String(allow_none=True, validate=ma.validate.OneOf(KINDS))
    summary = ma.fields.String(required=True)
    occurred_at = ma.fields.AwareDateTime()
    follow_up_on = ma.fields.Date(allow_none=True)
    contact_id = ma.fields.UUID(allow_none=True)


class InteractionListArgs(Schema):
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))
    cursor = ma.fields.String(load_default=None)


@blp.route("/customers/<uuid:customer_id>/interactions")
@require("customers.read")
@blp.arguments(InteractionListArgs, location="query")
@blp.response(200, page_schema(InteractionSchema))
def list_interactions(args, customer_id: uuid.UUID):
    row_scope.ensure_visible(db.session, api_actor(), customer_id)
    stmt = interaction_service.list_interactions(db.session, customer_id)
    return keyset_page(db.session, stmt,
                       [Interaction.occurred_at.desc(), Interaction.id.desc()],
                       args["limit"], args["cursor"])


@blp.route("/customers/<uuid:customer_id>/interactions", methods=["POST"])
@require("customers.write")
@blp.arguments(InteractionCreateSchema)
@blp.response(201, InteractionSchema)
def log_interaction(data, customer_id: uuid.UUID):
    row_scope.ensure_visible(db.session, api_actor(), customer_id)
    interaction = interaction_service.log_interaction(db.session, api_actor(), customer_id,
                                                      data)
    db.session.commit()
    return interaction


@blp.route("/interactions/<uuid:interaction_id>")
@require("customers.read")
@blp.response(200, InteractionSchema)
def get_interaction(interaction_id: uuid.UUID):
    found = interaction_service.get_interaction(db.session, interaction_id)
    row_scope.ensure_visible(db.session, api_actor(), found.customer_id)
    return found
