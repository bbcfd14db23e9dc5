"""plugins: per-tenant plugin configuration, delivery log, external links

Revision ID: 0003_plugins
Revises: 0001_foundation
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from saas.db_admin import enable_tenant_rls, grant_app_role

revision = '0003_plugins'
down_revision = '0001_foundation'
branch_labels = ('plugins',)
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')
TABLES = ('plugin_configs', 'plugin_deliveries', 'plugin_links')


def upgrade():
    op.create_table('plugin_configs',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('plugin', sa.String(length=80), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('settings', JSON, nullable=False),
    sa.Column('secrets', sa.Text(), nullable=True),
    sa.Column('state', JSON, nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_plugin_configs_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_plugin_configs')),
    sa.UniqueConstraint('tenant_id', 'plugin', name=op.f('uq_plugin_configs_tenant_id_plugin'))
    )
    op.create_table('plugin_deliveries',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('plugin', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=True),
    sa.Column('event_name', sa.String(length=80), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=True),
    sa.Column('payload', JSON, nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('next_retry_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('result', JSON, nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_plugin_deliveries_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_plugin_deliveries')),
    sa.UniqueConstraint('tenant_id', 'plugin', 'key', name=op.f('uq_plugin_deliveries_tenant_id_plugin_key'))
    )
    op.create_index('ix_plugin_deliveries_tenant_created', 'plugin_deliveries', ['tenant_id', 'created_at'], unique=False)
    op.create_index('ix_plugin_deliveries_tenant_event', 'plugin_deliveries', ['tenant_id', 'event_id'], unique=False)
    op.create_index('ix_plugin_deliveries_tenant_status_due', 'plugin_deliveries', ['tenant_id', 'status', 'next_retry_at'], unique=False)
    op.create_table('plugin_links',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('plugin', sa.String(length=80), nullable=False),
    sa.Column('entity_type', sa.String(length=60), nullable=False),
    sa.Column('entity_id', sa.String(length=64), nullable=False),
    sa.Column('external_id', sa.String(length=120), nullable=False),
    sa.Column('remote_updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_plugin_links_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_plugin_links')),
    sa.UniqueConstraint('tenant_id', 'plugin', 'entity_type', 'entity_id', name=op.f('uq_plugin_links_tenant_id_plugin_entity_type_entity_id'))
    )
    op.create_index('ix_plugin_links_tenant_external', 'plugin_links', ['tenant_id', 'plugin', 'external_id'], unique=False)
    for table in TABLES:
        enable_tenant_rls(op, table)
    grant_app_role(op)


def downgrade():
    op.drop_index('ix_plugin_links_tenant_external', table_name='plugin_links')
    op.drop_table('plugin_links')
    op.drop_index('ix_plugin_deliveries_tenant_status_due', table_name='plugin_deliveries')
    op.drop_index('ix_plugin_deliveries_tenant_event', table_name='plugin_deliveries')
    op.drop_index('ix_plugin_deliveries_tenant_created', table_name='plugin_deliveries')
    op.drop_table('plugin_deliveries')
    op.drop_table('plugin_configs')
