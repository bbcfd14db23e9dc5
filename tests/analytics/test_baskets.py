"""Association rules, bundles and recommendations on a hand-computed basket set."""

from __future__ import annotations

import pytest

from saas.analytics import baskets
from saas.extensions import db
from saas.models.base import utcnow
from saas.services import orders as order_service
from saas.tenancy import bind_tenant
from tests.analytics import world

# Five counted baskets: {A,B} {A,B,C} {A,C} {B} {A,B}; N=5, n(A)=4, n(B)=4, n(C)=2,
# n(AB)=3, n(AC)=2, n(BC)=1 (below the minimum pair count of 2).
BASKETS = [["A", "B"], ["A", "B", "C"], ["A", "C"], ["B"], ["A", "B"]]


@pytest.fixture
def shop(ctx, make_tenant):
    tenant = make_tenant().bind()
    actor = tenant.owner_actor()
    items = world.products(actor, "A", "B", "C")
    people = [world.customer(actor, f"Customer {i}") for i in range(len(BASKETS))]
    for person, skus in zip(people, BASKETS, strict=True):
        world.order(actor, person.id, skus)
    # A cancelled basket {B, C} is not a basket: it must not create a B-C rule.
    for _ in range(3):
        cancelled = world.order(actor, people[3].id, ["B", "C"])
        order_service.set_status(db.session, actor, cancelled.id, "cancelled")
    db.session.commit()
    return tenant, actor, {k: p.id for k, p in items.items()}, [p.id for p in people]


def _by_pair(rules, ids):
    names = {v: k for k, v in ids.items()}
    return {(names[r.antecedent_id], names[r.consequent_id]): r for r in rules}


def test_rules_have_hand_computed_support_confidence_and_lift(shop):
    _tenant, _actor, ids, _people = shop
    rules = _by_pair(baskets.mine_rules(db.session, min_support=0.2, min_confidence=0.1), ids)
    assert set(rules) == {("A", "B"), ("B", "A"), ("A", "C"), ("C", "A")}
    ab, ca = rules[("A", "B")], rules[("C", "A")]
    assert (ab.pair_count, ab.support, ab.confidence) == (3, pytest.approx(0.6),
                                                          pytest.approx(0.75))
    assert ab.lift == pytest.approx(0.75 / 0.8)
    assert ca.confidence == pytest.approx(1.0)
    assert ca.lift == pytest.approx(1.0 / 0.8)
    assert rules[("A", "C")].confidence == pytest.approx(0.5)
    assert rules[("A", "C")].lift == pytest.approx(1.25)


def test_minimum_support_and_confidence_drop_weak_rules(shop):
    _tenant, _actor, ids, _people = shop
    rules = _by_pair(baskets.mine_rules(db.session, min_support=0.5, min_confidence=0.8), ids)
    assert rules == {}  # only A-B reaches 0.6 support, and its confidence is 0.75
    rules = _by_pair(baskets.mine_rules(db.session, min_support=0.4, min_confidence=0.8), ids)
    assert set(rules) == {("C", "A")}


def test_bundles_fold_both_directions_and_keep_lift_above_one(shop):
    _tenant, _actor, ids, _people = shop
    baskets.store_rules(db.session, baskets.mine_rules(db.session, 0.2, 0.1),
                        utcnow())
    found = baskets.bundles(db.session)
    assert [sorted(b["product_ids"]) for b in found] == [sorted([str(ids["A"]),
                                                                 str(ids["C"])])]
    assert found[0]["lift"] == pytest.approx(1.25)
    assert found[0]["confidence"] == pytest.approx(1.0)


@pytest.mark.parametrize("few", [8, 0], ids=["exists-per-rule-product", "all-order-lines"])
def test_recommendations_exclude_what_the_customer_already_bought(shop, monkeypatch, few):
    monkeypatch.setattr(baskets, "_FEW_RULE_PRODUCTS", few)
    _tenant, _actor, ids, people = shop
    baskets.store_rules(db.session, baskets.mine_rules(db.session, 0.2, 0.1),
                        utcnow())
    names = {v: k for k, v in ids.items()}

    def recs(i):
        return [names[r["product_id"]] for r in baskets.recommendations(db.session, people[i])]

    assert recs(0) == ["C"]  # owns A,B: A→C (0.5)
    assert recs(2) == ["B"]  # owns A,C: A→B (0.75); C→A points at what it has
    assert recs(3) == ["A"]  # owns B (the cancelled B,C orders do not count): B→A
    assert recs(1) == []     # owns everything


def test_rules_are_mined_per_tenant(shop, make_tenant):
    tenant, _actor, ids, _people = shop
    other = make_tenant().bind()
    actor = other.owner_actor()
    world.products(actor, "A", "B")
    for i in range(4):
        world.order(actor, world.customer(actor, f"Other {i}").id, ["A", "B"])
    db.session.commit()
    other_rules = baskets.mine_rules(db.session, 0.2, 0.1)
    assert {r.confidence for r in other_rules} == {1.0}
    bind_tenant(db.session, tenant.id)
    assert len(baskets.mine_rules(db.session, 0.2, 0.1)) == 4
