"""Built-in segments with their rules, saved dynamic segments, and `segment_filter`."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.models.customers import Customer
from saas.services import measures, segments, tiers
from saas.services.errors import Conflict, InvalidInput, NotFound
from saas.timeline import timeline
from tests.services.tiers_world import world_fixture

world = world_fixture(None)


def test_builtin_distribution_counts_and_explains_each_segment(world):
    active = world.customer("Active")
    world.order(active, 50, days_ago=2)
    world.customer("Prospect")
    measures.refresh_all(db.session)
    dist = segments.builtin_distribution(db.session)
    lifecycle = {row["key"]: row for row in dist["lifecycle"]}
    assert lifecycle["new"]["count"] == 1 and lifecycle["prospect"]["count"] == 1
    assert "first order" in lifecycle["new"]["rule"]
    assert {r["key"] for r in dist["behaviour"]} == {"active", "at_risk", "churned", "none"}


def test_saved_segment_counts_live_and_filters_customer_queries(world):
    vip = world.customer("Vip", tags=["vip"])
    world.order(vip, 5000, days_ago=1)
    world.customer("Plain", tags=["vip"])
    measures.refresh_all(db.session)
    seg = segments.create_segment(db.session, world.actor, {"name": "Big VIPs", "rule": {
        "all": [{"tag": "vip"}, {"measure": "spend_12m", "op": ">", "value": 1000}]}})
    assert segments.count(db.session, seg.id) == 1
    names = db.session.scalars(select(Customer.name).where(
        segments.segment_filter(db.session, seg.id))).all()
    assert names == ["Vip"]
    world.order(world.customer("Later", tags=["vip"]), 2000)
    db.session.commit()
    assert segments.count(db.session, seg.id) == 2  # incremental refresh after the order


def test_segment_by_tier(world):
    big = world.customer("Big")
    world.order(big, 20000)
    world.customer("Small")
    measures.refresh_all(db.session)
    tiers.apply(db.session, world.actor)
    seg = segments.create_segment(db.session, world.actor, {
        "name": "Tier A", "rule": {"all": [{"tier": "A", "op": "="}]}})
    assert [c.name for c in segments.members(db.session, seg.id)] == ["Big"]


def test_bad_segments_are_rejected(world):
    with pytest.raises(InvalidInput) as err:
        segments.create_segment(db.session, world.actor, {"name": "", "rule": {"any": [
            {"measure": "spend_12m", "op": "~", "value": 1}]}})
    assert {"name", "rule.any.0.op"} <= set(err.value.errors)
    segments.create_segment(db.session, world.actor, {"name": "X", "rule": {"all": []}})
    with pytest.raises(Conflict):
        segments.create_segment(db.session, world.actor, {"name": "X", "rule": {"all": []}})
    with pytest.raises(InvalidInput):
        segments.create_segment(db.session, world.actor, {"name": "Y", "rule": {"all": [
            {"tier": "Z"}]}})
    with pytest.raises(NotFound):
        segments.segment_filter(db.session, "00000000-0000-0000-0000-000000000000")


def test_points_and_tier_changes_show_on_the_timeline(world):
    c = world.customer()
    world.order(c, 20000)
    db.session.commit()
    measures.refresh_all(db.session)
    tiers.apply(db.session, world.actor)
    kinds = {item.kind for item in timeline(db.session, c.id)}
    assert {"order", "points", "tier"} <= kinds


def test_a_segment_whose_custom_field_was_deleted_is_refused_everywhere(world):
    from saas.services import custom_fields, customer_list

    field = custom_fields.create_definition(db.session, world.actor, "region", "Region",
                                            "text")
    world.customer("North", custom_fields={"region": "north"})
    seg = segments.create_segment(db.session, world.actor, {"name": "North", "rule": {
        "all": [{"custom_field": "region", "op": "=", "value": "north"}]}})
    assert segments.count(db.session, seg.id) == 1 and segments.rule_problems(
        db.session, seg) == {}
    custom_fields.delete_definition(db.session, world.actor, field.id)
    assert "rule.all.0.custom_field" in segments.rule_problems(db.session, seg)
    for use in (lambda: segments.count(db.session, seg.id),
                lambda: segments.members(db.session, seg.id),
                lambda: segments.segment_filter(db.session, seg.id)):
        with pytest.raises(InvalidInput) as err:
            use()
        assert list(err.value.errors) == ["segment_id"]
    with pytest.raises(InvalidInput) as err:
        customer_list.parse_filters(db.session, {"segment": str(seg.id)})
    assert "deleted" in err.value.errors["segment"][0]
    segments.update_segment(db.session, world.actor, seg.id, {"rule": {"all": []}})
    assert segments.count(db.session, seg.id) == 1


def test_customer_list_filter_by_segment_combines_with_other_filters(world):
    from saas.services import customer_list

    a = world.customer("Ann", tags=["vip"], category="VIP")
    world.order(a, 900, days_ago=1)
    b = world.customer("Bob", tags=["vip"])
    world.order(b, 900, days_ago=1)
    world.customer("Cid", tags=["vip"])
    measures.refresh_all(db.session)
    seg = segments.create_segment(db.session, world.actor, {"name": "Buyers", "rule": {
        "all": [{"measure": "order_count", "op": ">=", "value": 1}]}})
    query = customer_list.parse_filters(db.session, {"segment": str(seg.id), "tags": "vip",
                                                     "sort": "name"})
    assert query.segment_id == seg.id
    assert [c.name for c in customer_list.page(db.session, query).items] == ["Ann", "Bob"]
    query = customer_list.parse_filters(db.session, {"segment": str(seg.id),
                                                     "category": "VIP"})
    assert [c.name for c in db.session.scalars(customer_list.filtered(db.session, query))] \
        == ["Ann"]
    with pytest.raises(InvalidInput) as err:
        customer_list.parse_filters(db.session, {"segment": "x", "kind": "robot"})
    assert set(err.value.errors) == {"segment", "kind"}
