"""Custom field definitions and customer categories (tenant configuration)."""

from __future__ import annotations

import uuid

import marshmallow as ma
from flask_smorest import Blueprint

from saas.api.common import Schema, api_actor, current_tenant, require
from saas.extensions import db
from saas.models.customers import FIELD_TYPES
from saas.services import custom_fields as field_service
from saas.services import customers as customer_service

blp = Blueprint("api_custom_fields", __name__, url_prefix="",
                description="Custom fields and categories of customers.")


class CustomFieldSchema(Schema):
    id = ma.fields.UUID()
    key = ma.fields.String()
    label = ma.fields.String()
    type = ma.fields.String()
    required = ma.fields.Boolean()
    choices = ma.fields.List(ma.fields.String())
    position = ma.fields.Integer()
    sensitive = ma.fields.Boolean(metadata={
        "description": "Values encrypted at rest (exact-match filters only)."})
    sensitive_state = ma.fields.String(metadata={
        "description": "Where the stored values are while they move: plain, "
                       "encrypting, encrypted, decrypting."})


class CustomFieldUpdateSchema(Schema):
    label = ma.fields.String()
    required = ma.fields.Boolean()
    choices = ma.fields.List(ma.fields.String())
    position = ma.fields.Integer()
    sensitive = ma.fields.Boolean(metadata={
        "description": "Mark sensitive: values encrypted at rest, moved by a job; 409 "
                       "when a tier rule or segment uses the field."})


class CustomFieldCreateSchema(CustomFieldUpdateSchema):
    key = ma.fields.String(required=True)
    label = ma.fields.String(required=True)
    type = ma.fields.String(required=True, validate=ma.validate.OneOf(FIELD_TYPES))


class CustomerCategoriesSchema(Schema):
    categories = ma.fields.List(ma.fields.String(), required=True)


@blp.route("/custom-fields")
@require("customers.read")
@blp.response(200, CustomFieldSchema(many=True))
def list_custom_fields():
    return field_service.list_definitions(db.session)


@blp.route("/custom-fields", methods=["POST"])
@require("settings.manage")
@blp.arguments(CustomFieldCreateSchema)
@blp.response(201, CustomFieldSchema)
def create_custom_field(data):
    definition = field_service.create_definition(db.session, api_actor(), **data)
    db.session.commit()
    return definition


@blp.route("/custom-fields/<uuid:field_id>", methods=["PATCH"])
@require("settings.manage")
@blp.arguments(CustomFieldUpdateSchema)
@blp.response(200, CustomFieldSchema)
def update_custom_field(data, field_id: uuid.UUID):
    definition = field_service.update_definition(db.session, api_actor(), field_id, **data)
    db.session.commit()
    return definition


@blp.route("/custom-fields/<uuid:field_id>", methods=["DELETE"])
@require("settings.manage")
@blp.response(204)
def delete_custom_field(field_id: uuid.UUID):
    """Also removes the field's values from every customer."""
    field_service.delete_definition(db.session, api_actor(), field_id)
    db.session.commit()


@blp.route("/customer-categories")
@require("customers.read")
@blp.response(200, CustomerCategoriesSchema)
def get_categories():
    return {"categories": customer_service.categories(current_tenant())}


@blp.route("/customer-categories", methods=["PUT"])
@require("settings.manage")
@blp.arguments(CustomerCategoriesSchema)
@blp.response(200, CustomerCategoriesSchema)
def set_categories(data):
    names = customer_service.set_categories(db.session, api_actor(), data["categories"])
    db.session.commit()
    return {"categories": names}
