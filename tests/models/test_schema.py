"""The schema stays Citus-ready: every key of a tenant table includes `tenant_id`."""

from __future__ import annotations

import pytest

import saas.models  # noqa: F401
from saas.extensions import db
from saas.models.base import is_tenant_table


def _tenant_tables():
    return [t for t in db.metadata.sorted_tables if is_tenant_table(t)]


@pytest.mark.parametrize("table", _tenant_tables(), ids=lambda t: t.name)
def test_tenant_table_keys_include_tenant_id(table):
    assert not table.c.tenant_id.nullable
    assert "tenant_id" in table.primary_key.columns
    for constraint in table.constraints:
        cols = {c.name for c in getattr(constraint, "columns", [])}
        if constraint.__class__.__name__ == "UniqueConstraint":
            assert "tenant_id" in cols, f"{constraint.name} lacks tenant_id"
    for index in table.indexes:
        if index.unique:
            assert "tenant_id" in {c.name for c in index.columns}, index.name
    for fk in table.foreign_key_constraints:
        target = fk.referred_table
        if is_tenant_table(target):
            assert "tenant_id" in fk.column_keys, f"{fk.name} lacks tenant_id"


def test_migrations_match_the_models(app):
    """Autogenerate finds nothing to add: the schema comes only from migrations."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine

    url = app.config.get("DATABASE_OWNER_URL") or app.config["DATABASE_URL"]
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    engine.dispose()
    assert diff == []
