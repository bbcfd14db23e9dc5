"""Property: a compiled rule selects exactly the customers a Python reading of the same
rule accepts — over random customers and random rules, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import and_, select

from saas.extensions import db
from saas.models.base import utcnow
from saas.models.customers import Customer
from saas.models.tiers import CustomerMeasure
from saas.services import custom_fields, customers, rules

CF = {"score": ("number", ()), "region": ("choice", ("north", "south")),
      "vip": ("boolean", ()), "note": ("text", ()), "langs": ("multi_choice", ("en", "zh")),
      "since": ("date", ())}
NUMS = [0, 1, 2, 2.5, 10, -3]
TEXTS = ["x", "y", "Z"]
DATES = ["2020-01-01", "2021-06-15", "2022-12-31"]
CATS = ("VIP", "Regular", "Prospect")


@pytest.fixture
def tenant_ctx(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        for key, (type_, choices) in CF.items():
            custom_fields.create_definition(db.session, actor, key, key, type_,
                                            choices=list(choices) or None)
        db.session.commit()
        yield actor
        db.session.rollback()
        db.session.remove()


def _value(type_, choices):
    if type_ == "number":
        return st.sampled_from(NUMS)
    if type_ == "date":
        return st.sampled_from(DATES)
    if type_ == "boolean":
        return st.booleans()
    if type_ in ("choice", "multi_choice"):
        return st.sampled_from(choices)
    return st.sampled_from(TEXTS)


def _condition_for(subject, name, type_, choices):
    def build(op, value):
        cond = {subject: name, "op": op}
        if op not in ("is_set", "not_set") and type_ != "tag":
            cond["value"] = value
        return cond

    ops = st.sampled_from(rules.OPS[type_])
    return st.tuples(ops, st.data()).flatmap(lambda t: (
        st.lists(_value(type_, choices), min_size=1, max_size=3, unique=True)
        if t[0] == "in" else _value(type_, choices)).map(lambda v: build(t[0], v)))


MEASURE_PICKS = ["spend_12m", "order_count", "avg_interval_days", "behaviour"]
conditions = st.one_of(
    *[_condition_for("measure", m, *rules.MEASURES[m]) for m in MEASURE_PICKS],
    _condition_for("field", "category", "choice", CATS),
    _condition_for("field", "purchasing_power", *rules.FIELDS["purchasing_power"]),
    _condition_for("field", "birthday", "date", ()),
    *[_condition_for("custom_field", k, t, c) for k, (t, c) in CF.items()],
    st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from(["has", "lacks"]))
    .map(lambda t: {"tag": t[0], "op": t[1]}),
)
groups = st.recursive(
    st.builds(lambda k, items: {k: items}, st.sampled_from(["all", "any"]),
              st.lists(conditions, max_size=3)),
    lambda inner: st.builds(lambda k, items: {k: items}, st.sampled_from(["all", "any"]),
                            st.lists(st.one_of(conditions, inner), max_size=3)),
    max_leaves=6)

customer_data = st.fixed_dictionaries({
    "category": st.one_of(st.none(), st.sampled_from(CATS)),
    "purchasing_power": st.one_of(st.none(), st.sampled_from(["high", "medium", "low"])),
    "birthday": st.one_of(st.none(), st.sampled_from(DATES)),
    "tags": st.lists(st.sampled_from(["a", "b", "c"]), unique=True, max_size=3),
    "custom_fields": st.fixed_dictionaries({}, optional={
        "score": st.sampled_from(NUMS), "region": st.sampled_from(["north", "south"]),
        "vip": st.booleans(), "note": st.sampled_from(TEXTS),
        "langs": st.lists(st.sampled_from(["en", "zh"]), min_size=1, unique=True),
        "since": st.sampled_from(DATES)}),
    "measures": st.one_of(st.none(), st.fixed_dictionaries({
        "spend_12m": st.sampled_from(NUMS[:5]), "order_count": st.integers(0, 3),
        "avg_interval_days": st.one_of(st.none(), st.sampled_from([1.5, 2.0, 10.0])),
        "behaviour": st.sampled_from(["active", "at_risk", "churned", "none"])})),
})


def _add_measures(customer, values):
    db.session.add(CustomerMeasure(
        id=customer.id, spend_12m=Decimal(str(values["spend_12m"])), spend_total=0,
        order_count=values["order_count"], avg_interval_days=values["avg_interval_days"],
        interactions_90d=0, points_balance=0, r_score=1, f_score=1, m_score=1, rfm_score=3,
        value_segment="low", behaviour=values["behaviour"], lifecycle="prospect",
        computed_at=utcnow()))


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(people=st.lists(customer_data, min_size=1, max_size=6), raw_rule=groups)
def test_sql_and_python_agree_on_every_rule(tenant_ctx, people, raw_rule):
    actor = tenant_ctx
    ctx = rules.context_for(db.session)
    rule = rules.validate(raw_rule, ctx)
    nested = db.session.begin_nested()
    try:
        expected = set()
        for i, data in enumerate(people):
            c = customers.create_customer(db.session, actor, {
                "name": f"P{i}", "category": data["category"],
                "purchasing_power": data["purchasing_power"],
                "birthday": data["birthday"], "tags": data["tags"],
                "custom_fields": data["custom_fields"]})
            if data["measures"] is not None:
                _add_measures(c, data["measures"])
            facts = {"measures": data["measures"] or {},
                     "fields": {"category": c.category,
                                "purchasing_power": c.purchasing_power,
                                "birthday": date.fromisoformat(data["birthday"])
                                if data["birthday"] else None},
                     "custom_fields": c.custom_fields, "tags": c.tags}
            if rules.evaluate(rule, facts):
                expected.add(c.id)
        db.session.flush()
        dialect = db.session.get_bind().dialect.name
        got = set(db.session.scalars(
            select(Customer.id).outerjoin(CustomerMeasure, and_(
                CustomerMeasure.tenant_id == Customer.tenant_id,
                CustomerMeasure.id == Customer.id))
            .where(rules.compile_rule(rule, dialect))))
        assert got == expected, rules.describe(rule)
    finally:
        nested.rollback()


def test_validation_rejects_eval_like_input(tenant_ctx):
    ctx = rules.context_for(db.session)
    for bad in ("__import__('os')", {"all": "1; DROP TABLE customers"},
                {"all": [{"measure": "spend_12m", "op": "; DROP", "value": 1}]},
                {"all": [{"all": [{"all": [{"all": []}]}]}]}):
        with pytest.raises(Exception) as err:
            rules.validate(bad, ctx)
        assert err.value.errors
