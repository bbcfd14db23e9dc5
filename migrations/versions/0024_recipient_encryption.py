"""recipient encryption: campaign_recipients.address encrypted at rest; which customers
a list export contained (read_audit_exports)

`campaign_recipients.address` (the phone or email a campaign message went to) becomes a
Fernet token like the customer's own phones and emails; existing rows are encrypted in
batches of BATCH rows per UPDATE (one executemany per batch, tenant by tenant so
row-level security holds for an owner without BYPASSRLS). `read_audit_exports` links a
`customers.exported` audit entry to the customers it contained (issue 11).

Revision ID: 0024_recipient_encryption
Revises: 0016_campaigns_more
"""
import sqlalchemy as sa
from alembic import op

from saas.db_admin import enable_tenant_rls, grant_app_role

revision = '0024_recipient_encryption'
down_revision = '0016_campaigns_more'
branch_labels = ('recipient_encryption',)
depends_on = None

BATCH = 1000
recipients = sa.table('campaign_recipients', sa.column('tenant_id', sa.Uuid()),
                      sa.column('id', sa.Uuid()), sa.column('address', sa.Text()))
tenants = sa.table('tenants', sa.column('id', sa.Uuid()))


def upgrade():
    with op.batch_alter_table('campaign_recipients', schema=None) as batch_op:
        batch_op.alter_column('address', existing_type=sa.String(length=254),
                              type_=sa.Text(), existing_nullable=True)
    _each_tenant(_encrypt)
    op.create_table(
        'read_audit_exports',
        sa.Column('tenant_id', sa.Uuid(), nullable=False),
        sa.Column('audit_id', sa.Uuid(), nullable=False),
        sa.Column('customer_id', sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id', 'audit_id'],
                                ['audit_entries.tenant_id', 'audit_entries.id'],
                                name=op.f('fk_read_audit_exports_tenant_id_audit_id_audit_entries'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'],
                                name=op.f('fk_read_audit_exports_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('tenant_id', 'audit_id', 'customer_id',
                                name=op.f('pk_read_audit_exports')),
    )
    op.create_index('ix_read_audit_exports_tenant_customer', 'read_audit_exports',
                    ['tenant_id', 'customer_id'], unique=False)
    enable_tenant_rls(op, 'read_audit_exports')
    grant_app_role(op)


def downgrade():
    op.drop_index('ix_read_audit_exports_tenant_customer', table_name='read_audit_exports')
    op.drop_table('read_audit_exports')
    _each_tenant(_decrypt)
    with op.batch_alter_table('campaign_recipients', schema=None) as batch_op:
        batch_op.alter_column('address', existing_type=sa.Text(),
                              type_=sa.String(length=254), existing_nullable=True)


def _each_tenant(fn) -> None:
    bind = op.get_bind()
    for tenant_id in list(bind.execute(sa.select(tenants.c.id)).scalars()):
        if bind.dialect.name == 'postgresql':
            bind.execute(sa.text("SELECT set_config('app.tenant_id', :t, true)"),
                         {'t': str(tenant_id)})
        fn(bind, tenant_id)


def _rewrite(bind, tenant_id, convert) -> None:
    """Every non-null address of the tenant through `convert`, BATCH rows per UPDATE."""
    r = recipients.c
    stmt = (recipients.update()
            .where(r.tenant_id == sa.bindparam('k_tenant'), r.id == sa.bindparam('k_id'))
            .values(address=sa.bindparam('v_address')))
    last = None
    while True:
        query = sa.select(r.id, r.address).where(r.tenant_id == tenant_id,
                                                  r.address.is_not(None))
        if last is not None:
            query = query.where(r.id > last)
        rows = bind.execute(query.order_by(r.id).limit(BATCH)).all()
        if not rows:
            return
        bind.execute(stmt, [{'k_tenant': tenant_id, 'k_id': id_,
                             'v_address': convert(address)} for id_, address in rows])
        last = rows[-1][0]


def _encrypt(bind, tenant_id) -> None:
    from saas.crypto import encrypt

    _rewrite(bind, tenant_id, encrypt)


def _decrypt(bind, tenant_id) -> None:
    from saas.crypto import decrypt

    _rewrite(bind, tenant_id, decrypt)
