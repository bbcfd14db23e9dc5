"""Every route that takes an id answers 404 when the id belongs to another tenant.

The routes come from the live URL map, so a new page or endpoint is covered the day it is
added. Tenant B is filled by the demo generators (customers, orders, tiers, points...);
tenant A's owner — who may do anything in A — then asks for B's records by id through
every web page and API endpoint, reading and writing.
"""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import func, select, text

from saas import demo
from saas.extensions import db
from saas.models import AuditEntry, OutboxEvent
from saas.models.base import is_tenant_table
from saas.tenancy import bind_tenant
from tests.api.conftest import issue_token
from tests.web.helpers import login

ALIASES = {"token": "api_tokens", "field": "custom_field_definitions", "view": "saved_views",
           "event": "outbox_events", "entry": "audit_entries", "import": "import_jobs",
           "level": "membership_levels", "plan": "visit_plans", "task": "visit_tasks"}
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def _table_for(param: str, tables: dict[str, object], path: str = "") -> str | None:
    """The table an id parameter points into: `customer_id` → customers,
    `delivery_id` → plugin_deliveries (a table named `<area>_<plural>`, the area taken
    from the route's path when several tables would fit)."""
    stem = param[:-3] if param.endswith("_id") else param
    candidates = [n for n in (ALIASES.get(stem), stem, f"{stem}s", f"{stem}es",
                              f"{stem[:-1]}ies") if n]
    for name in candidates:
        if name in tables:
            return name
    for name in candidates:
        suffixed = sorted(t for t in tables if t.endswith(f"_{name}"))
        if len(suffixed) > 1:
            suffixed = [t for t in suffixed if f"/{t.split('_')[0]}" in path]
        if len(suffixed) == 1:
            return suffixed[0]
    return None


def _id_routes(app, prefix: str):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(prefix):
            continue
        params = set(rule.arguments) - {"slug"}
        if not params or not all(p.endswith("_id") or p == "id" for p in params):
            continue
        yield rule


def _ids_of(tenant_id) -> dict[str, uuid.UUID]:
    bind_tenant(db.session, tenant_id)
    found = {}
    for table in db.metadata.sorted_tables:
        if is_tenant_table(table) and "id" in table.c:
            value = db.session.execute(
                select(table.c.id).where(table.c.tenant_id == tenant_id).limit(1)).scalar()
            if value is not None:
                found[table.name] = value
    return found


def _footprint(tenant_id) -> tuple[int, int]:
    bind_tenant(db.session, tenant_id)
    audits = db.session.scalar(select(func.count()).select_from(AuditEntry))
    events = db.session.scalar(select(func.count()).select_from(OutboxEvent))
    db.session.rollback()
    return audits, events


@pytest.fixture
def two_tenants(app, make_tenant):
    attacker = make_tenant("attacker")
    with app.app_context():
        result = demo.run(db.session, slug="victim", size=6)
        victim_id = result.tenant.id
        ids = _ids_of(victim_id)
        before = _footprint(victim_id)
        db.session.remove()
    return attacker, victim_id, ids, before


def _url(rule, ids, tables, slug: str | None) -> str:
    values = {}
    for param in rule.arguments:
        if param == "slug":
            values[param] = slug
            continue
        table = _table_for(param, tables, rule.rule)
        values[param] = str(ids.get(table) or uuid.UUID(int=0x1234))
    url = rule.rule
    for name, value in values.items():
        url = re.sub(rf"<(?:[^:<>]+:)?{name}>", value, url)
    return url


def _check(open_, rules, ids, tables, slug, json: bool):
    problems = []
    for rule in rules:
        url = _url(rule, ids, tables, slug)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            kwargs = {"json": {}} if json and method in WRITE_METHODS else {}
            status = open_(method, url, **kwargs).status_code
            allowed = {404} if method == "GET" else {400, 404, 409, 422}
            if status not in allowed:
                problems.append(f"{method} {url} ({rule.endpoint}) -> {status}")
    return problems


def test_another_tenants_ids_are_not_found_on_any_web_page(app, client, two_tenants):
    attacker, victim_id, ids, before = two_tenants
    tables = {t.name: t for t in db.metadata.sorted_tables}
    rules = list(_id_routes(app, "/t/<slug>/"))
    assert len(rules) > 10
    login(client, attacker)
    problems = _check(lambda m, u, **kw: client.open(u, method=m, **kw), rules, ids, tables,
                      attacker.slug, json=False)
    assert problems == []
    with app.app_context():
        assert _footprint(victim_id) == before


def test_another_tenants_ids_are_not_found_on_any_api_endpoint(app, client, two_tenants):
    attacker, victim_id, ids, before = two_tenants
    tables = {t.name: t for t in db.metadata.sorted_tables}
    rules = list(_id_routes(app, "/api/v1/"))
    assert len(rules) > 10
    with app.app_context():
        _token_id, raw = issue_token(attacker, attacker.owner_id, scope="write")
    headers = {"Authorization": f"Bearer {raw}"}
    problems = _check(lambda m, u, **kw: client.open(u, method=m, headers=headers, **kw),
                      rules, ids, tables, None, json=True)
    assert problems == []
    with app.app_context():
        assert _footprint(victim_id) == before


def test_every_id_parameter_maps_to_a_table(app):
    """A new kind of id must be taught to this sweep (ALIASES), not silently guessed."""
    tables = {t.name: t for t in db.metadata.sorted_tables}
    unmapped = sorted({f"{p} in {r.rule}" for prefix in ("/t/<slug>/", "/api/v1/")
                       for r in _id_routes(app, prefix) for p in set(r.arguments) - {"slug"}
                       if _table_for(p, tables, r.rule) is None})
    assert unmapped == []


def test_victim_data_exists_so_the_sweep_means_something(two_tenants):
    _attacker, _victim_id, ids, _before = two_tenants
    for table in ("customers", "orders", "staff", "interactions"):
        assert table in ids, f"the demo gave tenant B no {table}"


@pytest.mark.postgres
def test_rls_hides_the_victims_rows_from_the_attackers_transaction(app, two_tenants):
    attacker, victim_id, ids, _before = two_tenants
    with app.app_context():
        bind_tenant(db.session, attacker.id)
        for table in ids:
            count = db.session.execute(
                text(f"SELECT count(*) FROM {table} WHERE tenant_id = :t"),  # noqa: S608
                {"t": victim_id}).scalar()
            assert count == 0, table
