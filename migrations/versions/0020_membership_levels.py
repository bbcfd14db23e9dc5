"""membership_levels: each customer's stored membership level and its history

Revision ID: 0020_membership_levels
Revises: 0006_tiers_loyalty
"""
import sqlalchemy as sa
from alembic import op

from saas.db_admin import enable_tenant_rls, grant_app_role

revision = '0020_membership_levels'
down_revision = '0006_tiers_loyalty'
branch_labels = ('membership_levels',)
depends_on = None


def upgrade():
    op.create_table(
        'customer_levels',
        sa.Column('tenant_id', sa.Uuid(), nullable=False),
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('level_id', sa.Uuid(), nullable=False),
        sa.Column('level_name', sa.String(length=60), nullable=False),
        sa.Column('reached_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id', 'id'], ['customers.tenant_id', 'customers.id'],
                                name=op.f('fk_customer_levels_tenant_id_id_customers'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'],
                                name=op.f('fk_customer_levels_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_customer_levels')),
    )
    with op.batch_alter_table('customer_levels', schema=None) as batch_op:
        batch_op.create_index('ix_customer_levels_tenant_level', ['tenant_id', 'level_id'],
                              unique=False)

    op.create_table(
        'level_changes',
        sa.Column('tenant_id', sa.Uuid(), nullable=False),
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('customer_id', sa.Uuid(), nullable=False),
        sa.Column('from_level', sa.String(length=60), nullable=True),
        sa.Column('to_level', sa.String(length=60), nullable=True),
        sa.Column('reason', sa.String(length=20), nullable=False),
        sa.Column('basis', sa.String(length=10), nullable=True),
        sa.Column('value', sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column('threshold', sa.Integer(), nullable=True),
        sa.Column('window_months', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id', 'customer_id'],
                                ['customers.tenant_id', 'customers.id'],
                                name=op.f('fk_level_changes_tenant_id_customer_id_customers'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'],
                                name=op.f('fk_level_changes_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_level_changes')),
    )
    with op.batch_alter_table('level_changes', schema=None) as batch_op:
        batch_op.create_index('ix_level_changes_tenant_customer',
                              ['tenant_id', 'customer_id', 'created_at'], unique=False)

    enable_tenant_rls(op, 'customer_levels')
    enable_tenant_rls(op, 'level_changes')
    grant_app_role(op)


def downgrade():
    with op.batch_alter_table('level_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_level_changes_tenant_customer')
    op.drop_table('level_changes')
    with op.batch_alter_table('customer_levels', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_levels_tenant_level')
    op.drop_table('customer_levels')
