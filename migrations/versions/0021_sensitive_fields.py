"""sensitive custom fields: the admin marks custom fields sensitive; their values are
kept encrypted (`customers.sensitive_fields`) with blind indexes (`sensitive_index`)

Existing values stay where they are: no field is sensitive until the admin marks it, and
the move job (`saas.jobs.sensitive_fields`) moves the values of that field.

Revision ID: 0021_sensitive_fields
Revises: 0017_perf_indexes
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0021_sensitive_fields'
down_revision = '0017_perf_indexes'
branch_labels = ('sensitive_fields',)
depends_on = None


def upgrade():
    with op.batch_alter_table('custom_field_definitions') as batch:
        batch.add_column(sa.Column('sensitive', sa.Boolean(), server_default=sa.false(),
                                   nullable=False))
        batch.add_column(sa.Column('sensitive_state', sa.String(length=20),
                                   server_default='plain', nullable=False))
    with op.batch_alter_table('customers') as batch:
        batch.add_column(sa.Column('sensitive_fields', sa.Text(), nullable=True))
        batch.add_column(sa.Column(
            'sensitive_index', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'),
            nullable=True))
        # GIN like ix_customers_custom_fields: exact filters use it (jsonb @>).
        batch.create_index('ix_customers_sensitive_index', ['sensitive_index'], unique=False,
                           postgresql_using='gin',
                           postgresql_ops={'sensitive_index': 'jsonb_path_ops'})


def downgrade():
    with op.batch_alter_table('customers') as batch:
        batch.drop_index('ix_customers_sensitive_index', postgresql_using='gin',
                         postgresql_ops={'sensitive_index': 'jsonb_path_ops'})
        batch.drop_column('sensitive_index')
        batch.drop_column('sensitive_fields')
    with op.batch_alter_table('custom_field_definitions') as batch:
        batch.drop_column('sensitive_state')
        batch.drop_column('sensitive')
