"""care more: the tenant's holiday calendar (SLA business hours and holiday greetings)

Revision ID: 0015_care_more
Revises: 0007_service_desk
"""
import sqlalchemy as sa
from alembic import op

from saas.db_admin import enable_tenant_rls, grant_app_role

revision = '0015_care_more'
down_revision = '0007_service_desk'
branch_labels = ('care_more',)
depends_on = None


def upgrade():
    op.create_table('tenant_holidays',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('greeting', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'],
                            name=op.f('fk_tenant_holidays_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_tenant_holidays'))
    )
    with op.batch_alter_table('tenant_holidays', schema=None) as batch_op:
        batch_op.create_index('ix_tenant_holidays_tenant_starts', ['tenant_id', 'starts_on'],
                              unique=False)
    enable_tenant_rls(op, 'tenant_holidays')
    grant_app_role(op)


def downgrade():
    with op.batch_alter_table('tenant_holidays', schema=None) as batch_op:
        batch_op.drop_index('ix_tenant_holidays_tenant_starts')
    op.drop_table('tenant_holidays')
