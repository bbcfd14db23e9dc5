"""tiers_more: coupons by customer and use time, for the customer timeline

Revision ID: 0014_tiers_more
Revises: 0006_tiers_loyalty
"""
from alembic import op

revision = '0014_tiers_more'
down_revision = '0006_tiers_loyalty'
branch_labels = ('tiers_more',)
depends_on = None


def upgrade():
    with op.batch_alter_table('coupons', schema=None) as batch_op:
        batch_op.create_index('ix_coupons_tenant_customer',
                              ['tenant_id', 'customer_id', 'used_at'], unique=False)


def downgrade():
    with op.batch_alter_table('coupons', schema=None) as batch_op:
        batch_op.drop_index('ix_coupons_tenant_customer')
