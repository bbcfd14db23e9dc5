"""The product catalogue."""

from __future__ import annotations

import uuid

import marshmallow as ma
from flask_smorest import Blueprint

from saas.api.common import Schema, api_actor, require
from saas.api.pagination import page_args, page_schema, paginate
from saas.extensions import db
from saas.models.products import Product
from saas.services import products as product_service

blp = Blueprint("api_products", __name__, url_prefix="/products",
                description="Products that orders are made of.")


class ProductSchema(Schema):
    id = ma.fields.UUID()
    sku = ma.fields.String()
    name = ma.fields.String()
    category = ma.fields.String(allow_none=True)
    price = ma.fields.Decimal(as_string=True)
    currency = ma.fields.String()
    active = ma.fields.Boolean()
    created_at = ma.fields.DateTime()


class ProductUpdateSchema(Schema):
    sku = ma.fields.String()
    name = ma.fields.String()
    category = ma.fields.String(allow_none=True)
    price = ma.fields.Decimal()
    currency = ma.fields.String()
    active = ma.fields.Boolean()


class ProductCreateSchema(ProductUpdateSchema):
    sku = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    price = ma.fields.Decimal(required=True)


ProductListArgs = page_args("ProductListArgs", sorts=("sku", "name", "created_at"),
                            default="sku", q=ma.fields.String(),
                            include_inactive=ma.fields.Boolean(load_default=False))
SORTS = {"sku": Product.sku, "name": Product.name, "created_at": Product.created_at}


@blp.route("")
@require("customers.read")
@blp.arguments(ProductListArgs, location="query")
@blp.response(200, page_schema(ProductSchema))
def list_products(args):
    stmt = product_service.list_products(db.session, args.get("q"), args["include_inactive"])
    return paginate(db.session, stmt, args, SORTS, tiebreak=Product.id)


@blp.route("", methods=["POST"])
@require("customers.write")
@blp.arguments(ProductCreateSchema)
@blp.response(201, ProductSchema)
def create_product(data):
    product = product_service.create_product(db.session, api_actor(), data)
    db.session.commit()
    return product


@blp.route("/<uuid:product_id>")
@require("customers.read")
@blp.response(200, ProductSchema)
def get_product(product_id: uuid.UUID):
    return product_service.get_product(db.session, product_id)


@blp.route("/<uuid:product_id>", methods=["PATCH"])
@require("customers.write")
@blp.arguments(ProductUpdateSchema)
@blp.response(200, ProductSchema)
def update_product(data, product_id: uuid.UUID):
    product = product_service.update_product(db.session, api_actor(), product_id, data)
    db.session.commit()
    return product
