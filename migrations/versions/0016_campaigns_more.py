"""campaigns_more: recipients remember an opt-out through the campaign's own link

Revision ID: 0016_campaigns_more
Revises: 0008_campaigns
"""
import sqlalchemy as sa
from alembic import op

revision = '0016_campaigns_more'
down_revision = '0008_campaigns'
branch_labels = ('campaigns_more',)
depends_on = None


def upgrade():
    op.add_column('campaign_recipients',
                  sa.Column('opted_out_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    op.drop_column('campaign_recipients', 'opted_out_at')
