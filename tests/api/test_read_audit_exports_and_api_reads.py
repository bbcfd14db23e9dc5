"""Read audit of list exports and API reads (issue 11): a list export remembers which
customers it contained (one audit entry plus one narrow row per customer, written by the
database), so "who saw this customer" shows it for those customers only; an API read of
one customer's profile or timeline is `customer.viewed` with source "api", at most once
per staff member, customer and hour."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from saas.extensions import db
from saas.models import AuditEntry
from saas.models.base import utcnow
from saas.models.read_audit import ReadAuditExport
from saas.services import customers as customer_service


def _customers(app, tenant, *names: str, owner_id=None) -> dict[str, str]:
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        ids = {name: str(customer_service.create_customer(db.session, actor, {
            "name": name, "tags": ["tea" if name.startswith("Tea") else "other"],
            **({"owner_id": str(owner_id)} if owner_id else {})}).id) for name in names}
        db.session.commit()
        db.session.remove()
    return ids


def _log(client, cid: str, days: int = 90) -> list[tuple[str, dict]]:
    resp = client.get(f"/api/v1/privacy/customers/{cid}/access-log?days={days}")
    assert resp.status_code == 200, resp.get_json()
    return [(e["action"], e["details"]) for e in resp.get_json()]


def test_a_list_export_shows_in_the_access_log_of_each_customer_it_contained(app,
                                                                             api_client):
    owner = api_client("owner")
    ids = _customers(app, owner.tenant, "Tea Ann", "Tea Bo", "Cy")
    resp = owner.get("/api/v1/exports/customers?tags=tea&format=csv")
    assert resp.status_code == 200 and resp.data.count(b"Tea ") == 2
    for name in ("Tea Ann", "Tea Bo"):
        [(action, details)] = _log(owner, ids[name])
        assert action == "customers.exported"
        assert details["filters"] == {"tags": ["tea"]} and details["customers"] == 2
    assert _log(owner, ids["Cy"]) == []
    with app.app_context():
        owner.tenant.bind()
        assert db.session.scalar(select(func.count()).select_from(ReadAuditExport)) == 2
        db.session.remove()


def test_a_list_export_records_only_the_customers_of_the_exporters_row_scope(app,
                                                                            api_client):
    owner = api_client("owner")
    agent = api_client("agent", tenant=owner.tenant)
    mine = _customers(app, owner.tenant, "Tea Mine", owner_id=agent.staff_id)
    theirs = _customers(app, owner.tenant, "Tea Theirs", owner_id=owner.staff_id)
    assert owner.put("/api/v1/privacy/row-scopes",
                     json={"role": "agent", "scope": "own"}).status_code == 200
    resp = agent.get("/api/v1/exports/customers?tags=tea")
    assert resp.status_code == 200 and b"Tea Theirs" not in resp.data
    assert [a for a, _d in _log(owner, mine["Tea Mine"])] == ["customers.exported"]
    assert _log(owner, theirs["Tea Theirs"]) == []


def test_an_export_of_another_tenant_is_not_in_this_tenants_access_log(app, api_client):
    owner = api_client("owner")
    other = api_client("owner")
    ids = _customers(app, owner.tenant, "Tea Ann")
    _customers(app, other.tenant, "Tea Zed")
    assert other.get("/api/v1/exports/customers?tags=tea").status_code == 200
    assert _log(owner, ids["Tea Ann"]) == []
    assert other.get(f"/api/v1/privacy/customers/{ids['Tea Ann']}/access-log") \
        .status_code == 404


def test_a_bad_export_filter_is_422_and_records_nothing(app, api_client):
    owner = api_client("owner")
    ids = _customers(app, owner.tenant, "Tea Ann")
    assert owner.get("/api/v1/exports/customers?format=pdf").status_code == 422
    assert owner.get("/api/v1/exports/customers?nonsense=1").status_code == 422
    assert _log(owner, ids["Tea Ann"]) == []


def test_api_reads_of_one_customer_are_logged_once_per_staff_customer_and_hour(app,
                                                                              api_client):
    owner = api_client("owner")
    agent = api_client("agent", tenant=owner.tenant)
    ids = _customers(app, owner.tenant, "Ann", "Bo")
    ann = ids["Ann"]
    for _ in range(3):
        assert agent.get(f"/api/v1/customers/{ann}").status_code == 200
        assert agent.get(f"/api/v1/customers/{ann}/timeline").status_code == 200
    assert owner.get(f"/api/v1/customers/{ann}").status_code == 200
    log = owner.get(f"/api/v1/privacy/customers/{ann}/access-log").get_json()
    assert sorted((e["actor_id"], e["details"]["source"]) for e in log) == sorted(
        [(str(agent.staff_id), "api"), (str(owner.staff_id), "api")])
    assert {e["details"]["where"] for e in log} == {"profile"}
    assert _log(owner, ids["Bo"]) == []
    with app.app_context():
        owner.tenant.bind()
        for entry in db.session.scalars(select(AuditEntry).where(
                AuditEntry.action == "customer.viewed")):
            entry.created_at = utcnow() - timedelta(minutes=61)
        db.session.commit()
        db.session.remove()
    assert agent.get(f"/api/v1/customers/{ann}/timeline").status_code == 200
    wheres = [d["where"] for a, d in _log(owner, ann) if a == "customer.viewed"]
    assert wheres == ["timeline", "profile", "profile"]


def test_reads_that_fail_are_not_logged(app, api_client):
    owner = api_client("owner")
    stranger = api_client("owner")
    agent = api_client("agent", tenant=owner.tenant)
    ann = _customers(app, owner.tenant, "Ann", owner_id=owner.staff_id)["Ann"]
    assert stranger.get(f"/api/v1/customers/{ann}").status_code == 404
    assert stranger.get(f"/api/v1/customers/{ann}/timeline").status_code == 404
    assert owner.put("/api/v1/privacy/row-scopes",
                     json={"role": "agent", "scope": "own"}).status_code == 200
    assert agent.get(f"/api/v1/customers/{ann}").status_code == 404
    assert _log(owner, ann) == []
    assert agent.get(f"/api/v1/privacy/customers/{ann}/access-log").status_code == 403
