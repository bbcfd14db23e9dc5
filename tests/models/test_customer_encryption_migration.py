"""Migration 0012_customer_encryption on a database that already holds plaintext
customers: it encrypts them, rewrites their lookups to blind indexes, and the app then
reads and finds them as before. Runs on a private database of the suite's backend."""

from __future__ import annotations

import uuid

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import JSON, Text, Uuid, column, create_engine, select, table, text
from sqlalchemy.engine import make_url

from saas import MIGRATIONS_DIR, create_app
from saas.extensions import db
from tests.conftest import make_config

REVISION = "0012_customer_encryption"
PLAIN = {"phone": "+8613800138000", "email": "ann@tea.example.com",
         "phones": ["+8613800138000", "+8613900139000"], "emails": ["ann@tea.example.com"],
         "wechat_id": "wx_ann_88", "address": "长安街 1 号"}


@pytest.fixture()
def fresh_urls(app, tmp_path):
    url = app.config["DATABASE_URL"]
    if not url.startswith("postgresql"):
        yield {"DATABASE_URL": f"sqlite:///{tmp_path / 'm.sqlite'}", "DATABASE_OWNER_URL": None}
        return
    owner = make_url(app.config.get("DATABASE_OWNER_URL") or url)
    name = f"m11a_{uuid.uuid4().hex[:10]}"
    admin = create_engine(owner.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    yield {"DATABASE_URL": make_url(url).set(database=name).render_as_string(False),
           "DATABASE_OWNER_URL": owner.set(database=name).render_as_string(False)}
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def _heads_before() -> list[str]:
    script = ScriptDirectory(MIGRATIONS_DIR)
    return [h for h in script.get_heads()
            if REVISION not in {r.revision for r in script.iterate_revisions(h, "base")}]


def test_migration_encrypts_existing_customers_and_rewrites_lookups(app, fresh_urls):
    from flask_migrate import upgrade

    from saas.models.customers import Customer, CustomerLookup
    from saas.services import customers as svc
    from saas.services import tenants
    from saas.services.identifiers import lookup_value

    other = create_app(make_config(fresh_urls))
    with other.app_context():
        for head in _heads_before():
            upgrade(revision=head)
        tenant, _owner = tenants.signup(db.session, tenants.SignupData(
            company="Tea Ltd", slug="tea", owner_name="Owner", email="owner@tea.example.com",
            password="a-Long-password-2024"))
        db.session.commit()
        tid, cid = tenant.id, uuid.uuid4()
        owner_url = fresh_urls["DATABASE_OWNER_URL"] or fresh_urls["DATABASE_URL"]
        engine = create_engine(owner_url)
        json_type = JSON()
        customers = table("customers", column("tenant_id", Uuid()), column("id", Uuid()),
                          column("name", Text()), column("kind", Text()),
                          column("phone", Text()), column("email", Text()),
                          column("phones", json_type), column("emails", json_type),
                          column("wechat_id", Text()), column("address", Text()),
                          column("tags", json_type), column("consent", json_type),
                          column("custom_fields", json_type), column("lifecycle_stage", Text()),
                          column("created_at"), column("updated_at"))
        lookups = table("customer_lookups", column("tenant_id", Uuid()), column("id", Uuid()),
                        column("customer_id", Uuid()), column("kind", Text()),
                        column("value", Text()), column("created_at"))
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"),
                             {"t": str(tid)})
            now = text("CURRENT_TIMESTAMP")
            conn.execute(customers.insert().values(
                tenant_id=tid, id=cid, name="Ann", kind="person", tags=[], consent={},
                custom_fields={}, lifecycle_stage="lead", created_at=now, updated_at=now,
                **PLAIN))
            for kind, value in (("phone", "+8613800138000"), ("phone", "+8613900139000"),
                                ("email", "ann@tea.example.com")):
                conn.execute(lookups.insert().values(tenant_id=tid, id=uuid.uuid4(),
                                                     customer_id=cid, kind=kind, value=value,
                                                     created_at=now))
        upgrade(revision="heads")
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"),
                             {"t": str(tid)})
            raw = " ".join(str(v) for t in ("customers", "customer_lookups")
                           for row in conn.execute(text(f"SELECT * FROM {t}"))  # noqa: S608
                           for v in row)
            values = set(conn.execute(text("SELECT value FROM customer_lookups")).scalars())
        engine.dispose()
        for secret in ("13800138000", "13900139000", "tea.example.com", "wx_ann", "长安街"):
            assert secret not in raw
        assert values == {lookup_value(v) for v in ("+8613800138000", "+8613900139000",
                                                    "ann@tea.example.com")}
        from saas.tenancy import bind_tenant

        bind_tenant(db.session, tid)
        customer = db.session.scalars(select(Customer)).one()
        assert {k: getattr(customer, k) for k in PLAIN} == PLAIN
        assert customer.address_index is not None
        assert [c.id for c in svc.find_by_phone(db.session, "139 0013 9000")] == [cid]
        assert [c.id for c in svc.find_by_email(db.session, "ANN@tea.example.com")] == [cid]
        assert db.session.scalar(select(CustomerLookup.customer_id).limit(1)) == cid
        db.session.remove()
        db.engine.dispose()
