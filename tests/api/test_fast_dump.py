"""`FastDumpSchema` (the customer list's dump path) gives exactly what marshmallow gives:
checked against a plain marshmallow schema with the same fields, on ORM customers in
every state (loaded, expired after commit, pending) and on plain objects."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from types import SimpleNamespace

import marshmallow as ma
import pytest

from saas.api.common import FastDumpSchema
from saas.extensions import db
from saas.models.customers import Customer
from saas.services import customers as svc


class _Upper(ma.fields.String):
    """A subclass with its own formatting (and its own idea of None) must keep it."""

    def _serialize(self, value, attr, obj, **kwargs):
        return "" if value is None else str(value).upper()


def _fields() -> dict[str, ma.fields.Field]:
    f = ma.fields
    return {
        "id": f.UUID(), "kind": f.String(data_key="kindOf"), "name": f.String(),
        "phone": f.String(allow_none=True), "phones": f.List(f.String()),
        "tags": f.List(f.String()), "birthday": f.Date(allow_none=True),
        "created_at": f.DateTime(), "day": f.DateTime(format="%Y/%m/%d", attribute="created_at",
                                dump_only=True),
        "consent": f.Dict(keys=f.String(), values=f.Dict()),
        "custom_fields": f.Dict(keys=f.String()),
        "shout": _Upper(attribute="name", dump_only=True), "notes": _Upper(),
        "owner_id": f.UUID(allow_none=True), "raw": f.Raw(attribute="tags", dump_only=True),
        "absent": f.String(dump_default="n/a"), "absent_none": f.String(),
        "label": f.Method("_label"), "size": f.Function(lambda obj: len(_name(obj) or "")),
    }


def _name(obj):
    return obj.get("name") if isinstance(obj, dict) else obj.name


def _label(self, obj):
    return f"<{_name(obj)}>"


Fast = type("FastProbeSchema", (FastDumpSchema,), {**_fields(), "_label": _label})
Plain = type("PlainProbeSchema", (ma.Schema,), {**_fields(), "_label": _label})


def _same(obj) -> dict:
    fast, plain = Fast().dump(obj), Plain().dump(obj)
    assert fast == plain
    assert list(fast) == list(plain)
    return fast


@pytest.fixture
def world(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        yield tenant.owner_actor()
        db.session.rollback()
        db.session.remove()


def test_loaded_expired_and_pending_customers_dump_as_marshmallow_dumps_them(world):
    customer = svc.create_customer(db.session, world, {
        "name": "王小明", "phones": ["13800138000"], "emails": ["w@example.com"],
        "tags": ["vip", "north"], "birthday": "1990-02-03",
        "consent": {"email": "granted"}, "notes": "call after 6"})
    db.session.commit()  # expired: the dump has to load every attribute

    expired = _same(customer)
    assert "name" in customer.__dict__  # loaded now
    loaded = _same(customer)

    assert expired == loaded
    assert loaded["phones"] == ["+8613800138000"] and loaded["shout"] == "王小明"
    assert loaded["kindOf"] == "person" and loaded["absent"] == "n/a"
    assert "absent_none" not in loaded and loaded["birthday"] == "1990-02-03"
    pending = Customer(name="x", kind="company", tags=[1, "a"], phones=None, notes=None,
                       consent={}, custom_fields={"k": 2})
    assert _same(pending)["tags"] == ["1", "a"]  # non-text items still go through String


def test_plain_objects_and_unusual_values_dump_as_marshmallow_dumps_them():
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    obj = SimpleNamespace(id=uuid.uuid4(), kind=7, name=None, phone=b"+86", phones=("a", "b"),
                          tags=["x", None], birthday=date(2000, 1, 1), created_at=at,
                          consent=None, custom_fields={"a": [1]}, notes=None, owner_id=None)
    got = _same(obj)
    assert got["kindOf"] == "7" and got["phone"] == "+86" and got["notes"] == ""

    class Slotted:
        __slots__ = ("id", "name", "created_at")

        def __init__(self):
            self.id, self.name, self.created_at = uuid.uuid4(), "s", at

    assert _same(Slotted())["day"] == "2026/01/02"
    assert _same({"name": "mapping", "created_at": at})["name"] == "mapping"
