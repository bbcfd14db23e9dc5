"""Tiers: template defaults, validation, preview before apply, history and overrides."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from saas.extensions import db
from saas.models.base import utcnow
from saas.models.tiers import TierChange
from saas.services import custom_fields, measures, tiers
from saas.services.errors import InvalidInput, NotFound
from tests.services.tiers_world import world_fixture

world = world_fixture()


def _tier_of(customer):
    found = tiers.customer_tier(db.session, customer.id)
    return found[1].name if found else None


def _spend(world, name, amount):
    c = world.customer(name)
    if amount:
        world.order(c, amount, days_ago=10)
    return c


def test_first_use_loads_the_templates_tiers(world):
    names = [(t.name, t.rule) for t in tiers.list_tiers(db.session)]
    assert [n for n, _ in names] == ["A", "B", "C"]
    assert names[0][1] == {"all": [{"measure": "spend_12m", "op": ">=", "value": 10000}]}


def test_preview_counts_moves_and_apply_records_history_with_rule_version(world):
    big, mid, small = _spend(world, "Big", 20000), _spend(world, "Mid", 3000), \
        _spend(world, "Small", 10)
    measures.refresh_all(db.session)
    p = tiers.preview(db.session)
    assert sorted((m["from"], m["to"], m["count"]) for m in p.moves) == [
        (None, "A", 1), (None, "B", 1), (None, "C", 1)]
    assert {s["name"] for s in p.sample} == {"Big", "Mid", "Small"}
    assert _tier_of(big) is None  # preview wrote nothing
    result = tiers.apply(db.session, world.actor)
    assert result == {"version": 1, "moved": 3}
    assert (_tier_of(big), _tier_of(mid), _tier_of(small)) == ("A", "B", "C")
    change = tiers.history(db.session, big.id)[0]
    assert (change.from_tier, change.to_tier, change.reason, change.rule_version) == \
        (None, "A", "rule", 1)
    again = tiers.apply(db.session, world.actor)
    assert again == {"version": 2, "moved": 0}


def test_preview_of_proposed_rules_shows_who_would_move(world):
    _spend(world, "Mid", 3000)
    measures.refresh_all(db.session)
    tiers.apply(db.session, world.actor)
    proposal = [{"name": "A", "rule": {"all": [
                    {"measure": "spend_12m", "op": ">=", "value": 1000}]}},
                {"name": "C", "rule": {"all": []}}]
    p = tiers.preview(db.session, proposal)
    assert p.moves == [{"from": "B", "to": "A", "count": 1}]
    assert p.moving == 1 and p.total == 1


def test_manual_override_holds_until_it_expires(world):
    small = _spend(world, "Small", 10)
    measures.refresh_all(db.session)
    tiers.apply(db.session, world.actor)
    a = next(t for t in tiers.list_tiers(db.session) if t.name == "A")
    until = utcnow() + timedelta(days=30)
    tiers.override(db.session, world.actor, small.id, a.id, until, note="strategic")
    tiers.apply(db.session, world.actor)
    assert _tier_of(small) == "A"
    last = tiers.history(db.session, small.id)[0]
    assert (last.reason, last.actor_label, last.to_tier) == ("manual", world.actor.label, "A")
    tiers.reapply(db.session, now=until + timedelta(seconds=1))
    assert _tier_of(small) == "C"
    assert tiers.history(db.session, small.id)[0].reason == "override_expired"


def test_override_rejects_past_expiry_and_unknown_tier(world):
    c = world.customer()
    a = tiers.list_tiers(db.session)[0]
    with pytest.raises(InvalidInput) as err:
        tiers.override(db.session, world.actor, c.id, a.id, utcnow() - timedelta(days=1))
    assert "until" in err.value.errors
    with pytest.raises(InvalidInput) as err:
        tiers.override(db.session, world.actor, c.id, "not-an-id", None)
    assert "tier_id" in err.value.errors
    with pytest.raises(NotFound):
        tiers.override(db.session, world.actor, "00000000-0000-0000-0000-000000000000",
                       a.id, None)


def test_nightly_reapply_uses_applied_rules_not_unsaved_edits(world):
    mid = _spend(world, "Mid", 3000)
    measures.refresh_all(db.session)
    tiers.apply(db.session, world.actor)
    tiers.save_tiers(db.session, world.actor, [
        {"name": "A", "rule": {"all": [{"measure": "spend_12m", "op": ">=", "value": 1}]}},
        {"name": "B", "rule": {"all": [{"measure": "order_count", "op": ">=", "value": 99}]}},
        {"name": "C", "rule": {"all": []}}])
    tiers.reapply(db.session)
    assert _tier_of(mid) == "B"


@pytest.mark.parametrize("data,path,fragment", [
    ([], "tiers", "at least one"),
    ([{"name": "A", "rule": {"all": []}}, {"name": "B", "rule": {"all": []}}],
     "tiers.0.rule", "everyone"),
    ([{"name": "A", "rule": {"any": []}}], "tiers.0.rule", "no one"),
    ([{"name": "A", "rule": {"all": [{"measure": "order_count", "op": ">", "value": 1}]}},
      {"name": "B", "rule": {"all": [{"measure": "order_count", "op": ">", "value": 1}]}}],
     "tiers.1.rule", "overlap"),
    ([{"name": "A", "rule": {"all": []}}, {"name": "A", "rule": {"all": []}}],
     "tiers.1.name", "name"),
    ([{"name": "A", "rule": {"all": [{"measure": "nope", "op": ">", "value": 1}]}}],
     "tiers.0.rule.all.0.measure", "Unknown measure"),
    ([{"name": "A", "rule": {"all": [{"measure": "spend_12m", "op": ">", "value": "x"}]}}],
     "tiers.0.rule.all.0.value", "number"),
    ([{"name": "A", "colour": "red", "rule": {"all": []}}], "tiers.0.colour", "colour"),
])
def test_bad_tiers_are_rejected_with_the_offending_path(world, data, path, fragment):
    with pytest.raises(InvalidInput) as err:
        tiers.save_tiers(db.session, world.actor, data)
    assert path in err.value.errors, err.value.errors
    assert fragment.lower() in " ".join(err.value.errors[path]).lower()


def test_rule_on_a_deleted_custom_field_is_reported(world):
    field = custom_fields.create_definition(db.session, world.actor, "region", "Region",
                                            "text")
    rule = {"all": [{"custom_field": "region", "op": "=", "value": "north"}]}
    tiers.save_tiers(db.session, world.actor, [{"name": "N", "rule": rule},
                                               {"name": "Rest", "rule": {"all": []}}])
    custom_fields.delete_definition(db.session, world.actor, field.id)
    with pytest.raises(InvalidInput) as err:
        tiers.save_tiers(db.session, world.actor, [{"name": "N", "rule": rule}])
    assert "deleted" in err.value.errors["tiers.0.rule.all.0.custom_field"][0]


def test_saved_rules_whose_custom_field_was_deleted_are_refused_not_half_applied(world):
    field = custom_fields.create_definition(db.session, world.actor, "seats", "Seats",
                                            "number")
    big = world.customer("Big", custom_fields={"seats": 50})
    world.customer("Small", custom_fields={"seats": 2})
    measures.refresh_all(db.session)
    tiers.save_tiers(db.session, world.actor, [
        {"name": "Wide", "rule": {"all": [{"custom_field": "seats", "op": ">=",
                                           "value": 10}]}},
        {"name": "Rest", "rule": {"all": []}}])
    assert tiers.apply(db.session, world.actor)["version"] == 1
    assert _tier_of(big) == "Wide" and tiers.saved_problems(db.session) == {}
    custom_fields.delete_definition(db.session, world.actor, field.id)
    path = "tiers.0.rule.all.0.custom_field"
    assert "deleted" in tiers.saved_problems(db.session)[path][0]
    for attempt in (lambda: tiers.preview(db.session),
                    lambda: tiers.apply(db.session, world.actor)):
        with pytest.raises(InvalidInput) as err:
            attempt()
        assert path in err.value.errors
    assert db.session.scalar(select(func.count()).select_from(TierChange)) == 2
    # the nightly run keeps everyone where they are instead of emptying the tier
    assert tiers.reapply(db.session) == {"version": 1, "moved": 0, "stale": True}
    assert _tier_of(big) == "Wide"


def test_text_custom_field_compared_as_number_is_a_type_mismatch(world):
    custom_fields.create_definition(db.session, world.actor, "region", "Region", "text")
    with pytest.raises(InvalidInput) as err:
        tiers.save_tiers(db.session, world.actor, [{"name": "N", "rule": {"all": [
            {"custom_field": "region", "op": ">=", "value": 5}]}}])
    assert "text" in err.value.errors["tiers.0.rule.all.0.op"][0]


def test_removing_a_tier_records_the_customers_leaving_it(world):
    big = _spend(world, "Big", 20000)
    measures.refresh_all(db.session)
    tiers.apply(db.session, world.actor)
    tiers.save_tiers(db.session, world.actor, [{"name": "C", "rule": {"all": []}}])
    assert _tier_of(big) is None
    assert tiers.history(db.session, big.id)[0].reason == "tier_removed"
    assert db.session.scalar(select(func.count()).select_from(TierChange)) == 2
