"""Let row-level security keep search indexes usable: mark LIKE/ILIKE and jsonb @> LEAKPROOF.

Under RLS, PostgreSQL evaluates a non-leakproof operator only after the policy's own
check, so trigram (name search) and GIN (tags, custom fields) indexes go unused and a
search scans the whole tenant. Marking these built-ins LEAKPROOF needs a superuser; when
the migrating role is not one, this step is skipped with a notice and the operator runs
the statements from docs/operations.md once.

Revision ID: 0010_leakproof_search
Revises: 0002_customers
"""
from alembic import op

revision = "0010_leakproof_search"
down_revision = "0002_customers"
branch_labels = ("leakproof",)
depends_on = None

FUNCTIONS = ("texticlike(text, text)", "textlike(text, text)", "jsonb_contains(jsonb, jsonb)")


def _set(flag: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    statements = "; ".join(f"ALTER FUNCTION {f} {flag}" for f in FUNCTIONS)
    op.execute(f"""
        DO $$
        BEGIN
          IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
            EXECUTE '{statements}';
          ELSE
            RAISE NOTICE 'not a superuser: run docs/operations.md "Search indexes under RLS"';
          END IF;
        END $$;
    """)


def upgrade():
    _set("LEAKPROOF")


def downgrade():
    _set("NOT LEAKPROOF")
