"""Contacts of company customers.

A contact's phone and email follow the customer `phones` / `emails` field permissions
(hidden, masked, read-only), and every route checks the customer's row scope first."""

from __future__ import annotations

import uuid

import marshmallow as ma
from flask_smorest import Blueprint

from saas.api import privacy as privacy_api
from saas.api.common import Schema, api_actor, require
from saas.extensions import db
from saas.services import contacts as contact_service
from saas.services import field_access, row_scope

blp = Blueprint("api_contacts", __name__, url_prefix="/customers",
                description="People at company customers.")


class ContactSchema(Schema):
    id = ma.fields.UUID()
    customer_id = ma.fields.UUID()
    name = ma.fields.String()
    title = ma.fields.String(allow_none=True)
    phone = ma.fields.String(allow_none=True, metadata={"description": "E.164."})
    email = ma.fields.String(allow_none=True)
    primary = ma.fields.Boolean()
    created_at = ma.fields.DateTime()

    @ma.post_dump
    def _hide_fields(self, data, **kwargs):
        return privacy_api.redact_contact(data)


class ContactUpdateSchema(Schema):
    name = ma.fields.String()
    title = ma.fields.String(allow_none=True)
    phone = ma.fields.String(allow_none=True)
    email = ma.fields.String(allow_none=True)
    primary = ma.fields.Boolean()


class ContactCreateSchema(ContactUpdateSchema):
    name = ma.fields.String(required=True)


@blp.route("/<uuid:customer_id>/contacts")
@require("customers.read")
@blp.response(200, ContactSchema(many=True))
def list_contacts(customer_id: uuid.UUID):
    row_scope.ensure_visible(db.session, api_actor(), customer_id)
    return contact_service.list_contacts(db.session, customer_id)


@blp.route("/<uuid:customer_id>/contacts", methods=["POST"])
@require("customers.write")
@blp.arguments(ContactCreateSchema)
@blp.response(201, ContactSchema)
def create_contact(data, customer_id: uuid.UUID):
    actor = api_actor()
    row_scope.ensure_visible(db.session, actor, customer_id)
    field_access.check_contact_writable(db.session, actor, data)
    contact = contact_service.create_contact(db.session, api_actor(), customer_id, data)
    db.session.commit()
    return contact


@blp.route("/<uuid:customer_id>/contacts/<uuid:contact_id>", methods=["PATCH"])
@require("customers.write")
@blp.arguments(ContactUpdateSchema)
@blp.response(200, ContactSchema)
def update_contact(data, customer_id: uuid.UUID, contact_id: uuid.UUID):
    actor = api_actor()
    row_scope.ensure_visible(db.session, actor, customer_id)
    current = contact_service.get_contact(db.session, customer_id, contact_id)
    field_access.check_contact_writable(db.session, actor, data, {
        "phone": current.phone, "email": current.email})
    contact = contact_service.update_contact(db.session, api_actor(), customer_id,
                                             contact_id, data)
    db.session.commit()
    return contact


@blp.route("/<uuid:customer_id>/contacts/<uuid:contact_id>", methods=["DELETE"])
@require("customers.write")
@blp.response(204)
def delete_contact(customer_id: uuid.UUID, contact_id: uuid.UUID):
    row_scope.ensure_visible(db.session, api_actor(), customer_id)
    contact_service.delete_contact(db.session, api_actor(), customer_id, contact_id)
    db.session.commit()
