"""perf indexes: two-character name search through a bigram index (PostgreSQL); churn
list by value at stake

`ix_churn_scores_tenant_value` serves `GET /analytics/churn` (default sort
`-value_at_stake`, ties by id): without it a page sorted all of a big tenant's scores
(0.4-0.7 s at 878k scored customers).

Chinese names are mostly two or three characters, so "杨军" is the typical name search.
pg_trgm cannot index a pattern shorter than three characters: such a search scanned the
whole customers table (about a second at a million customers). `customer_name_bigrams`
gives the distinct lower-cased character pairs of a name as a JSONB array; a GIN index on
it answers `customer_name_bigrams(name) @> customer_name_bigrams(:q)` (a necessary
condition of `name ILIKE '%q%'` for q of two or more characters; the ILIKE still decides).
Under row-level security PostgreSQL only uses an index for a leakproof condition:
`jsonb_contains` is LEAKPROOF since migration 0010, and `customer_name_bigrams` is made
LEAKPROOF here (it cannot fail or reveal anything: lower, substr, jsonb_agg). That needs a
superuser; otherwise the index is created, a notice says so, and the operator runs
`ALTER FUNCTION customer_name_bigrams(text) LEAKPROOF` once (docs/operations.md, "Search
indexes under RLS"). SQLite keeps the plain LIKE.

Revision ID: 0017_perf_indexes
Revises: 0002_customers
"""
from alembic import op

revision = "0017_perf_indexes"
down_revision = "0002_customers"
branch_labels = ("perf",)
depends_on = ("0010_leakproof_search", "0011_analytics")

BIGRAMS = """
CREATE OR REPLACE FUNCTION customer_name_bigrams(name text) RETURNS jsonb
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT coalesce(jsonb_agg(DISTINCT substr(lower(name), i, 2)), '[]'::jsonb)
  FROM generate_series(1, length(name) - 1) AS i
$$
"""


def upgrade():
    op.create_index("ix_churn_scores_tenant_value", "churn_scores",
                    ["tenant_id", "value_at_stake", "id"], unique=False)
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(BIGRAMS)
    op.execute("GRANT EXECUTE ON FUNCTION customer_name_bigrams(text) TO PUBLIC")
    op.execute("""
        DO $$
        BEGIN
          IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
            ALTER FUNCTION customer_name_bigrams(text) LEAKPROOF;
          ELSE
            RAISE NOTICE 'not a superuser: run ALTER FUNCTION customer_name_bigrams(text) '
                         'LEAKPROOF (docs/operations.md "Search indexes under RLS")';
          END IF;
        END $$;
    """)
    op.execute("CREATE INDEX IF NOT EXISTS ix_customers_name_bigrams ON customers "
               "USING gin (customer_name_bigrams(name) jsonb_path_ops)")


def downgrade():
    op.drop_index("ix_churn_scores_tenant_value", table_name="churn_scores")
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_customers_name_bigrams")
    op.execute("DROP FUNCTION IF EXISTS customer_name_bigrams(text)")
