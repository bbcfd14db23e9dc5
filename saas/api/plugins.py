"""Plugins: installed integrations, per-tenant enablement and settings, deliveries."""

from __future__ import annotations

import uuid

import marshmallow as ma
from flask import request
from flask_smorest import Blueprint

from saas.api.common import Schema, api_actor, require
from saas.api.pagination import PageArgs, keyset_page, page_schema
from saas.extensions import db
from saas.models.plugins import DELIVERY_STATUSES, Delivery
from saas.services import plugin_deliveries as delivery_service
from saas.services import plugins as plugin_service
from saas.services.errors import InvalidInput

blp = Blueprint("api_plugins", __name__, url_prefix="/plugins",
                description="Integration plugins: enable, configure, watch deliveries.")

PERMISSION = "plugins.manage"


class PluginStatusSchema(Schema):
    name = ma.fields.String()
    status = ma.fields.String(metadata={"description": "enabled, disabled, missing, broken"})
    version = ma.fields.String(allow_none=True)
    description = ma.fields.String()
    hooks = ma.fields.List(ma.fields.String())
    channels = ma.fields.List(ma.fields.String())
    has_settings = ma.fields.Boolean()
    error = ma.fields.String(allow_none=True)


class PluginFieldSchema(Schema):
    name = ma.fields.String()
    type = ma.fields.String()
    required = ma.fields.Boolean()
    secret = ma.fields.Boolean()
    default = ma.fields.Raw(allow_none=True)
    label = ma.fields.String()
    help = ma.fields.String(allow_none=True)
    multiline = ma.fields.Boolean()
    choices = ma.fields.List(ma.fields.String(), allow_none=True)


class PluginDetailSchema(PluginStatusSchema):
    settings = ma.fields.Dict(metadata={"description": "Saved values; secrets masked."})
    fields = ma.fields.List(ma.fields.Nested(PluginFieldSchema))


class PluginSettingsBody(ma.Schema):
    """Any object: the plugin's own schema validates it (422 naming each bad field)."""

    class Meta:
        unknown = ma.INCLUDE


class DeliverySchema(Schema):
    id = ma.fields.UUID()
    plugin = ma.fields.String()
    kind = ma.fields.String()
    key = ma.fields.String(metadata={"description": "Idempotency key given to the plugin."})
    event_id = ma.fields.UUID(allow_none=True)
    event_name = ma.fields.String()
    channel = ma.fields.String(allow_none=True)
    status = ma.fields.String()
    attempts = ma.fields.Integer()
    last_error = ma.fields.String(allow_none=True)
    next_retry_at = ma.fields.DateTime(allow_none=True)
    completed_at = ma.fields.DateTime(allow_none=True)
    result = ma.fields.Raw(allow_none=True)
    created_at = ma.fields.DateTime()


class DeliveryListArgs(PageArgs):
    status = ma.fields.String(validate=ma.validate.OneOf(DELIVERY_STATUSES))
    plugin = ma.fields.String()
    event_name = ma.fields.String()


def _detail(name: str) -> dict:
    status = plugin_service.plugin_status(db.session, name)
    data = dict(status.__dict__)
    installed = status.status in (plugin_service.STATUS_ENABLED,
                                  plugin_service.STATUS_DISABLED)
    data["settings"] = plugin_service.settings_for_display(db.session, name) \
        if installed else {}
    data["fields"] = plugin_service.describe_settings(name) if installed else []
    return data


@blp.route("")
@require(PERMISSION)
@blp.response(200, PluginStatusSchema(many=True))
def list_plugins():
    return [s.__dict__ for s in plugin_service.list_plugins(db.session)]


@blp.route("/deliveries")
@require(PERMISSION)
@blp.arguments(DeliveryListArgs, location="query")
@blp.response(200, page_schema(DeliverySchema))
def list_deliveries(args):
    stmt = delivery_service.query(delivery_service.DeliveryFilter(
        status=args.get("status"), plugin=args.get("plugin"),
        event_name=args.get("event_name")))
    return keyset_page(db.session, stmt, [Delivery.created_at.desc(), Delivery.id.desc()],
                       args["limit"], args.get("cursor"))


@blp.route("/deliveries/<uuid:delivery_id>")
@require(PERMISSION)
@blp.response(200, DeliverySchema)
def get_delivery(delivery_id: uuid.UUID):
    return delivery_service.get_delivery(db.session, delivery_id)


@blp.route("/deliveries/<uuid:delivery_id>/retry", methods=["POST"])
@require(PERMISSION)
@blp.response(200, DeliverySchema)
def retry_delivery(delivery_id: uuid.UUID):
    delivery = delivery_service.retry(db.session, api_actor(), delivery_id)
    db.session.commit()
    return delivery_service.get_delivery(db.session, delivery.id)


@blp.route("/<string:name>")
@require(PERMISSION)
@blp.response(200, PluginDetailSchema)
def get_plugin(name: str):
    return _detail(name)


@blp.route("/<string:name>/settings", methods=["PUT"])
@require(PERMISSION)
@blp.arguments(PluginSettingsBody)
@blp.response(200, PluginDetailSchema)
def put_settings(data, name: str):
    if not isinstance(request.get_json(silent=True), dict):
        raise InvalidInput("Send the settings as a JSON object.")
    plugin_service.update_settings(db.session, api_actor(), name, data)
    db.session.commit()
    return _detail(name)


@blp.route("/<string:name>/enable", methods=["POST"])
@require(PERMISSION)
@blp.response(200, PluginDetailSchema)
def enable(name: str):
    return _set_enabled(name, True)


@blp.route("/<string:name>/disable", methods=["POST"])
@require(PERMISSION)
@blp.response(200, PluginDetailSchema)
def disable(name: str):
    return _set_enabled(name, False)


def _set_enabled(name: str, enabled: bool):
    plugin_service.set_enabled(db.session, api_actor(), name, enabled)
    db.session.commit()
    return _detail(name)
