"""Templates saved with customer variables follow the author's field permissions.

A manager whose role sees a field hidden or masked cannot save a campaign variant (body
or subject) or a care rule that reads it: 403 naming the variable under the variant's
key. With the field visible (level "read") the same request succeeds, and the owner —
never limited — is the control, so every assertion can fail.
"""

from __future__ import annotations

import pytest

from saas.extensions import db
from saas.services import custom_fields
from saas.services import customers as customer_service
from tests.hooks.support import GOOD_SETTINGS, EchoPlugin, configure, registered

# (field key, template variable as written, name in the 403)
FIELDS = [
    ("phones", "{{ customer.phone }}", "customer.phone"),
    ("emails", "{{ customer['email'] }}", "customer.email"),
    ("category", "{{ customer.category }}", "customer.category"),
    ("cf.level", "{{ customer.custom_fields.get('level') }}", "customer.cf.level"),
]
LEVELS = ["hidden", "masked", "read"]


@pytest.fixture
def world(app, api_client):
    owner = api_client("owner")
    with registered(app, EchoPlugin(), "echo"):
        configure(app, owner.tenant, "echo", GOOD_SETTINGS)
        with app.app_context():
            owner.tenant.bind()
            actor = owner.tenant.owner_actor()
            custom_fields.create_definition(db.session, actor, "level", "Level", "text")
            customer_service.create_customer(db.session, actor, {"name": "C", "tags": ["v"]})
            db.session.commit()
            db.session.remove()
        seg = owner.post("/api/v1/segments", json={"name": "V",
                                                   "rule": {"all": [{"tag": "v"}]}})
        assert seg.status_code == 201, seg.get_json()
        owner.segment_id = seg.get_json()["id"]
        yield owner, api_client("manager", tenant=owner.tenant)


def _restrict(owner, field: str, level: str) -> None:
    if level == "masked" and field in ("category",):
        level = "hidden"  # not maskable: hidden is its only restriction
    resp = owner.put("/api/v1/privacy/field-permissions", json={
        "changes": [{"role": "manager", "field": field, "level": level}]})
    assert resp.status_code == 200, resp.get_json()


def _campaign(owner, body: str, subject: str | None = None) -> dict:
    return {"name": "Spring", "segment_id": owner.segment_id, "channel": "echo",
            "variants": [{"name": "A", "body": "Hi {{ customer.name }}", "split_percent": 50},
                         {"name": "B", "body": body, "subject": subject,
                          "split_percent": 50}]}


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("field, variable, name", FIELDS, ids=[f[0] for f in FIELDS])
def test_campaign_variants_may_only_read_fields_the_author_sees(world, field, variable,
                                                                name, level):
    owner, manager = world
    _restrict(owner, field, level)
    body = _campaign(owner, f"Dear {variable}")
    subject = _campaign(owner, "Hello", subject=f"For {variable}")
    if level == "read":
        assert manager.post("/api/v1/campaigns", json=body).status_code == 201
        assert manager.post("/api/v1/campaigns", json=subject).status_code == 201
    else:
        for data, key in ((body, "variants.1.body"), (subject, "variants.1.subject")):
            resp = manager.post("/api/v1/campaigns", json=data)
            assert resp.status_code == 403, resp.get_json()
            assert name in resp.get_json()["errors"][key][0]
        assert manager.get("/api/v1/campaigns").get_json()["items"] == []
    assert owner.post("/api/v1/campaigns", json=body).status_code == 201


@pytest.mark.parametrize("level", ["hidden", "read"])
def test_editing_a_campaign_checks_the_new_variants(world, level):
    owner, manager = world
    _restrict(owner, "phones", level)
    made = manager.post("/api/v1/campaigns", json=_campaign(owner, "Hi"))
    assert made.status_code == 201, made.get_json()
    cid = made.get_json()["id"]
    change = {"variants": _campaign(owner, "Call {{ customer.phone }}")["variants"]}
    resp = manager.patch(f"/api/v1/campaigns/{cid}", json=change)
    if level == "read":
        assert resp.status_code == 200, resp.get_json()
    else:
        assert resp.status_code == 403
        assert "customer.phone" in resp.get_json()["errors"]["variants.1.body"][0]
        saved = manager.get(f"/api/v1/campaigns/{cid}").get_json()["variants"]
        assert [v["body"] for v in saved] == ["Hi {{ customer.name }}", "Hi"]
        assert manager.patch(f"/api/v1/campaigns/{cid}",
                             json={"name": "Renamed"}).status_code == 200
    assert owner.patch(f"/api/v1/campaigns/{cid}", json=change).status_code == 200


def test_whole_customer_in_a_template_is_refused_once_anything_is_restricted(world):
    owner, manager = world
    data = _campaign(owner, "{{ customer }}")
    assert manager.post("/api/v1/campaigns", json=data).status_code == 201
    _restrict(owner, "notes", "hidden")
    resp = manager.post("/api/v1/campaigns", json=data)
    assert resp.status_code == 403
    assert "customer" in resp.get_json()["errors"]["variants.1.body"][0]


@pytest.mark.parametrize("source, name", [
    ("{{ customer.get('phone') }}", "customer.phone"),
    ("{{ customer.get('custom_fields').get('level') }}", "customer.cf.level"),
    ("{% for k, v in customer.items() %}{{ v }}{% endfor %}", "customer"),
    ("{{ customer.custom_fields|tojson }}", "customer.cf.*"),
])
def test_reading_through_mapping_methods_and_filters_is_refused_too(world, source, name):
    owner, manager = world
    data = _campaign(owner, source)
    assert manager.post("/api/v1/campaigns", json=data).status_code == 201
    _restrict(owner, "phones", "hidden")
    _restrict(owner, "cf.level", "masked")
    resp = manager.post("/api/v1/campaigns", json=data)
    assert resp.status_code == 403, resp.get_json()
    assert f"{name}." in resp.get_json()["errors"]["variants.1.body"][0]


@pytest.mark.parametrize("level", ["hidden", "read"])
def test_care_rules_may_only_read_order_amounts_the_author_sees(world, level):
    owner, manager = world
    _restrict(owner, "order_amounts", level)
    rule = {"name": "Thanks", "kind": "post_purchase", "channel": "email",
            "subject": "Order {{ order_number }}", "template": "You paid {{ order_total }}",
            "days_after": 1}
    resp = manager.post("/api/v1/care/rules", json=rule)
    if level == "read":
        assert resp.status_code == 201, resp.get_json()
    else:
        assert resp.status_code == 403, resp.get_json()
        assert "order_total" in resp.get_json()["errors"]["template"][0]
        plain = manager.post("/api/v1/care/rules", json={**rule, "template": "Thanks"})
        assert plain.status_code == 201
        rid = plain.get_json()["id"]
        subject = manager.patch(f"/api/v1/care/rules/{rid}",
                                json={"subject": "{{ order_total }} paid"})
        assert subject.status_code == 403
        assert "order_total" in subject.get_json()["errors"]["subject"][0]
    assert owner.post("/api/v1/care/rules", json={**rule, "name": "Owner's"}
                      ).status_code == 201
