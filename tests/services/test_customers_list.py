"""Customer list: filters, search by normalised phone/email, keyset paging."""

from __future__ import annotations

import pytest

from saas.extensions import db
from saas.services import custom_fields
from saas.services import customer_list as cl
from saas.services import customers as svc
from saas.services.errors import InvalidInput


@pytest.fixture
def world(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        custom_fields.create_definition(db.session, actor, "region", "Region", "choice",
                                        choices=["east", "west"])
        custom_fields.create_definition(db.session, actor, "seats", "Seats", "number")
        custom_fields.create_definition(db.session, actor, "vip", "VIP", "boolean")
        custom_fields.create_definition(db.session, actor, "chan", "Chan", "multi_choice",
                                        choices=["web", "shop"])
        db.session.commit()
        yield tenant, actor
        db.session.rollback()
        db.session.remove()


def _names(session, raw, **kw):
    return sorted(c.name for c in cl.page(session, cl.parse_filters(session, raw), **kw).items)


def _make(actor, name, **data):
    return svc.create_customer(db.session, actor, {"name": name, **data})


def test_filters_by_fields_tags_owner_category_and_custom_fields(world):
    tenant, actor = world
    _make(actor, "Alpha", tags=["vip", "north"], category="VIP", owner_id=tenant.owner_id,
          custom_fields={"region": "east", "seats": 10, "vip": True, "chan": ["web"]})
    _make(actor, "Beta", tags=["vip"], category="Regular", kind="company",
          custom_fields={"region": "west", "seats": 3, "vip": False, "chan": ["web", "shop"]})
    _make(actor, "Gamma", tags=["north"], lifecycle_stage="customer",
          consent={"sms": "granted"})
    db.session.commit()
    s = db.session
    assert _names(s, {"tags": "vip"}) == ["Alpha", "Beta"]
    assert _names(s, {"tags": ["vip", "north"]}) == ["Alpha"]
    assert _names(s, {"category": "VIP"}) == ["Alpha"]
    assert _names(s, {"kind": "company"}) == ["Beta"]
    assert _names(s, {"owner_id": str(tenant.owner_id)}) == ["Alpha"]
    assert _names(s, {"owner_id": "none"}) == ["Beta", "Gamma"]
    assert _names(s, {"lifecycle_stage": "customer"}) == ["Gamma"]
    assert _names(s, {"cf.region": "west"}) == ["Beta"]
    assert _names(s, {"cf.seats": "10"}) == ["Alpha"]
    assert _names(s, {"cf.vip": "true"}) == ["Alpha"]
    assert _names(s, {"cf.vip": "false"}) == ["Beta"]
    assert _names(s, {"cf.chan": "shop"}) == ["Beta"]
    assert _names(s, {"consent.sms": "granted"}) == ["Gamma"]
    assert _names(s, {"tags": "vip", "cf.region": "east"}) == ["Alpha"]


@pytest.mark.parametrize("raw,field", [
    ({"colour": "red"}, "colour"),
    ({"kind": "robot"}, "kind"),
    ({"cf.nope": "1"}, "cf.nope"),
    ({"cf.seats": "many"}, "cf.seats"),
    ({"sort": "phone"}, "sort"),
    ({"owner_id": "bob"}, "owner_id"),
    ({"created_from": "last week"}, "created_from"),
    ({"consent.fax": "granted"}, "consent.fax"),
])
def test_bad_filters_name_the_field(world, raw, field):
    with pytest.raises(InvalidInput) as err:
        cl.parse_filters(db.session, raw)
    assert field in err.value.errors


@pytest.mark.parametrize("typed", ["13800138000", "138 0013 8000", "+86 138-0013-8000",
                                   "(138)0013-8000"])
def test_search_finds_phone_typed_in_any_format(world, typed):
    _tenant, actor = world
    _make(actor, "Phone Owner", phones=["+8613800138000"])
    _make(actor, "Other", phones=["13900139000"])
    db.session.commit()
    assert _names(db.session, {"q": typed}) == ["Phone Owner"]


def test_search_by_email_is_case_insensitive_and_by_name_substring(world):
    _tenant, actor = world
    _make(actor, "张伟贸易", emails=["Zhang@Example.com"])
    _make(actor, "Smile 😀 Shop", emails=["smile@shop.cn"])
    db.session.commit()
    s = db.session
    assert _names(s, {"q": "ZHANG@example.COM"}) == ["张伟贸易"]
    assert _names(s, {"q": "伟贸"}) == ["张伟贸易"]
    assert _names(s, {"q": "smile"}) == ["Smile 😀 Shop"]
    assert _names(s, {"q": "100%"}) == []


@pytest.mark.parametrize("partial", ["0013 8000", "138001", "@shop", "smile@shop"])
def test_partial_phone_or_email_finds_nothing_because_they_are_encrypted(world, partial):
    _tenant, actor = world
    _make(actor, "Smile Shop", phones=["+8613800138000"], emails=["smile@shop.cn"])
    db.session.commit()
    assert _names(db.session, {"q": partial}) == []
    assert _names(db.session, {"q": "smile@shop.cn"}) == ["Smile Shop"]


def test_merged_customers_are_hidden_unless_asked(world):
    _tenant, actor = world
    keep = _make(actor, "Keep")
    gone = _make(actor, "Gone")
    gone.merged_into_id = keep.id
    db.session.commit()
    assert _names(db.session, {}) == ["Keep"]
    assert _names(db.session, {"include_merged": "1"}) == ["Gone", "Keep"]


@pytest.mark.parametrize("sort", cl.SORT_CHOICES)
def test_keyset_walk_visits_every_customer_once_in_order(world, sort):
    _tenant, actor = world
    for i in range(23):
        _make(actor, f"C{i % 7}")  # repeated names: ties broken by id
    db.session.commit()
    query = cl.parse_filters(db.session, {"sort": sort})
    seen, cursor, pages = [], None, 0
    while True:
        page = cl.page(db.session, query, cursor=cursor, limit=5)
        seen.extend(page.items)
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 5
    assert len({c.id for c in seen}) == 23
    column = sort.lstrip("-")
    keys = [(getattr(c, column), c.id) for c in seen]
    assert keys == sorted(keys, reverse=sort.startswith("-"))


def test_tampered_or_foreign_cursor_is_a_field_error(world):
    _tenant, actor = world
    for i in range(3):
        _make(actor, f"C{i}")
    query = cl.parse_filters(db.session, {"sort": "name"})
    cursor = cl.page(db.session, query, limit=1).next_cursor
    with pytest.raises(InvalidInput) as err:
        cl.page(db.session, cl.parse_filters(db.session, {"sort": "-created_at"}),
                cursor=cursor)
    assert "cursor" in err.value.errors
    with pytest.raises(InvalidInput):
        cl.page(db.session, query, cursor="!!garbage")
    with pytest.raises(InvalidInput):
        cl.page(db.session, query, limit=0)


def test_list_never_shows_another_tenants_customers(app, make_tenant):
    a, b = make_tenant(), make_tenant()
    with app.app_context():
        a.bind()
        _make(a.owner_actor(), "Mine", phones=["13800138000"])
        db.session.commit()
        b.bind()
        assert _names(db.session, {}) == []
        assert _names(db.session, {"q": "13800138000"}) == []
        db.session.remove()
