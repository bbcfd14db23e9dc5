"""service desk: tickets, their conversation and attachments; visit plans and tasks;
care rules and their once-per-occasion claims

Revision ID: 0007_service_desk
Revises: 0002_customers
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from saas.db_admin import enable_tenant_rls, grant_app_role

revision = '0007_service_desk'
down_revision = '0002_customers'
branch_labels = ('service_desk',)
depends_on = ('0006_tiers_loyalty',)  # visit_plans reference tiers

TABLES = ('tickets', 'ticket_messages', 'ticket_attachments', 'visit_plans', 'visit_tasks', 'care_rules', 'care_sends')


def upgrade():
    op.create_table('tickets',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('priority', sa.String(length=10), nullable=False),
    sa.Column('cause', sa.String(length=60), nullable=True),
    sa.Column('owner_id', sa.Uuid(), nullable=True),
    sa.Column('watchers', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('first_response_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_responded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paused_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('response_escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution_escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reopen_count', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_tickets_tenant_id_customer_id_customers')),
    sa.ForeignKeyConstraint(['tenant_id', 'owner_id'], ['staff.tenant_id', 'staff.id'], name=op.f('fk_tickets_tenant_id_owner_id_staff')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_tickets_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_tickets'))
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_tenant_customer_opened', ['tenant_id', 'customer_id', 'opened_at'], unique=False)
        batch_op.create_index('ix_tickets_tenant_opened', ['tenant_id', 'opened_at', 'id'], unique=False)
        batch_op.create_index('ix_tickets_tenant_owner_status', ['tenant_id', 'owner_id', 'status'], unique=False)
        batch_op.create_index('ix_tickets_tenant_status_due', ['tenant_id', 'status', 'resolution_due_at'], unique=False)

    op.create_table('ticket_attachments',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('ticket_id', sa.Uuid(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'ticket_id'], ['tickets.tenant_id', 'tickets.id'], name=op.f('fk_ticket_attachments_tenant_id_ticket_id_tickets')),
    sa.ForeignKeyConstraint(['tenant_id', 'uploaded_by_id'], ['staff.tenant_id', 'staff.id'], name=op.f('fk_ticket_attachments_tenant_id_uploaded_by_id_staff')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_ticket_attachments_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_ticket_attachments'))
    )
    with op.batch_alter_table('ticket_attachments', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_attachments_tenant_ticket', ['tenant_id', 'ticket_id'], unique=False)

    op.create_table('ticket_messages',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('ticket_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('author_id', sa.Uuid(), nullable=True),
    sa.Column('author_label', sa.String(length=254), nullable=True),
    sa.Column('channel', sa.String(length=20), nullable=True),
    sa.Column('delivery_status', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'author_id'], ['staff.tenant_id', 'staff.id'], name=op.f('fk_ticket_messages_tenant_id_author_id_staff')),
    sa.ForeignKeyConstraint(['tenant_id', 'ticket_id'], ['tickets.tenant_id', 'tickets.id'], name=op.f('fk_ticket_messages_tenant_id_ticket_id_tickets')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_ticket_messages_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_ticket_messages'))
    )
    with op.batch_alter_table('ticket_messages', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_messages_tenant_ticket', ['tenant_id', 'ticket_id', 'created_at'], unique=False)

    op.create_table('visit_plans',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tier_id', sa.Uuid(), nullable=False),
    sa.Column('every_days', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('assignee_id', sa.Uuid(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'assignee_id'], ['staff.tenant_id', 'staff.id'], name=op.f('fk_visit_plans_tenant_id_assignee_id_staff')),
    sa.ForeignKeyConstraint(['tenant_id', 'tier_id'], ['tiers.tenant_id', 'tiers.id'], name=op.f('fk_visit_plans_tenant_id_tier_id_tiers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_visit_plans_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_visit_plans')),
    sa.UniqueConstraint('tenant_id', 'tier_id', name=op.f('uq_visit_plans_tenant_id_tier_id'))
    )
    op.create_table('visit_tasks',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('plan_id', sa.Uuid(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('assignee_id', sa.Uuid(), nullable=True),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('needs', sa.Text(), nullable=True),
    sa.Column('next_step', sa.Text(), nullable=True),
    sa.Column('interaction_id', sa.Uuid(), nullable=True),
    sa.Column('cancel_reason', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'assignee_id'], ['staff.tenant_id', 'staff.id'], name=op.f('fk_visit_tasks_tenant_id_assignee_id_staff')),
    sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_visit_tasks_tenant_id_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'interaction_id'], ['interactions.tenant_id', 'interactions.id'], name=op.f('fk_visit_tasks_tenant_id_interaction_id_interactions')),
    sa.ForeignKeyConstraint(['tenant_id', 'plan_id'], ['visit_plans.tenant_id', 'visit_plans.id'], name=op.f('fk_visit_tasks_tenant_id_plan_id_visit_plans'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_visit_tasks_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_visit_tasks')),
    sa.UniqueConstraint('tenant_id', 'customer_id', 'plan_id', 'due_on', name=op.f('uq_visit_tasks_tenant_id_customer_id_plan_id_due_on'))
    )
    with op.batch_alter_table('visit_tasks', schema=None) as batch_op:
        batch_op.create_index('ix_visit_tasks_tenant_assignee_due', ['tenant_id', 'assignee_id', 'status', 'due_on'], unique=False)
        batch_op.create_index('ix_visit_tasks_tenant_customer', ['tenant_id', 'customer_id', 'status'], unique=False)

    op.create_table('care_rules',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=True),
    sa.Column('template', sa.Text(), nullable=False),
    sa.Column('days_after', sa.Integer(), nullable=True),
    sa.Column('reward_id', sa.Uuid(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'reward_id'], ['rewards.tenant_id', 'rewards.id'], name=op.f('fk_care_rules_tenant_id_reward_id_rewards')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_care_rules_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_care_rules')),
    sa.UniqueConstraint('tenant_id', 'name', name=op.f('uq_care_rules_tenant_id_name'))
    )
    op.create_table('care_sends',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('rule_id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('occasion', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('delivery_id', sa.Uuid(), nullable=True),
    sa.Column('detail', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_care_sends_tenant_id_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'rule_id'], ['care_rules.tenant_id', 'care_rules.id'], name=op.f('fk_care_sends_tenant_id_rule_id_care_rules'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_care_sends_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_care_sends')),
    sa.UniqueConstraint('tenant_id', 'rule_id', 'customer_id', 'occasion', name=op.f('uq_care_sends_tenant_id_rule_id_customer_id_occasion'))
    )
    with op.batch_alter_table('care_sends', schema=None) as batch_op:
        batch_op.create_index('ix_care_sends_tenant_customer', ['tenant_id', 'customer_id'], unique=False)

    for table in TABLES:
        enable_tenant_rls(op, table)
    grant_app_role(op)


def downgrade():
    op.drop_table('care_sends')
    op.drop_table('care_rules')
    op.drop_table('visit_tasks')
    op.drop_table('visit_plans')
    with op.batch_alter_table('ticket_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_messages_tenant_ticket')

    op.drop_table('ticket_messages')
    with op.batch_alter_table('ticket_attachments', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_attachments_tenant_ticket')

    op.drop_table('ticket_attachments')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_tenant_status_due')
        batch_op.drop_index('ix_tickets_tenant_owner_status')
        batch_op.drop_index('ix_tickets_tenant_opened')
        batch_op.drop_index('ix_tickets_tenant_customer_opened')

    op.drop_table('tickets')
