"""Saved customer-list views of the calling staff member.

A view is applied by sending its `applicable_filters` (and `sort`) to `GET /customers`.
When a field it filters on has become hidden for the caller's role, `left_out` names that
filter and `applicable_filters` leaves it out (issue 11): sending the saved `filters`
unchanged would be a 422, sending `applicable_filters` shows more customers than the view
did, and the caller is told which filter was dropped."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import marshmallow as ma
from flask_smorest import Blueprint

from saas.api import privacy as privacy_api
from saas.api.common import Schema, api_actor, require
from saas.extensions import db
from saas.services import saved_views as view_service

blp = Blueprint("api_saved_views", __name__, url_prefix="/saved-views",
                description="Named customer-list filters, private to each staff member.")


class SavedViewLeftOutSchema(Schema):
    key = ma.fields.String(metadata={"description": "The filter key in `filters`."})
    field = ma.fields.String(metadata={"description": "The hidden field (registry key)."})
    label = ma.fields.String()
    message = ma.fields.String()


class SavedViewSchema(Schema):
    id = ma.fields.UUID()
    name = ma.fields.String()
    filters = ma.fields.Dict(keys=ma.fields.String(), metadata={
        "description": "The filters as saved."})
    applicable_filters = ma.fields.Dict(keys=ma.fields.String(), metadata={
        "description": "`filters` without the ones in `left_out`: what to send to "
                       "GET /customers."})
    left_out = ma.fields.List(ma.fields.Nested(SavedViewLeftOutSchema), metadata={
        "description": "Filters on fields now hidden for the caller's role: the view "
                       "opens without them."})
    sort = ma.fields.String()
    created_at = ma.fields.DateTime()

    @ma.pre_dump
    def _split_filters(self, view, **kwargs):
        """The view with what the caller's role may apply of it (issue 11)."""
        kept, dropped = view_service.applicable(db.session, api_actor(), view,
                                                privacy_api.request_access())
        return SimpleNamespace(
            id=view.id, name=view.name, filters=view.filters, sort=view.sort,
            created_at=view.created_at, applicable_filters=kept,
            left_out=[{"key": d.key, "field": d.field, "label": d.label,
                       "message": f"The filter on {d.label} was left out: the field "
                                  "is hidden for your role."} for d in dropped])


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
