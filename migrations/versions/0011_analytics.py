"""analytics: CLV model fits and per-customer values, association rules, churn scores

Revision ID: 0011_analytics
Revises: 0002_customers
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from saas.db_admin import enable_tenant_rls, grant_app_role

revision = '0011_analytics'
down_revision = '0002_customers'
branch_labels = ('analytics',)
depends_on = None

TABLES = ('analytics_fits', 'association_rules', 'churn_scores', 'customer_clv')


def upgrade():
    op.create_table('analytics_fits',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('params', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('log_likelihood', sa.Float(), nullable=True),
    sa.Column('customers', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_analytics_fits_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_analytics_fits')),
    sa.UniqueConstraint('tenant_id', 'kind', name=op.f('uq_analytics_fits_tenant_id_kind'))
    )
    op.create_table('association_rules',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('antecedent_id', sa.Uuid(), nullable=False),
    sa.Column('consequent_id', sa.Uuid(), nullable=False),
    sa.Column('pair_count', sa.Integer(), nullable=False),
    sa.Column('support', sa.Float(), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('lift', sa.Float(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'antecedent_id'], ['products.tenant_id', 'products.id'], name=op.f('fk_association_rules_tenant_id_antecedent_id_products'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'consequent_id'], ['products.tenant_id', 'products.id'], name=op.f('fk_association_rules_tenant_id_consequent_id_products'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_association_rules_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_association_rules')),
    sa.UniqueConstraint('tenant_id', 'antecedent_id', 'consequent_id', name=op.f('uq_association_rules_tenant_id_antecedent_id_consequent_id'))
    )
    with op.batch_alter_table('association_rules', schema=None) as batch_op:
        batch_op.create_index('ix_association_rules_tenant_lift', ['tenant_id', 'lift'], unique=False)

    op.create_table('churn_scores',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('at_risk', sa.Boolean(), nullable=False),
    sa.Column('reasons', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('value_at_stake', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_churn_scores_tenant_id_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_churn_scores_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_churn_scores'))
    )
    with op.batch_alter_table('churn_scores', schema=None) as batch_op:
        batch_op.create_index('ix_churn_scores_tenant_score', ['tenant_id', 'score'], unique=False)

    op.create_table('customer_clv',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('frequency', sa.Integer(), nullable=False),
    sa.Column('recency_weeks', sa.Float(), nullable=False),
    sa.Column('age_weeks', sa.Float(), nullable=False),
    sa.Column('monetary', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('expected_purchases_90d', sa.Float(), nullable=False),
    sa.Column('p_alive', sa.Float(), nullable=False),
    sa.Column('expected_spend', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('clv', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_customer_clv_tenant_id_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_customer_clv_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_customer_clv'))
    )
    with op.batch_alter_table('customer_clv', schema=None) as batch_op:
        batch_op.create_index('ix_customer_clv_tenant_clv', ['tenant_id', 'clv'], unique=False)

    for table in TABLES:
        enable_tenant_rls(op, table)
    grant_app_role(op)


def downgrade():
    with op.batch_alter_table('customer_clv', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_clv_tenant_clv')
    op.drop_table('customer_clv')
    with op.batch_alter_table('churn_scores', schema=None) as batch_op:
        batch_op.drop_index('ix_churn_scores_tenant_score')
    op.drop_table('churn_scores')
    with op.batch_alter_table('association_rules', schema=None) as batch_op:
        batch_op.drop_index('ix_association_rules_tenant_lift')
    op.drop_table('association_rules')
    op.drop_table('analytics_fits')
