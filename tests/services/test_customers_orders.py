"""Products, orders (Decimal amounts, refunds), key figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.models import OutboxEvent
from saas.services import customers, orders, products
from saas.services.errors import Conflict, InvalidInput, NotFound


@pytest.fixture
def world(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        customer = customers.create_customer(db.session, actor, {"name": "Buyer"})
        tea = products.create_product(db.session, actor, {"sku": "TEA-1", "name": "Tea",
                                                          "price": "19.90"})
        cup = products.create_product(db.session, actor, {"sku": "CUP-1", "name": "Cup",
                                                          "price": "5", "currency": "USD"})
        db.session.commit()
        yield actor, customer, tea, cup
        db.session.rollback()
        db.session.remove()


def test_product_defaults_to_tenant_currency_and_sku_is_unique(world):
    actor, _c, tea, cup = world
    assert tea.currency == "CNY" and tea.price == Decimal("19.90")
    assert cup.currency == "USD"
    with pytest.raises(Conflict):
        products.create_product(db.session, actor, {"sku": "TEA-1", "name": "X", "price": 1})


@pytest.mark.parametrize("data,field", [
    ({"name": "X", "price": 1}, "sku"),
    ({"sku": "X", "name": "X", "price": "-1"}, "price"),
    ({"sku": "X", "name": "X", "price": "abc"}, "price"),
    ({"sku": "X", "name": "X", "price": "NaN"}, "price"),
    ({"sku": "X", "name": "X", "price": 1, "currency": "XYZ"}, "currency"),
])
def test_bad_product_input_names_the_field(world, data, field):
    actor, *_ = world
    with pytest.raises(InvalidInput) as err:
        products.create_product(db.session, actor, data)
    assert field in err.value.errors


def test_place_order_computes_amounts_with_decimal(world):
    actor, customer, tea, _cup = world
    order = orders.place_order(db.session, actor, customer.id, {"lines": [
        {"product_id": str(tea.id), "quantity": 3},
        {"sku": "TEA-1", "quantity": 1, "unit_price": "0.10"}]})
    db.session.commit()
    lines = orders.order_lines(db.session, order.id)
    assert [line.amount for line in lines] == [Decimal("59.70"), Decimal("0.10")]
    assert order.total == Decimal("59.80") and order.currency == "CNY"
    [event] = db.session.scalars(select(OutboxEvent).where(OutboxEvent.name == "order.placed"))
    assert event.payload["total"] == "59.80"


@pytest.mark.parametrize("data,field", [
    ({"lines": []}, "lines"),
    ({"lines": [{"sku": "NOPE"}]}, "lines.0.sku"),
    ({"lines": [{"product_id": "not-an-id"}]}, "lines.0.product_id"),
    ({"lines": [{"sku": "TEA-1", "quantity": 0}]}, "lines.0.quantity"),
    ({"lines": [{"sku": "TEA-1", "quantity": "two"}]}, "lines.0.quantity"),
    ({"lines": [{"sku": "TEA-1", "unit_price": "-3"}]}, "lines.0.unit_price"),
    ({"lines": [{"sku": "CUP-1"}]}, "lines.0.unit_price"),
    ({"lines": [{"sku": "TEA-1"}], "currency": "ABC"}, "currency"),
    ({"lines": [{"sku": "TEA-1"}], "status": "refunded"}, "status"),
    ({"lines": [{"sku": "TEA-1"}], "placed_at": "2024-01-01T00:00:00"}, "placed_at"),
    ({"lines": [{"sku": "TEA-1"}], "placed_at": "2999-01-01T00:00:00+00:00"}, "placed_at"),
    ({"lines": [{"sku": "TEA-1"}], "bogus": 1}, "bogus"),
])
def test_bad_order_input_names_the_field_and_writes_nothing(world, data, field):
    actor, customer, *_ = world
    with pytest.raises(InvalidInput) as err:
        orders.place_order(db.session, actor, customer.id, data)
    assert field in err.value.errors
    db.session.rollback()
    assert list(db.session.scalars(orders.list_orders(db.session, customer.id))) == []


def test_duplicate_order_number_conflicts(world):
    actor, customer, *_ = world
    orders.place_order(db.session, actor, customer.id,
                       {"lines": [{"sku": "TEA-1"}], "number": "N-1"})
    with pytest.raises(Conflict):
        orders.place_order(db.session, actor, customer.id,
                           {"lines": [{"sku": "TEA-1"}], "number": "N-1"})


def test_refund_marks_order_and_emits_event_once(world):
    actor, customer, *_ = world
    order = orders.place_order(db.session, actor, customer.id, {"lines": [{"sku": "TEA-1"}]})
    orders.refund_order(db.session, actor, order.id, reason="broken")
    assert order.status == "refunded" and order.refunded_at is not None
    with pytest.raises(Conflict):
        orders.refund_order(db.session, actor, order.id)
    names = [e.name for e in db.session.scalars(select(OutboxEvent))]
    assert names.count("order.refunded") == 1


def test_status_moves_only_forward(world):
    actor, customer, *_ = world
    order = orders.place_order(db.session, actor, customer.id, {"lines": [{"sku": "TEA-1"}]})
    orders.set_status(db.session, actor, order.id, "paid")
    with pytest.raises(Conflict):
        orders.set_status(db.session, actor, order.id, "placed")
    orders.set_status(db.session, actor, order.id, "completed")
    assert order.status == "completed"


def test_key_figures_count_only_real_spend(world):
    actor, customer, tea, _cup = world
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for days in (0, 10, 30):
        orders.place_order(db.session, actor, customer.id, {
            "lines": [{"sku": "TEA-1", "quantity": 2}],
            "placed_at": (start + timedelta(days=days)).isoformat()})
    refunded = orders.place_order(db.session, actor, customer.id, {
        "lines": [{"sku": "TEA-1"}], "placed_at": (start + timedelta(days=90)).isoformat()})
    orders.refund_order(db.session, actor, refunded.id)
    orders.place_order(db.session, actor, customer.id, {
        "lines": [{"sku": "CUP-1", "unit_price": "5"}], "currency": "USD",
        "placed_at": (start + timedelta(days=40)).isoformat()})
    db.session.commit()
    kf = orders.key_figures(db.session, customer.id)
    assert kf.order_count == 4
    assert kf.spend == {"CNY": Decimal("119.40"), "USD": Decimal("5.00")}
    assert kf.first_order_at == start
    assert kf.last_order_at == start + timedelta(days=40)
    assert kf.average_interval_days == pytest.approx(40 / 3, abs=0.1)


def test_key_figures_of_a_customer_without_orders(world):
    _actor, customer, *_ = world
    kf = orders.key_figures(db.session, customer.id)
    assert (kf.order_count, kf.spend, kf.first_order_at, kf.average_interval_days) == (
        0, {}, None, None)


def test_other_tenants_order_and_product_are_not_found(app, make_tenant, world):
    actor, customer, tea, _cup = world
    order = orders.place_order(db.session, actor, customer.id, {"lines": [{"sku": "TEA-1"}]})
    db.session.commit()
    order_id, product_id, customer_id = order.id, tea.id, customer.id
    other = make_tenant()
    other.bind()
    with pytest.raises(NotFound):
        orders.get_order(db.session, order_id)
    with pytest.raises(NotFound):
        orders.refund_order(db.session, other.owner_actor(), order_id)
    with pytest.raises(NotFound):
        products.get_product(db.session, product_id)
    with pytest.raises(NotFound):
        orders.place_order(db.session, other.owner_actor(), customer_id,
                           {"lines": [{"sku": "TEA-1"}]})
