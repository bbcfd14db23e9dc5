"""Duplicate candidates: same phone/email (normalised), same or similar name + address."""

from __future__ import annotations

import pytest

from saas.extensions import db
from saas.services import customers as customer_service
from saas.services import duplicates
from saas.services.errors import InvalidInput, NotFound


def make(actor, **data):
    c = customer_service.create_customer(db.session, actor, data)
    db.session.flush()
    return c


def reasons_of(pairs, a, b) -> list[str]:
    want = {a.id, b.id}
    for p in pairs:
        if {p.first.id, p.second.id} == want:
            return p.reasons
    return []


def test_phones_typed_differently_and_emails_in_other_case_are_found(world):
    _t, actor = world
    a = make(actor, name="Ann", phones=["138 0013 8000"], emails=["Ann@X.com"])
    b = make(actor, name="Anna Lee", phones=["+86-138-0013-8000"])
    c = make(actor, name="Other", emails=["ann@x.COM"])
    make(actor, name="Nobody", phones=["13900139000"])
    pairs = duplicates.candidates(db.session)
    assert reasons_of(pairs, a, b) == ["same_phone"]
    assert reasons_of(pairs, a, c) == ["same_email"]
    assert len(pairs) == 2


def test_same_name_and_similar_name_at_the_same_address(world):
    _t, actor = world
    a = make(actor, name="Zhang Wei Trading", address="1 Nanjing Rd")
    b = make(actor, name="Zhang Wei Trading Co", address="1 Nanjing Rd")
    c = make(actor, name="zhang wei trading")
    far = make(actor, name="Zhang Wei Trading Co", address="9 Other St")
    pairs = duplicates.candidates(db.session)
    assert reasons_of(pairs, a, b) == ["similar_name_same_address"]
    assert reasons_of(pairs, a, c) == ["same_name"]
    assert reasons_of(pairs, b, far) == ["same_name"]
    assert reasons_of(pairs, a, far) == []


def test_dissimilar_names_at_one_address_are_not_pairs(world):
    _t, actor = world
    make(actor, name="Apple Shop", address="Mall 3F")
    make(actor, name="Banana Bar", address="Mall 3F")
    assert duplicates.candidates(db.session) == []


def test_dismissed_pairs_and_merged_customers_are_not_offered(world):
    _t, actor = world
    a = make(actor, name="A", emails=["same@x.com"])
    b = make(actor, name="B", emails=["same@x.com"])
    duplicates.dismiss(db.session, actor, b.id, a.id)
    duplicates.dismiss(db.session, actor, a.id, b.id)
    db.session.commit()
    assert duplicates.candidates(db.session) == []
    c = make(actor, name="C", phones=["13800138000"])
    d = make(actor, name="D", phones=["13800138000"])
    d.merged_into_id = c.id
    db.session.flush()
    assert duplicates.candidates(db.session) == []


def test_bad_arguments_and_other_tenants_ids(world, make_tenant):
    _t, actor = world
    a = make(actor, name="A")
    with pytest.raises(InvalidInput):
        duplicates.candidates(db.session, limit=0)
    with pytest.raises(InvalidInput):
        duplicates.candidates(db.session, reason="vibes")
    with pytest.raises(InvalidInput):
        duplicates.dismiss(db.session, actor, a.id, a.id)
    db.session.commit()
    a_id = a.id
    other = make_tenant()
    other.bind()
    b = make(other.owner_actor(), name="B")
    with pytest.raises(NotFound):
        duplicates.dismiss(db.session, other.owner_actor(), a_id, b.id)
