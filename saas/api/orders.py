"""Orders: placing them for a customer, listing, status changes and refunds."""

from __future__ import annotations

import uuid

import marshmallow as ma
from flask_smorest import Blueprint

from saas.api import privacy as privacy_api
from saas.api.common import Schema, api_actor, require
from saas.api.pagination import keyset_page, page_schema
from saas.extensions import db
from saas.models.orders import ORDER_STATUSES, Order
from saas.services import orders as order_service
from saas.services import row_scope

blp = Blueprint("api_orders", __name__, url_prefix="",
                description="Orders with lines; amounts are decimal strings.")


class OrderLineSchema(Schema):
    id = ma.fields.UUID()
    product_id = ma.fields.UUID()
    quantity = ma.fields.Integer()
    unit_price = ma.fields.Decimal(as_string=True)
    amount = ma.fields.Decimal(as_string=True)


class OrderSchema(Schema):
    id = ma.fields.UUID()
    number = ma.fields.String()
    customer_id = ma.fields.UUID()
    placed_at = ma.fields.DateTime()
    channel = ma.fields.String(allow_none=True)
    status = ma.fields.String()
    currency = ma.fields.String()
    total = ma.fields.Decimal(as_string=True)
    refunded_at = ma.fields.DateTime(allow_none=True)
    external_id = ma.fields.String(allow_none=True)
    lines = ma.fields.Method("_lines")

    def _lines(self, order: Order) -> list[dict]:
        return OrderLineSchema(many=True).dump(order_service.order_lines(db.session, order.id))

    @ma.post_dump
    def _hide_amounts(self, data, **kwargs):
        """Amounts are left out for roles that may not see them (privacy, issue 11)."""
        return privacy_api.redact_order(data)


class OrderLineInputSchema(Schema):
    product_id = ma.fields.UUID()
    sku = ma.fields.String()
    quantity = ma.fields.Integer(load_default=1)
    unit_price = ma.fields.Decimal(allow_none=True, metadata={
        "description": "Defaults to the product's price (same currency only)."})


class OrderCreateSchema(Schema):
    lines = ma.fields.List(ma.fields.Nested(OrderLineInputSchema), required=True)
    placed_at = ma.fields.AwareDateTime()
    channel = ma.fields.String(allow_none=True)
    currency = ma.fields.String(metadata={"description": "Default: the tenant's currency."})
    number = ma.fields.String(metadata={"description": "Default: generated."})
    status = ma.fields.String(metadata={"description": "placed (default), paid, shipped "
                                                       "or completed."})
    external_id = ma.fields.String(allow_none=True)


class OrderRefundSchema(Schema):
    reason = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=500))


class OrderStatusSchema(Schema):
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(ORDER_STATUSES))


class OrderListArgs(Schema):
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))
    cursor = ma.fields.String(load_default=None)


@blp.route("/customers/<uuid:customer_id>/orders")
@require("customers.read")
@blp.arguments(OrderListArgs, location="query")
@blp.response(200, page_schema(OrderSchema))
def list_orders(args, customer_id: uuid.UUID):
    row_scope.ensure_visible(db.session, api_actor(), customer_id)
    stmt = order_service.list_orders(db.session, customer_id)
    return keyset_page(db.session, stmt, [Order.placed_at.desc(), Order.id.desc()],
                       args["limit"], args["cursor"])


@blp.route("/customers/<uuid:customer_id>/orders", methods=["POST"])
@require("customers.write")
@blp.arguments(OrderCreateSchema)
@blp.response(201, OrderSchema)
def place_order(data, customer_id: uuid.UUID):
    row_scope.ensure_visible(db.session, api_actor(), customer_id)
    order = order_service.place_order(db.session, api_actor(), customer_id, data)
    db.session.commit()
    return order


@blp.route("/orders/<uuid:order_id>")
@require("customers.read")
@blp.response(200, OrderSchema)
def get_order(order_id: uuid.UUID):
    return _visible_order(order_id)


def _visible_order(order_id: uuid.UUID) -> Order:
    """The order, or 404 when its customer is outside the caller's row scope."""
    order = order_service.get_order(db.session, order_id)
    row_scope.ensure_visible(db.session, api_actor(), order.customer_id)
    return order


@blp.route("/orders/<uuid:order_id>/refund", methods=["POST"])
@require("customers.write")
@blp.arguments(OrderRefundSchema)
@blp.response(200, OrderSchema)
def refund_order(data, order_id: uuid.UUID):
    _visible_order(order_id)
    order = order_service.refund_order(db.session, api_actor(), order_id, data.get("reason"))
    db.session.commit()
    return order


@blp.route("/orders/<uuid:order_id>/status", methods=["POST"])
@require("customers.write")
@blp.arguments(OrderStatusSchema)
@blp.response(200, OrderSchema)
def set_order_status(data, order_id: uuid.UUID):
    _visible_order(order_id)
    order = order_service.set_status(db.session, api_actor(), order_id, data["status"])
    db.session.commit()
    return order
