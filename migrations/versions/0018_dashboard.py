"""dashboard: precomputed per-day figures for the managers' dashboard and its stamp

Revision ID: 0018_dashboard
Revises: 0011_analytics
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from saas.db_admin import enable_tenant_rls, grant_app_role

revision = '0018_dashboard'
down_revision = '0011_analytics'
branch_labels = ('dashboard',)
depends_on = None

TABLES = ('dashboard_facts', 'dashboard_stamps')


def upgrade():
    op.create_table('dashboard_facts',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('figure', sa.String(length=30), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('rollup', sa.Boolean(), nullable=False),
    sa.Column('owner_id', sa.Uuid(), nullable=True),
    sa.Column('department', sa.String(length=100), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_dashboard_facts_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_dashboard_facts'))
    )
    with op.batch_alter_table('dashboard_facts', schema=None) as batch_op:
        batch_op.create_index('ix_dashboard_facts_tenant_figure_department_day', ['tenant_id', 'figure', 'department', 'day'], unique=False)
        batch_op.create_index('ix_dashboard_facts_tenant_figure_owner_day', ['tenant_id', 'figure', 'owner_id', 'day'], unique=False)
        batch_op.create_index('ix_dashboard_facts_tenant_figure_rollup_day', ['tenant_id', 'figure', 'rollup', 'day'], unique=False)

    op.create_table('dashboard_stamps',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('facts', sa.Integer(), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('owners', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('departments', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_dashboard_stamps_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_dashboard_stamps')),
    sa.UniqueConstraint('tenant_id', name=op.f('uq_dashboard_stamps_tenant_id'))
    )
    for table in TABLES:
        enable_tenant_rls(op, table)
    grant_app_role(op)


def downgrade():
    op.drop_table('dashboard_stamps')
    with op.batch_alter_table('dashboard_facts', schema=None) as batch_op:
        batch_op.drop_index('ix_dashboard_facts_tenant_figure_rollup_day')
        batch_op.drop_index('ix_dashboard_facts_tenant_figure_owner_day')
        batch_op.drop_index('ix_dashboard_facts_tenant_figure_department_day')
    op.drop_table('dashboard_facts')
