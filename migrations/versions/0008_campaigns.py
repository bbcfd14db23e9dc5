"""campaigns: campaigns, variants and recipients; surveys, invitations and answers

Revision ID: 0008_campaigns
Revises: 0002_customers
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from saas.db_admin import enable_tenant_rls, grant_app_role

revision = '0008_campaigns'
down_revision = '0002_customers'
branch_labels = ('campaigns',)
depends_on = ('0006_tiers_loyalty',)

TABLES = ('surveys', 'campaigns', 'campaign_recipients', 'campaign_variants', 'survey_invitations', 'survey_answers', 'survey_answer_items')


def upgrade():
    op.create_table('surveys',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('questions', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('trigger', sa.String(length=40), nullable=True),
    sa.Column('channel', sa.String(length=40), nullable=True),
    sa.Column('expiry_days', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_surveys_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_surveys')),
    sa.UniqueConstraint('tenant_id', 'name', name=op.f('uq_surveys_tenant_id_name'))
    )
    op.create_table('campaigns',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('segment_id', sa.Uuid(), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=False),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('quiet_start', sa.String(length=5), nullable=True),
    sa.Column('quiet_end', sa.String(length=5), nullable=True),
    sa.Column('rate_per_minute', sa.Integer(), nullable=True),
    sa.Column('winner_metric', sa.String(length=20), nullable=True),
    sa.Column('test_minutes', sa.Integer(), nullable=True),
    sa.Column('test_ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('winner_variant_id', sa.Uuid(), nullable=True),
    sa.Column('conversion_days', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.Uuid(), nullable=True),
    sa.Column('pause_reason', sa.Text(), nullable=True),
    sa.Column('resume_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('audience_size', sa.Integer(), nullable=False),
    sa.Column('launched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'segment_id'], ['segments.tenant_id', 'segments.id'], name=op.f('fk_campaigns_tenant_id_segment_id_segments')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_campaigns_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_campaigns'))
    )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.create_index('ix_campaigns_tenant_created', ['tenant_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_campaigns_tenant_status', ['tenant_id', 'status'], unique=False)

    op.create_table('campaign_recipients',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('campaign_id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('variant_id', sa.Uuid(), nullable=True),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('batch', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=True),
    sa.Column('address', sa.String(length=254), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claim_token', sa.String(length=32), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivery_id', sa.Uuid(), nullable=True),
    sa.Column('click_count', sa.Integer(), nullable=False),
    sa.Column('first_clicked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'campaign_id'], ['campaigns.tenant_id', 'campaigns.id'], name=op.f('fk_campaign_recipients_tenant_id_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_campaign_recipients_tenant_id_customer_id_customers')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_campaign_recipients_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_campaign_recipients')),
    sa.UniqueConstraint('tenant_id', 'campaign_id', 'customer_id', name=op.f('uq_campaign_recipients_tenant_id_campaign_id_customer_id'))
    )
    with op.batch_alter_table('campaign_recipients', schema=None) as batch_op:
        batch_op.create_index('ix_campaign_recipients_tenant_batch', ['tenant_id', 'campaign_id', 'batch', 'status'], unique=False)
        batch_op.create_index('ix_campaign_recipients_tenant_customer_sent', ['tenant_id', 'customer_id', 'sent_at'], unique=False)
        batch_op.create_index('ix_campaign_recipients_tenant_sent', ['tenant_id', 'sent_at'], unique=False)
        batch_op.create_index('ix_campaign_recipients_tenant_status', ['tenant_id', 'campaign_id', 'status', 'claimed_at'], unique=False)

    op.create_table('campaign_variants',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('campaign_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.Text(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('split_percent', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'campaign_id'], ['campaigns.tenant_id', 'campaigns.id'], name=op.f('fk_campaign_variants_tenant_id_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_campaign_variants_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_campaign_variants')),
    sa.UniqueConstraint('tenant_id', 'campaign_id', 'name', name=op.f('uq_campaign_variants_tenant_id_campaign_id_name'))
    )
    op.create_table('survey_invitations',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('survey_id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('source_type', sa.String(length=20), nullable=False),
    sa.Column('source_id', sa.String(length=64), nullable=False),
    sa.Column('agent_id', sa.Uuid(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_survey_invitations_tenant_id_customer_id_customers')),
    sa.ForeignKeyConstraint(['tenant_id', 'survey_id'], ['surveys.tenant_id', 'surveys.id'], name=op.f('fk_survey_invitations_tenant_id_survey_id_surveys'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_survey_invitations_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_survey_invitations')),
    sa.UniqueConstraint('tenant_id', 'survey_id', 'customer_id', 'source_type', 'source_id', name=op.f('uq_survey_invitations_tenant_id_survey_id_customer_id_source_type_source_id'))
    )
    with op.batch_alter_table('survey_invitations', schema=None) as batch_op:
        batch_op.create_index('ix_survey_invitations_tenant_survey', ['tenant_id', 'survey_id', 'created_at'], unique=False)

    op.create_table('survey_answers',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('survey_id', sa.Uuid(), nullable=False),
    sa.Column('invitation_id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('agent_id', sa.Uuid(), nullable=True),
    sa.Column('tier', sa.String(length=60), nullable=True),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('answers', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_survey_answers_tenant_id_customer_id_customers')),
    sa.ForeignKeyConstraint(['tenant_id', 'invitation_id'], ['survey_invitations.tenant_id', 'survey_invitations.id'], name=op.f('fk_survey_answers_tenant_id_invitation_id_survey_invitations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'survey_id'], ['surveys.tenant_id', 'surveys.id'], name=op.f('fk_survey_answers_tenant_id_survey_id_surveys'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_survey_answers_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_survey_answers')),
    sa.UniqueConstraint('tenant_id', 'invitation_id', name=op.f('uq_survey_answers_tenant_id_invitation_id'))
    )
    with op.batch_alter_table('survey_answers', schema=None) as batch_op:
        batch_op.create_index('ix_survey_answers_tenant_customer_at', ['tenant_id', 'customer_id', 'answered_at'], unique=False)
        batch_op.create_index('ix_survey_answers_tenant_survey_at', ['tenant_id', 'survey_id', 'answered_at'], unique=False)

    op.create_table('survey_answer_items',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('answer_id', sa.Uuid(), nullable=False),
    sa.Column('survey_id', sa.Uuid(), nullable=False),
    sa.Column('question', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('dimension', sa.String(length=60), nullable=False),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'answer_id'], ['survey_answers.tenant_id', 'survey_answers.id'], name=op.f('fk_survey_answer_items_tenant_id_answer_id_survey_answers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_survey_answer_items_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_survey_answer_items'))
    )
    with op.batch_alter_table('survey_answer_items', schema=None) as batch_op:
        batch_op.create_index('ix_survey_answer_items_tenant_survey', ['tenant_id', 'survey_id', 'dimension'], unique=False)
    for table in TABLES:
        enable_tenant_rls(op, table)
    grant_app_role(op)


def downgrade():
    with op.batch_alter_table('survey_answer_items', schema=None) as batch_op:
        batch_op.drop_index('ix_survey_answer_items_tenant_survey')

    op.drop_table('survey_answer_items')
    with op.batch_alter_table('survey_answers', schema=None) as batch_op:
        batch_op.drop_index('ix_survey_answers_tenant_survey_at')
        batch_op.drop_index('ix_survey_answers_tenant_customer_at')

    op.drop_table('survey_answers')
    with op.batch_alter_table('survey_invitations', schema=None) as batch_op:
        batch_op.drop_index('ix_survey_invitations_tenant_survey')

    op.drop_table('survey_invitations')
    op.drop_table('campaign_variants')
    with op.batch_alter_table('campaign_recipients', schema=None) as batch_op:
        batch_op.drop_index('ix_campaign_recipients_tenant_status')
        batch_op.drop_index('ix_campaign_recipients_tenant_sent')
        batch_op.drop_index('ix_campaign_recipients_tenant_customer_sent')
        batch_op.drop_index('ix_campaign_recipients_tenant_batch')

    op.drop_table('campaign_recipients')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_index('ix_campaigns_tenant_status')
        batch_op.drop_index('ix_campaigns_tenant_created')

    op.drop_table('campaigns')
    op.drop_table('surveys')
