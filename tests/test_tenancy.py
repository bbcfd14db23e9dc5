"""Tenant isolation: the ORM layer everywhere, row-level security on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from saas.extensions import db
from saas.models import AuditEntry, Staff
from saas.models.base import is_tenant_table
from saas.tenancy import TenantMismatch, bind_tenant, tenant_bound


def test_orm_queries_see_only_the_bound_tenant(app, make_tenant):
    a, b = make_tenant("acme"), make_tenant("beta")
    with app.app_context():
        bind_tenant(db.session, a.id)
        emails = db.session.scalars(select(Staff.email)).all()
        assert emails == [a.owner_email]
        bind_tenant(db.session, b.id)
        assert db.session.scalars(select(Staff.email)).all() == [b.owner_email]


def test_no_tenant_bound_means_no_rows(app, make_tenant):
    make_tenant("acme")
    with app.app_context():
        assert db.session.scalars(select(Staff)).all() == []


def test_new_rows_get_the_bound_tenant(app, make_tenant):
    a = make_tenant("acme")
    with app.app_context():
        bind_tenant(db.session, a.id)
        s = Staff(email="x@acme.test", name="X", role="agent")
        db.session.add(s)
        db.session.commit()
        assert s.tenant_id == a.id


def test_writing_a_row_of_another_tenant_is_refused(app, make_tenant):
    a, b = make_tenant("acme"), make_tenant("beta")
    with app.app_context():
        bind_tenant(db.session, a.id)
        db.session.add(Staff(tenant_id=b.id, email="x@b.test", name="X", role="agent"))
        with pytest.raises(TenantMismatch):
            db.session.flush()


def test_saving_without_a_tenant_is_refused(app):
    with app.app_context():
        db.session.add(Staff(email="x@b.test", name="X", role="agent"))
        with pytest.raises(TenantMismatch):
            db.session.flush()


@pytest.mark.postgres
def test_raw_select_without_where_returns_only_current_tenant_rows(app, make_tenant):
    a, _b = make_tenant("acme"), make_tenant("beta")
    with app.app_context():
        bind_tenant(db.session, a.id)
        rows = db.session.execute(text("SELECT email FROM staff")).scalars().all()
        assert rows == [a.owner_email]
        audit_tenants = set(db.session.execute(
            text("SELECT tenant_id FROM audit_entries")).scalars())
        assert audit_tenants == {a.id}


@pytest.mark.postgres
def test_raw_select_with_no_tenant_set_returns_nothing(app, make_tenant):
    make_tenant("acme")
    with app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM staff")).scalar() == 0


@pytest.mark.postgres
def test_raw_insert_into_another_tenant_is_rejected_by_rls(app, make_tenant):
    from sqlalchemy.exc import ProgrammingError

    a, b = make_tenant("acme"), make_tenant("beta")
    with app.app_context():
        bind_tenant(db.session, a.id)
        with pytest.raises(ProgrammingError, match="row-level security"):
            db.session.execute(text(
                "INSERT INTO staff (tenant_id, id, email, name, role, active, created_at) "
                "VALUES (:t, gen_random_uuid(), 'evil@x.test', 'E', 'owner', true, now())"),
                {"t": b.id})
        db.session.rollback()


@pytest.mark.postgres
def test_tenant_setting_does_not_survive_on_a_pooled_connection(app, make_tenant):
    """SET LOCAL semantics: after commit the next transaction on the same connection
    starts with no tenant unless the session binds one again."""
    a = make_tenant("acme")
    with app.app_context():
        engine = db.engine
        with engine.connect() as conn:
            conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(a.id)})
            assert conn.execute(text("SELECT count(*) FROM staff")).scalar() == 1
            conn.commit()
            assert conn.execute(text("SELECT count(*) FROM staff")).scalar() == 0


@pytest.mark.postgres
def test_app_connects_as_a_role_that_cannot_bypass_rls(app):
    with app.app_context():
        row = db.session.execute(text(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")).one()
        assert row == (False, False)
        owners = db.session.execute(text(
            "SELECT count(*) FROM pg_tables WHERE schemaname='public' "
            "AND tableowner = current_user")).scalar()
        assert owners == 0


@pytest.mark.postgres
def test_every_tenant_table_forces_row_level_security(app):
    with app.app_context():
        rows = dict(db.session.execute(text(
            "SELECT relname, relrowsecurity AND relforcerowsecurity FROM pg_class "
            "WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace")).all())
    for table in db.metadata.sorted_tables:
        if is_tenant_table(table):
            assert rows.get(table.name) is True, f"{table.name} lacks FORCE RLS"


def test_tenant_bound_restores_the_previous_binding(app, make_tenant):
    a, b = make_tenant("acme"), make_tenant("beta")
    with app.app_context():
        bind_tenant(db.session, a.id)
        with tenant_bound(db.session, b.id):
            assert db.session.scalars(select(AuditEntry.tenant_id)).first() == b.id
        assert db.session.scalars(select(AuditEntry.tenant_id)).first() == a.id
