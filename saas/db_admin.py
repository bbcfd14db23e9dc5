"""Database administration used by migrations: row-level security and the app role.

Migrations run as the tables' owner; the app connects as a plain role (the user of
`DATABASE_URL`) that owns nothing, so `FORCE ROW LEVEL SECURITY` binds it.
"""

from __future__ import annotations

from sqlalchemy.engine import make_url

POLICY = "tenant_isolation"
TENANT_EXPR = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"


def app_role(app_url: str, owner_url: str | None) -> str | None:
    """The role to grant to: the app's user, when it differs from the owner's."""
    if not owner_url:
        return None
    app_user = make_url(app_url).username
    owner_user = make_url(owner_url).username
    return app_user if app_user and app_user != owner_user else None


def _is_pg(op) -> bool:
    return op.get_bind().dialect.name == "postgresql"


def enable_tenant_rls(op, table: str) -> None:
    """Fail-closed isolation of one tenant table: no tenant set, no rows."""
    if not _is_pg(op):
        return
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
    op.execute(f"CREATE POLICY {POLICY} ON {table} USING (tenant_id = {TENANT_EXPR}) "
               f"WITH CHECK (tenant_id = {TENANT_EXPR})")


def grant_app_role(op) -> None:
    """Give the app role data access (never ownership) to every table, now and later."""
    if not _is_pg(op):
        return
    from flask import current_app

    role = app_role(current_app.config["DATABASE_URL"],
                    current_app.config.get("DATABASE_OWNER_URL"))
    if not role:
        return
    quoted = '"' + role.replace('"', '""') + '"'
    op.execute(f"GRANT USAGE ON SCHEMA public TO {quoted}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public "
               f"TO {quoted}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, "
               f"DELETE ON TABLES TO {quoted}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES "
               f"TO {quoted}")
