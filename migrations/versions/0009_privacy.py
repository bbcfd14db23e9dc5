"""privacy: role field permissions, row scopes, consent history, erasure records

Revision ID: 0009_privacy
Revises: 0002_customers
"""
# ruff: noqa: E501  (autogenerate style, like the other migrations)
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from saas.db_admin import enable_tenant_rls, grant_app_role

revision = '0009_privacy'
down_revision = '0002_customers'
branch_labels = ('privacy',)
depends_on = None

TABLES = ('role_field_permissions', 'role_row_scopes', 'consent_events', 'erasure_records')


def upgrade():
    op.create_table('role_field_permissions',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('field', sa.String(length=80), nullable=False),
    sa.Column('visible', sa.Boolean(), nullable=False),
    sa.Column('editable', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_role_field_permissions_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_role_field_permissions')),
    sa.UniqueConstraint('tenant_id', 'role', 'field', name=op.f('uq_role_field_permissions_tenant_id_role_field'))
    )
    op.create_table('role_row_scopes',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('scope', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_role_row_scopes_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_role_row_scopes')),
    sa.UniqueConstraint('tenant_id', 'role', name=op.f('uq_role_row_scopes_tenant_id_role'))
    )
    op.create_table('consent_events',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.String(length=100), nullable=True),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('actor_label', sa.String(length=255), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_consent_events_tenant_id_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_consent_events_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_consent_events'))
    )
    with op.batch_alter_table('consent_events', schema=None) as batch_op:
        batch_op.create_index('ix_consent_events_tenant_customer_at', ['tenant_id', 'customer_id', 'at'], unique=False)

    op.create_table('erasure_records',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('actor_label', sa.String(length=255), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('summary', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_erasure_records_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_erasure_records'))
    )
    with op.batch_alter_table('erasure_records', schema=None) as batch_op:
        batch_op.create_index('ix_erasure_records_tenant_customer', ['tenant_id', 'customer_id'], unique=False)

    # Contact phones and emails are encrypted at rest (Fernet tokens need TEXT).
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.alter_column('phone', existing_type=sa.String(length=20), type_=sa.Text())
        batch_op.alter_column('email', existing_type=sa.String(length=254), type_=sa.Text())

    for table in TABLES:
        enable_tenant_rls(op, table)
    grant_app_role(op)


def downgrade():
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.alter_column('email', existing_type=sa.Text(), type_=sa.String(length=254))
        batch_op.alter_column('phone', existing_type=sa.Text(), type_=sa.String(length=20))
    with op.batch_alter_table('erasure_records', schema=None) as batch_op:
        batch_op.drop_index('ix_erasure_records_tenant_customer')
    op.drop_table('erasure_records')
    with op.batch_alter_table('consent_events', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_events_tenant_customer_at')
    op.drop_table('consent_events')
    op.drop_table('role_row_scopes')
    op.drop_table('role_field_permissions')
