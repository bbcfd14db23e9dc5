"""Customer service: validation, normalisation, lookups, audit and events."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.models import AuditEntry, OutboxEvent
from saas.models.customers import CustomerLookup
from saas.services import custom_fields
from saas.services import customers as svc
from saas.services.errors import Conflict, InvalidInput, NotFound
from saas.services.identifiers import lookup_value
from tests.api.conftest import add_staff


def _events(name):
    return list(db.session.scalars(select(OutboxEvent).where(OutboxEvent.name == name)))


def test_create_normalises_phones_and_emails_and_records_lookups(world):
    _tenant, actor = world
    c = svc.create_customer(db.session, actor, {
        "name": "王小明", "phones": ["138 0013 8000", "+86-139-0013-9000", "13800138000"],
        "emails": [" Wang@Example.COM "]})
    db.session.commit()
    assert c.phones == ["+8613800138000", "+8613900139000"]
    assert c.phone == "+8613800138000"
    assert c.emails == ["wang@example.com"] and c.email == "wang@example.com"
    keys = sorted((lk.kind, lk.value) for lk in db.session.scalars(select(CustomerLookup)))
    assert keys == sorted([("email", lookup_value("wang@example.com")),
                           ("phone", lookup_value("+8613800138000")),
                           ("phone", lookup_value("+8613900139000"))])


def test_create_audits_and_emits_customer_created(world):
    _tenant, actor = world
    c = svc.create_customer(db.session, actor, {"name": "Ada"})
    db.session.commit()
    [event] = _events("customer.created")
    assert event.entity_id == str(c.id)
    entry = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "customer.created")).one()
    assert entry.changes["name"] == "Ada"


@pytest.mark.parametrize("name", ["😀 Smile Shop", "北京科技有限公司", "Zoë Ørsted"])
def test_emoji_and_cjk_names_are_kept(world, name):
    _tenant, actor = world
    c = svc.create_customer(db.session, actor, {"name": name})
    db.session.commit()
    db.session.expire_all()
    assert svc.get_customer(db.session, c.id).name == name


@pytest.mark.parametrize("data,field", [
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"name": "nul\x00byte"}, "name"),
    ({"name": "A", "phones": ["12345"]}, "phones"),
    ({"name": "A", "phones": ["not a phone"]}, "phones"),
    ({"name": "A", "emails": ["nobody@"]}, "emails"),
    ({"name": "A", "emails": ["a b@example.com"]}, "emails"),
    ({"name": "A", "kind": "robot"}, "kind"),
    ({"name": "A", "category": "Nope"}, "category"),
    ({"name": "A", "birthday": "2199-01-01"}, "birthday"),
    ({"name": "A", "birthday": "yesterday"}, "birthday"),
    ({"name": "A", "owner_id": str(uuid.uuid4())}, "owner_id"),
    ({"name": "A", "consent": {"fax": "granted"}}, "consent.fax"),
    ({"name": "A", "consent": {"email": "maybe"}}, "consent.email"),
    ({"name": "A", "colour": "red"}, "colour"),
    ({"name": "A", "tags": ["x" * 41]}, "tags"),
])
def test_bad_input_names_the_field_and_writes_nothing(world, data, field):
    _tenant, actor = world
    with pytest.raises(InvalidInput) as err:
        svc.create_customer(db.session, actor, data)
    assert field in err.value.errors
    db.session.rollback()
    assert svc.count_customers(db.session) == 0


def test_all_bad_fields_are_reported_at_once(world):
    _tenant, actor = world
    with pytest.raises(InvalidInput) as err:
        svc.create_customer(db.session, actor, {"name": "", "phones": ["x"],
                                                "emails": ["y"]})
    assert {"name", "phones", "emails"} <= set(err.value.errors)


def test_category_defaults_come_from_the_tenant_template(world):
    _tenant, actor = world
    tenant = svc.bound_tenant(db.session)
    assert svc.categories(tenant) == ["VIP", "Regular", "Prospect"]
    c = svc.create_customer(db.session, actor, {"name": "A", "category": "VIP"})
    assert c.category == "VIP"


def test_tenant_can_edit_its_categories(world):
    _tenant, actor = world
    svc.set_categories(db.session, actor, ["Key account", "SME", "SME"])
    db.session.commit()
    assert svc.categories(svc.bound_tenant(db.session)) == ["Key account", "SME"]
    with pytest.raises(InvalidInput):
        svc.create_customer(db.session, actor, {"name": "A", "category": "VIP"})
    with pytest.raises(InvalidInput):
        svc.set_categories(db.session, actor, [])


def test_owner_can_be_set_to_a_staff_member(world):
    tenant, actor = world
    c = svc.create_customer(db.session, actor, {"name": "A", "owner_id": str(tenant.owner_id)})
    assert c.owner_id == tenant.owner_id


def test_update_changes_only_given_fields_and_resyncs_lookups(world):
    _tenant, actor = world
    c = svc.create_customer(db.session, actor, {"name": "A", "phones": ["13800138000"],
                                                "industry": "Retail"})
    db.session.commit()
    svc.update_customer(db.session, actor, c.id, {"phones": ["+1 650 253 0000"]})
    db.session.commit()
    assert c.industry == "Retail"
    assert c.phone == "+16502530000"
    values = list(db.session.scalars(select(CustomerLookup.value)))
    assert values == [lookup_value("+16502530000")]
    [event] = _events("customer.updated")
    assert event.payload["changed"] == ["phones"]


def test_update_without_changes_emits_nothing(world):
    _tenant, actor = world
    c = svc.create_customer(db.session, actor, {"name": "A"})
    svc.update_customer(db.session, actor, c.id, {"name": "A"})
    assert _events("customer.updated") == []


def test_consent_records_when_and_source(world):
    _tenant, actor = world
    c = svc.create_customer(db.session, actor, {
        "name": "A", "consent": {"email": {"status": "granted", "source": "web form"}}})
    assert c.consent["email"]["status"] == "granted"
    assert c.consent["email"]["source"] == "web form"
    assert c.consent["email"]["at"]
    svc.update_customer(db.session, actor, c.id, {"consent": {"email": "withdrawn"}})
    assert c.consent["email"]["status"] == "withdrawn"
    assert c.consent["email"]["source"] == actor.label


def test_other_tenants_customer_is_not_found(app, make_tenant):
    a, b = make_tenant(), make_tenant()
    with app.app_context():
        a.bind()
        c = svc.create_customer(db.session, a.owner_actor(), {"name": "Secret"})
        db.session.commit()
        cid = c.id
        b.bind()
        with pytest.raises(NotFound):
            svc.get_customer(db.session, cid)
        with pytest.raises(NotFound):
            svc.update_customer(db.session, b.owner_actor(), cid, {"name": "Hijack"})
        with pytest.raises(NotFound):
            svc.get_customer(db.session, "not-a-uuid")
        db.session.remove()


def test_owner_of_another_tenant_is_rejected(app, make_tenant):
    a, b = make_tenant(), make_tenant()
    with app.app_context():
        a.bind()
        with pytest.raises(InvalidInput) as err:
            svc.create_customer(db.session, a.owner_actor(),
                                {"name": "A", "owner_id": str(b.owner_id)})
        assert "owner_id" in err.value.errors
        db.session.remove()


def test_external_id_is_unique_per_tenant(world):
    _tenant, actor = world
    svc.create_customer(db.session, actor, {"name": "A", "external_id": "X1"})
    with pytest.raises(InvalidInput) as err:
        svc.create_customer(db.session, actor, {"name": "B", "external_id": "X1"})
    assert "external_id" in err.value.errors


def test_find_by_phone_accepts_any_format(world):
    _tenant, actor = world
    c = svc.create_customer(db.session, actor, {"name": "A", "phones": ["13800138000"]})
    for typed in ("138-0013-8000", "+86 138 0013 8000", "(138) 0013 8000", "008613800138000"):
        assert [x.id for x in svc.find_by_phone(db.session, typed)] == [c.id], typed
    assert svc.find_by_phone(db.session, "13900139000") == []


def test_delete_customer_without_history(world):
    _tenant, actor = world
    c = svc.create_customer(db.session, actor, {"name": "A", "phones": ["13800138000"]})
    db.session.commit()
    svc.delete_customer(db.session, actor, c.id)
    db.session.commit()
    assert svc.count_customers(db.session) == 0
    assert list(db.session.scalars(select(CustomerLookup))) == []


def test_delete_customer_with_orders_is_refused(world):
    from saas.services import orders, products

    _tenant, actor = world
    c = svc.create_customer(db.session, actor, {"name": "A"})
    p = products.create_product(db.session, actor, {"sku": "S1", "name": "P", "price": "1"})
    orders.place_order(db.session, actor, c.id, {"lines": [{"product_id": p.id}]})
    with pytest.raises(Conflict):
        svc.delete_customer(db.session, actor, c.id)


class TestCustomFields:
    @pytest.fixture
    def defs(self, world):
        _tenant, actor = world
        custom_fields.create_definition(db.session, actor, "size", "Size", "number")
        custom_fields.create_definition(db.session, actor, "since", "Since", "date")
        custom_fields.create_definition(db.session, actor, "vip", "VIP", "boolean")
        custom_fields.create_definition(db.session, actor, "colour", "Colour", "choice",
                                        choices=["red", "blue"])
        custom_fields.create_definition(db.session, actor, "channels", "Channels",
                                        "multi_choice", choices=["web", "shop"])
        db.session.commit()
        return actor

    def test_values_are_coerced_to_their_type(self, defs):
        c = svc.create_customer(db.session, defs, {"name": "A", "custom_fields": {
            "size": "12", "since": "2024-05-01", "vip": "yes", "colour": "red",
            "channels": "web|shop"}})
        assert c.custom_fields == {"size": 12, "since": "2024-05-01", "vip": True,
                                   "colour": "red", "channels": ["web", "shop"]}

    @pytest.mark.parametrize("key,value", [
        ("size", "twelve"), ("size", True), ("since", "01/05/2024"), ("vip", "perhaps"),
        ("colour", "green"), ("channels", ["web", "tv"]), ("nope", "x"),
    ])
    def test_wrong_type_or_unknown_field_names_the_field(self, defs, key, value):
        with pytest.raises(InvalidInput) as err:
            svc.create_customer(db.session, defs, {"name": "A", "custom_fields": {key: value}})
        assert list(err.value.errors) == [f"custom_fields.{key}"]

    def test_required_field_missing_is_reported_on_create_and_update(self, defs):
        c = svc.create_customer(db.session, defs, {"name": "A"})
        db.session.commit()
        custom_fields.create_definition(db.session, defs, "region", "Region", "text",
                                        required=True)
        db.session.commit()
        with pytest.raises(InvalidInput) as err:
            svc.create_customer(db.session, defs, {"name": "B"})
        assert "custom_fields.region" in err.value.errors
        db.session.rollback()
        with pytest.raises(InvalidInput) as err:
            svc.update_customer(db.session, defs, c.id, {"name": "A2"})
        assert "custom_fields.region" in err.value.errors
        db.session.rollback()
        svc.update_customer(db.session, defs, c.id, {"custom_fields": {"region": "East"}})
        assert c.custom_fields["region"] == "East"

    def test_update_merges_and_none_clears(self, defs):
        c = svc.create_customer(db.session, defs, {"name": "A", "custom_fields": {
            "size": 3, "colour": "blue"}})
        svc.update_customer(db.session, defs, c.id, {"custom_fields": {"size": None,
                                                                       "vip": False}})
        assert c.custom_fields == {"colour": "blue", "vip": False}

    def test_deleting_a_definition_strips_its_values(self, defs):
        c = svc.create_customer(db.session, defs, {"name": "A", "custom_fields": {
            "size": 3, "colour": "blue"}})
        db.session.commit()
        [colour] = [d for d in custom_fields.list_definitions(db.session)
                    if d.key == "colour"]
        custom_fields.delete_definition(db.session, defs, colour.id)
        db.session.commit()
        db.session.expire_all()
        assert svc.get_customer(db.session, c.id).custom_fields == {"size": 3}

    @pytest.mark.parametrize("kwargs,field", [
        ({"key": "Bad Key", "label": "L", "type": "text"}, "key"),
        ({"key": "ok", "label": "", "type": "text"}, "label"),
        ({"key": "ok", "label": "L", "type": "colour"}, "type"),
        ({"key": "ok", "label": "L", "type": "choice"}, "choices"),
        ({"key": "ok", "label": "L", "type": "choice", "choices": [""]}, "choices"),
    ])
    def test_bad_definitions_are_rejected(self, world, kwargs, field):
        _tenant, actor = world
        with pytest.raises(InvalidInput) as err:
            custom_fields.create_definition(db.session, actor, **kwargs)
        assert field in err.value.errors

    def test_duplicate_key_conflicts(self, defs):
        with pytest.raises(Conflict):
            custom_fields.create_definition(db.session, defs, "size", "Again", "text")

    def test_update_definition_keeps_type_and_checks_choices(self, defs):
        [colour] = [d for d in custom_fields.list_definitions(db.session)
                    if d.key == "colour"]
        custom_fields.update_definition(db.session, defs, colour.id, label="Color",
                                        choices=["red", "blue", "green"])
        assert colour.label == "Color" and colour.choices == ["red", "blue", "green"]
        [size] = [d for d in custom_fields.list_definitions(db.session) if d.key == "size"]
        with pytest.raises(InvalidInput):
            custom_fields.update_definition(db.session, defs, size.id, choices=["a"])


def test_any_staff_member_can_own_customers(app, make_tenant):
    """Staff of other roles can be owners of customers (permission checks live in routes)."""
    tenant = make_tenant()
    with app.app_context():
        agent_id = add_staff(tenant, "agent")
        tenant.bind()
        c = svc.create_customer(db.session, tenant.owner_actor(),
                                {"name": "A", "owner_id": agent_id})
        assert c.owner_id == agent_id
        db.session.remove()


def test_plan_limit_stops_creation_with_402_error(app, world, monkeypatch):
    from saas.billing.plans import PLANS, Plan
    from saas.services.errors import LimitExceeded

    _tenant, actor = world
    monkeypatch.setitem(app.config, "BILLING_DEFAULT_PLAN", "free")
    monkeypatch.setitem(PLANS, "free", Plan("free", "Free", 0, {
        **PLANS["free"].limits, "customers": 1}))
    svc.create_customer(db.session, actor, {"name": "First"})
    db.session.commit()
    with pytest.raises(LimitExceeded):
        svc.create_customer(db.session, actor, {"name": "Second"})
    db.session.rollback()
    assert svc.count_customers(db.session) == 1


def test_unchanged_retired_category_and_inactive_owner_do_not_block_edits(app, make_tenant):
    from saas.models import Staff
    from saas.services import staff as staff_service

    tenant = make_tenant()
    with app.app_context():
        agent_id = add_staff(tenant, "agent")
        tenant.bind()
        actor = tenant.owner_actor()
        c = svc.create_customer(db.session, actor, {"name": "A", "category": "VIP",
                                                     "owner_id": agent_id})
        svc.set_categories(db.session, actor, ["Key account"])
        staff_service.set_active(db.session, actor, db.session.get(Staff, (tenant.id, agent_id)),
                                 False)
        db.session.commit()
        svc.update_customer(db.session, actor, c.id, {"name": "A2", "category": "VIP",
                                                      "owner_id": str(agent_id)})
        assert (c.name, c.category, c.owner_id) == ("A2", "VIP", agent_id)
        with pytest.raises(InvalidInput) as err:
            svc.update_customer(db.session, actor, c.id, {"category": "Regular"})
        assert "category" in err.value.errors
        db.session.remove()
