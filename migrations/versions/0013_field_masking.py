"""field masking: a role may see a customer field only masked until it reveals it

Revision ID: 0013_field_masking
Revises: 0001_foundation
"""
import sqlalchemy as sa
from alembic import op

revision = '0013_field_masking'
down_revision = '0001_foundation'
branch_labels = ('field_masking',)
depends_on = '0009_privacy'


def upgrade():
    with op.batch_alter_table('role_field_permissions') as batch:
        batch.add_column(sa.Column('masked', sa.Boolean(), server_default=sa.false(),
                                   nullable=False))


def downgrade():
    with op.batch_alter_table('role_field_permissions') as batch:
        batch.drop_column('masked')
