"""imports: import jobs, their errors, saved mappings; merge records, duplicate dismissals

Revision ID: 0005_imports
Revises: 0002_customers
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from saas.db_admin import enable_tenant_rls, grant_app_role

revision = '0005_imports'
down_revision = '0002_customers'
branch_labels = ('imports',)
depends_on = None

TABLES = ('import_mappings', 'import_jobs', 'duplicate_dismissals', 'import_errors',
          'merge_records')


def upgrade():
    op.create_table('import_mappings',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('entity', sa.String(length=20), nullable=False),
    sa.Column('mapping', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_import_mappings_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_import_mappings')),
    sa.UniqueConstraint('tenant_id', 'entity', name=op.f('uq_import_mappings_tenant_id_entity'))
    )
    op.create_table('import_jobs',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('entity', sa.String(length=20), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('file_format', sa.String(length=10), nullable=False),
    sa.Column('encoding', sa.String(length=20), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('columns', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('mapping', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('total_rows', sa.Integer(), nullable=False),
    sa.Column('processed_rows', sa.Integer(), nullable=False),
    sa.Column('created_count', sa.Integer(), nullable=False),
    sa.Column('updated_count', sa.Integer(), nullable=False),
    sa.Column('skipped_count', sa.Integer(), nullable=False),
    sa.Column('error_count', sa.Integer(), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('staff_id', sa.Uuid(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'staff_id'], ['staff.tenant_id', 'staff.id'], name=op.f('fk_import_jobs_tenant_id_staff_id_staff')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_import_jobs_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_import_jobs'))
    )
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_import_jobs_tenant_created', ['tenant_id', 'created_at', 'id'], unique=False)

    op.create_table('duplicate_dismissals',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('first_id', sa.Uuid(), nullable=False),
    sa.Column('second_id', sa.Uuid(), nullable=False),
    sa.Column('staff_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'first_id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_duplicate_dismissals_tenant_id_first_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'second_id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_duplicate_dismissals_tenant_id_second_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_duplicate_dismissals_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_duplicate_dismissals')),
    sa.UniqueConstraint('tenant_id', 'first_id', 'second_id', name=op.f('uq_duplicate_dismissals_tenant_id_first_id_second_id'))
    )
    op.create_table('import_errors',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('job_id', sa.Uuid(), nullable=False),
    sa.Column('row_number', sa.Integer(), nullable=False),
    sa.Column('column', sa.String(length=200), nullable=True),
    sa.Column('value', sa.Text(), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'job_id'], ['import_jobs.tenant_id', 'import_jobs.id'], name=op.f('fk_import_errors_tenant_id_job_id_import_jobs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_import_errors_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_import_errors'))
    )
    with op.batch_alter_table('import_errors', schema=None) as batch_op:
        batch_op.create_index('ix_import_errors_tenant_job_row', ['tenant_id', 'job_id', 'row_number'], unique=False)

    op.create_table('merge_records',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('survivor_id', sa.Uuid(), nullable=False),
    sa.Column('merged_id', sa.Uuid(), nullable=False),
    sa.Column('staff_id', sa.Uuid(), nullable=True),
    sa.Column('choices', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('snapshot', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('moved', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'merged_id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_merge_records_tenant_id_merged_id_customers')),
    sa.ForeignKeyConstraint(['tenant_id', 'staff_id'], ['staff.tenant_id', 'staff.id'], name=op.f('fk_merge_records_tenant_id_staff_id_staff')),
    sa.ForeignKeyConstraint(['tenant_id', 'survivor_id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_merge_records_tenant_id_survivor_id_customers')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_merge_records_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_merge_records'))
    )
    with op.batch_alter_table('merge_records', schema=None) as batch_op:
        batch_op.create_index('ix_merge_records_tenant_survivor', ['tenant_id', 'survivor_id'], unique=False)
    for table in TABLES:
        enable_tenant_rls(op, table)
    grant_app_role(op)


def downgrade():
    with op.batch_alter_table('merge_records', schema=None) as batch_op:
        batch_op.drop_index('ix_merge_records_tenant_survivor')

    op.drop_table('merge_records')
    with op.batch_alter_table('import_errors', schema=None) as batch_op:
        batch_op.drop_index('ix_import_errors_tenant_job_row')

    op.drop_table('import_errors')
    op.drop_table('duplicate_dismissals')
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_import_jobs_tenant_created')

    op.drop_table('import_jobs')
    op.drop_table('import_mappings')
