"""Saved customer-list views of the calling staff member."""

from __future__ import annotations

import uuid

import marshmallow as ma
from flask_smorest import Blueprint

from saas.api.common import Schema, api_actor, require
from saas.extensions import db
from saas.services import saved_views as view_service

blp = Blueprint("api_saved_views", __name__, url_prefix="/saved-views",
                description="Named customer-list filters, private to each staff member.")


class SavedViewSchema(Schema):
    id = ma.fields.UUID()
    name = ma.fields.String()
    filters = ma.fields.Dict(keys=ma.fields.String())
    sort = ma.fields.String()
    created_at = ma.fields.DateTime()


class SavedViewUpdateSchema(Schema):
    name = ma.fields.String()
    filters = ma.fields.Dict(keys=ma.fields.String(), metadata={
        "description": "The same keys as GET /customers accepts."})
    sort = ma.fields.String()


class SavedViewCreateSchema(SavedViewUpdateSchema):
    name = ma.fields.String(required=True)
    filters = ma.fields.Dict(keys=ma.fields.String(), load_default=dict)


@blp.route("")
@require("customers.read")
@blp.response(200, SavedViewSchema(many=True))
def list_views():
    return view_service.list_views(db.session, api_actor())


@blp.route("", methods=["POST"])
@require("customers.read")
@blp.arguments(SavedViewCreateSchema)
@blp.response(201, SavedViewSchema)
def create_view(data):
    view = view_service.create_view(db.session, api_actor(), data["name"], data["filters"],
                                    data.get("sort"))
    db.session.commit()
    return view


@blp.route("/<uuid:view_id>")
@require("customers.read")
@blp.response(200, SavedViewSchema)
def get_view(view_id: uuid.UUID):
    return view_service.get_view(db.session, api_actor(), view_id)


@blp.route("/<uuid:view_id>", methods=["PATCH"])
@require("customers.read")
@blp.arguments(SavedViewUpdateSchema)
@blp.response(200, SavedViewSchema)
def update_view(data, view_id: uuid.UUID):
    view = view_service.update_view(db.session, api_actor(), view_id, **data)
    db.session.commit()
    return view


@blp.route("/<uuid:view_id>", methods=["DELETE"])
@require("customers.read")
@blp.response(204)
def delete_view(view_id: uuid.UUID):
    view_service.delete_view(db.session, api_actor(), view_id)
    db.session.commit()
