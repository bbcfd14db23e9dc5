"""Custom fields the admin marks sensitive (issue 11): their values are encrypted at rest
in one column, found by exact value through blind indexes, moved by an idempotent job
when the flag changes, and every reader and writer of `custom_fields` still sees the
plain merged values."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from sqlalchemy import select, text

from saas.extensions import db
from saas.jobs.sensitive_fields import move_values
from saas.models import AuditEntry
from saas.models.customers import Customer, CustomFieldDefinition
from saas.services import (
    custom_fields,
    customer_list,
    exports,
    imports,
    merge,
    segments,
    subject_requests,
    tiers,
)
from saas.services import customers as svc
from saas.services.errors import Conflict, InvalidInput, NotFound

ID_CARD = "110101199003077777"
OTHER_CARD = "310101198001011234"


@pytest.fixture()
def world(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        custom_fields.create_definition(db.session, actor, "id_card", "ID card", "text",
                                        sensitive=True)
        custom_fields.create_definition(db.session, actor, "region", "Region", "text")
        db.session.commit()
        yield tenant, actor
        db.session.rollback()
        db.session.remove()


def _make(actor, name, **cf):
    customer = svc.create_customer(db.session, actor, {"name": name, "custom_fields": cf})
    db.session.commit()
    return customer


def _raw(table: str = "customers") -> str:
    rows = db.session.execute(text(f"SELECT * FROM {table}")).all()  # noqa: S608
    return " ".join(str(v) for row in rows for v in row)


def _names(**filters) -> list[str]:
    query = customer_list.parse_filters(db.session, filters)
    return sorted(c.name for c in db.session.scalars(customer_list.filtered(db.session,
                                                                             query)))


def _definition(key: str) -> CustomFieldDefinition:
    return db.session.scalars(select(CustomFieldDefinition).where(
        CustomFieldDefinition.key == key)).one()


def test_sensitive_value_is_encrypted_but_callers_see_the_merged_values(world):
    _t, actor = world
    ann = _make(actor, "Ann", id_card=ID_CARD, region="north")
    assert ID_CARD not in _raw() and "north" in _raw()
    stored = db.session.execute(text(
        "SELECT custom_fields, sensitive_fields, sensitive_index FROM customers")).one()
    plain = stored[0] if isinstance(stored[0], dict) else json.loads(stored[0])
    assert plain == {"region": "north"}
    assert stored[1].startswith("gAAAAA"), "one Fernet token"
    db.session.expire_all()
    again = svc.get_customer(db.session, ann.id)
    assert again.custom_fields == {"id_card": ID_CARD, "region": "north"}
    assert again.plain_custom_fields == {"region": "north"}


def test_update_changes_and_clears_a_sensitive_value(world):
    _t, actor = world
    ann = _make(actor, "Ann", id_card=ID_CARD)
    svc.update_customer(db.session, actor, ann.id, {"custom_fields": {"id_card": OTHER_CARD,
                                                                      "region": "west"}})
    db.session.commit()
    assert _names(**{"cf.id_card": OTHER_CARD}) == ["Ann"]
    assert _names(**{"cf.id_card": ID_CARD}) == []
    svc.update_customer(db.session, actor, ann.id, {"custom_fields": {"id_card": None}})
    db.session.commit()
    db.session.expire_all()
    assert svc.get_customer(db.session, ann.id).custom_fields == {"region": "west"}
    assert db.session.execute(text(
        "SELECT sensitive_fields, sensitive_index FROM customers")).one() == (None, None)
    assert _names(**{"cf.id_card": OTHER_CARD}) == []


def test_exact_value_filter_goes_through_the_blind_index(world):
    _t, actor = world
    _make(actor, "Ann", id_card=ID_CARD)
    _make(actor, "Bo", id_card=OTHER_CARD)
    _make(actor, "Cy")
    assert _names(**{"cf.id_card": f"  {ID_CARD} "}) == ["Ann"], "values are trimmed"
    assert _names(**{"cf.id_card": ID_CARD[:8]}) == [], "no substring search"
    index = db.session.scalar(select(Customer.sensitive_index).where(Customer.name == "Ann"))
    assert len(index) == 1 and ID_CARD not in index[0]


def test_sensitive_multi_choice_and_number_filters_match_exactly(world):
    _t, actor = world
    custom_fields.create_definition(db.session, actor, "allergies", "Allergies",
                                    "multi_choice", choices=["nuts", "milk", "egg"],
                                    sensitive=True)
    custom_fields.create_definition(db.session, actor, "income", "Income", "number",
                                    sensitive=True)
    db.session.commit()
    _make(actor, "Ann", allergies=["nuts", "milk"], income=5000)
    _make(actor, "Bo", allergies=["egg"], income="5,000.0")
    assert _names(**{"cf.allergies": "milk"}) == ["Ann"]
    assert _names(**{"cf.allergies": "nuts|milk"}) == ["Ann"]
    assert _names(**{"cf.income": "5000"}) == ["Ann", "Bo"]
    assert "nuts" not in _raw() and "5000" not in _raw()


def test_database_holds_no_plaintext_after_import_export_and_merge(world):
    _t, actor = world
    job = imports.upload(db.session, actor, "customers", "c.csv", io.BytesIO(
        f"name,ID card,Region\nAnn,{ID_CARD},north\nBo,{OTHER_CARD},south\n".encode()))
    db.session.commit()
    for _ in imports.process(db.session, actor, job.id):
        db.session.commit()
    job = imports.get_job(db.session, job.id)
    assert (job.created_count, job.error_count) == (2, 0)
    for secret in (ID_CARD, OTHER_CARD):
        assert secret not in _raw()
    assert _names(**{"cf.id_card": OTHER_CARD}) == ["Bo"]
    header, body = exports.rows(db.session, {"sort": "name"})
    exported = [dict(zip(header, row, strict=True)) for row in body]
    assert [r["cf.id_card"] for r in exported] == [ID_CARD, OTHER_CARD]
    ann, bo = (db.session.scalars(select(Customer).where(Customer.name == n)).one()
               for n in ("Ann", "Bo"))
    merge.merge_customers(db.session, actor, ann.id, bo.id, {"custom_fields.id_card": "merged"})
    db.session.commit()
    db.session.expire_all()
    assert svc.get_customer(db.session, ann.id).custom_fields == {"id_card": OTHER_CARD,
                                                                  "region": "north"}
    assert _names(**{"cf.id_card": OTHER_CARD}) == ["Ann"], "merged rows are hidden"
    assert OTHER_CARD not in _raw()


def test_subject_export_shows_the_value_and_erasure_removes_it(world):
    _t, actor = world
    ann = _make(actor, "Ann", id_card=ID_CARD)
    archive = zipfile.ZipFile(io.BytesIO(subject_requests.export_customer(
        db.session, actor, ann.id)))
    [profile] = json.loads(archive.read("everything.json"))["tables"]["customers"]
    assert profile["custom_fields"] == {"id_card": ID_CARD}
    assert "sensitive_index" not in profile and "sensitive_fields" not in profile
    subject_requests.erase_customer(db.session, actor, ann.id, reason="asked")
    db.session.commit()
    assert db.session.execute(text(
        "SELECT sensitive_fields, sensitive_index FROM customers")).one() == (None, None)
    assert _names(**{"cf.id_card": ID_CARD}) == []


def test_marking_a_field_sensitive_moves_existing_values_and_back(world):
    _t, actor = world
    region = _definition("region")
    for i in range(7):
        _make(actor, f"C{i}", region=f"region-{i}-x")
    custom_fields.update_definition(db.session, actor, region.id, sensitive=True)
    db.session.commit()          # the job runs inline after the commit
    db.session.expire_all()
    assert _definition("region").sensitive_state == "encrypted"
    assert not any(f"region-{i}-x" in _raw() for i in range(7))
    assert _names(**{"cf.region": "region-3-x"}) == ["C3"]
    assert {c.custom_fields["region"] for c in db.session.scalars(select(Customer))} == {
        f"region-{i}-x" for i in range(7)}
    custom_fields.update_definition(db.session, actor, region.id, sensitive=False)
    db.session.commit()
    db.session.expire_all()
    assert _definition("region").sensitive_state == "plain"
    assert all(f"region-{i}-x" in _raw() for i in range(7))
    assert db.session.scalar(select(Customer.id).where(
        Customer.sensitive_fields.is_not(None))) is None
    assert _names(**{"cf.region": "region-3-x"}) == ["C3"]
    actions = list(db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.entity_type == "custom_field").order_by(AuditEntry.created_at)))
    assert actions.count("custom_field.updated") == 2
    assert actions.count("custom_field.values_moved") == 2


def test_a_crash_midway_loses_nothing_and_a_second_run_changes_nothing(app, world):
    tenant, actor = world
    region = _definition("region")
    for i in range(5):
        _make(actor, f"C{i}", region=f"region-{i}-x")
    region.sensitive, region.sensitive_state = True, "encrypting"  # flag set, job not run
    db.session.commit()
    moved, after = custom_fields.move_batch(db.session, region.id, limit=2)
    db.session.commit()          # one batch done, then the worker dies
    assert moved == 2 and after is not None
    custom_fields.move_batch(db.session, region.id, after, limit=2)
    db.session.rollback()        # killed inside the second batch: rolled back
    db.session.expire_all()
    assert {c.custom_fields["region"] for c in db.session.scalars(select(Customer))} == {
        f"region-{i}-x" for i in range(5)}, "half-moved: every value readable once"
    assert _names(**{"cf.region": "region-0-x"}) == ["C0"], "moved: via the blind index"
    assert _names(**{"cf.region": "region-4-x"}) == ["C4"], "not yet moved: plain JSON"
    assert move_values(str(tenant.id), str(region.id)) == {"moved": 3, "state": "encrypted"}
    assert move_values(str(tenant.id), str(region.id)) == {"moved": 0, "state": "encrypted"}
    db.session.expire_all()
    rows = db.session.execute(select(Customer.plain_custom_fields, Customer.sensitive_fields)
                              ).all()
    assert all("region" not in plain for plain, _s in rows)
    assert sorted(s["region"] for _p, s in rows) == [f"region-{i}-x" for i in range(5)]
    assert not any(f"region-{i}-x" in _raw() for i in range(5))


def test_a_customer_written_during_the_move_keeps_its_new_value(world):
    _t, actor = world
    region = _definition("region")
    ann = _make(actor, "Ann", region="old")
    region.sensitive, region.sensitive_state = True, "encrypting"
    db.session.commit()
    svc.update_customer(db.session, actor, ann.id, {"custom_fields": {"region": "new"}})
    db.session.commit()          # written while the flag is on: stored encrypted at once
    assert "new" not in _raw() and "old" not in _raw()
    assert custom_fields.move_batch(db.session, region.id) == (0, None)
    db.session.expire_all()
    assert svc.get_customer(db.session, ann.id).custom_fields == {"region": "new"}


def test_a_field_used_by_a_segment_cannot_be_marked_sensitive(world):
    _t, actor = world
    segments.create_segment(db.session, actor, {"name": "North", "rule": {
        "all": [{"custom_field": "region", "op": "=", "value": "north"}]}})
    db.session.commit()
    with pytest.raises(Conflict) as exc:
        custom_fields.update_definition(db.session, actor, _definition("region").id,
                                        sensitive=True)
    assert exc.value.errors == {"sensitive": ["Used in segment 'North'."]}
    db.session.rollback()
    assert _definition("region").sensitive is False


@pytest.mark.parametrize("op, value", [("=", ID_CARD), (">", "1"), ("in", [ID_CARD])])
def test_rules_cannot_read_a_sensitive_field(world, op, value):
    _t, actor = world
    rule = {"all": [{"custom_field": "id_card", "op": op, "value": value}]}
    with pytest.raises(InvalidInput) as exc:
        segments.create_segment(db.session, actor, {"name": "Cards", "rule": rule})
    [message] = exc.value.errors["rule.all.0.custom_field"]
    assert "sensitive" in message and "id_card" in message
    db.session.rollback()
    with pytest.raises(InvalidInput):
        tiers.save_tiers(db.session, actor, [{"name": "Card", "rule": rule}])


def test_deleting_a_sensitive_field_removes_its_encrypted_values(world):
    _t, actor = world
    ann = _make(actor, "Ann", id_card=ID_CARD, region="north")
    custom_fields.delete_definition(db.session, actor, _definition("id_card").id)
    db.session.commit()
    db.session.expire_all()
    assert svc.get_customer(db.session, ann.id).custom_fields == {"region": "north"}
    assert db.session.execute(text(
        "SELECT sensitive_fields, sensitive_index FROM customers")).one() == (None, None)


def test_another_tenants_field_is_not_found(app, world, make_tenant):
    other = make_tenant(slug="other-co")
    with app.app_context():
        other.bind()
        theirs = custom_fields.create_definition(db.session, other.owner_actor(), "secret",
                                                 "Secret", "text")
        db.session.commit()
        theirs_id = theirs.id
        db.session.remove()
    _t, actor = world
    with pytest.raises(NotFound):
        custom_fields.update_definition(db.session, actor, theirs_id, sensitive=True)
    with pytest.raises(NotFound):
        custom_fields.move_batch(db.session, theirs_id)


def test_giving_the_same_flag_again_resumes_an_unfinished_move(world):
    _t, actor = world
    region = _definition("region")
    _make(actor, "Ann", region="region-a-x")
    region.sensitive, region.sensitive_state = True, "encrypting"  # the job never ran
    db.session.commit()
    assert "region-a-x" in _raw()
    custom_fields.update_definition(db.session, actor, region.id, sensitive=True)
    db.session.commit()
    db.session.expire_all()
    assert _definition("region").sensitive_state == "encrypted"
    assert "region-a-x" not in _raw()
    assert db.session.scalar(select(AuditEntry.id).where(
        AuditEntry.action == "custom_field.updated")) is None, "no change, no entry"
