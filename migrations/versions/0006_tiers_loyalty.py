"""tiers: measures, tiers and tier history, segments, loyalty ledger, rewards, referrals

Revision ID: 0006_tiers_loyalty
Revises: 0002_customers
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from saas.db_admin import enable_tenant_rls, grant_app_role

revision = '0006_tiers_loyalty'
down_revision = '0002_customers'
branch_labels = ('tiers',)
depends_on = None

TABLES = ('loyalty_programs', 'membership_levels', 'rewards', 'segments', 'tier_rulesets', 'tiers', 'coupons', 'customer_measures', 'customer_tiers', 'points_balances', 'points_entries', 'redemptions', 'referral_codes', 'referrals', 'tier_changes')


def upgrade():
    op.create_table('loyalty_programs',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('points_per_unit', sa.Float(), nullable=False),
    sa.Column('expiry_months', sa.Integer(), nullable=False),
    sa.Column('notice_days', sa.Integer(), nullable=False),
    sa.Column('tier_multipliers', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('bonus', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('cap_per_order', sa.Integer(), nullable=True),
    sa.Column('cap_per_month', sa.Integer(), nullable=True),
    sa.Column('contribution_rules', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_loyalty_programs_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_loyalty_programs')),
    sa.UniqueConstraint('tenant_id', name=op.f('uq_loyalty_programs_tenant_id'))
    )
    op.create_table('membership_levels',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('basis', sa.String(length=10), nullable=False),
    sa.Column('threshold', sa.Integer(), nullable=False),
    sa.Column('window_months', sa.Integer(), nullable=False),
    sa.Column('benefits', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_membership_levels_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_membership_levels')),
    sa.UniqueConstraint('tenant_id', 'name', name=op.f('uq_membership_levels_tenant_id_name'))
    )
    op.create_table('rewards',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('points_cost', sa.Integer(), nullable=False),
    sa.Column('stock', sa.Integer(), nullable=True),
    sa.Column('discount_percent', sa.Integer(), nullable=True),
    sa.Column('valid_days', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_rewards_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_rewards')),
    sa.UniqueConstraint('tenant_id', 'name', name=op.f('uq_rewards_tenant_id_name'))
    )
    op.create_table('segments',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('rule', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_segments_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_segments')),
    sa.UniqueConstraint('tenant_id', 'name', name=op.f('uq_segments_tenant_id_name'))
    )
    op.create_table('tier_rulesets',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('tiers', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('created_by_label', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_tier_rulesets_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_tier_rulesets')),
    sa.UniqueConstraint('tenant_id', 'version', name=op.f('uq_tier_rulesets_tenant_id_version'))
    )
    op.create_table('tiers',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('colour', sa.String(length=7), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('rule', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_tiers_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_tiers')),
    sa.UniqueConstraint('tenant_id', 'name', name=op.f('uq_tiers_tenant_id_name'))
    )
    op.create_table('coupons',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.String(length=24), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('reward_id', sa.Uuid(), nullable=False),
    sa.Column('discount_percent', sa.Integer(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('used_on', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_coupons_tenant_id_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'reward_id'], ['rewards.tenant_id', 'rewards.id'], name=op.f('fk_coupons_tenant_id_reward_id_rewards')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_coupons_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_coupons')),
    sa.UniqueConstraint('tenant_id', 'code', name=op.f('uq_coupons_tenant_id_code'))
    )
    op.create_table('customer_measures',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('spend_12m', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('spend_total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('order_count', sa.Integer(), nullable=False),
    sa.Column('first_order_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_order_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('days_since_last_order', sa.Integer(), nullable=True),
    sa.Column('avg_order_value', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('avg_interval_days', sa.Float(), nullable=True),
    sa.Column('last_gap_days', sa.Float(), nullable=True),
    sa.Column('interactions_90d', sa.Integer(), nullable=False),
    sa.Column('points_balance', sa.Integer(), nullable=False),
    sa.Column('r_score', sa.Integer(), nullable=False),
    sa.Column('f_score', sa.Integer(), nullable=False),
    sa.Column('m_score', sa.Integer(), nullable=False),
    sa.Column('rfm_score', sa.Integer(), nullable=False),
    sa.Column('value_segment', sa.String(length=10), nullable=False),
    sa.Column('behaviour', sa.String(length=10), nullable=False),
    sa.Column('lifecycle', sa.String(length=12), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_customer_measures_tenant_id_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_customer_measures_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_customer_measures'))
    )
    with op.batch_alter_table('customer_measures', schema=None) as batch_op:
        batch_op.create_index('ix_customer_measures_tenant_lifecycle', ['tenant_id', 'lifecycle'], unique=False)

    op.create_table('customer_tiers',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tier_id', sa.Uuid(), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('rule_version', sa.Integer(), nullable=True),
    sa.Column('override_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('override_by_id', sa.Uuid(), nullable=True),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_customer_tiers_tenant_id_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'tier_id'], ['tiers.tenant_id', 'tiers.id'], name=op.f('fk_customer_tiers_tenant_id_tier_id_tiers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_customer_tiers_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_customer_tiers'))
    )
    with op.batch_alter_table('customer_tiers', schema=None) as batch_op:
        batch_op.create_index('ix_customer_tiers_tenant_tier', ['tenant_id', 'tier_id'], unique=False)

    op.create_table('points_balances',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('balance', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_points_balances_tenant_id_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_points_balances_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_points_balances'))
    )
    op.create_table('points_entries',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('balance_after', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('source_type', sa.String(length=30), nullable=True),
    sa.Column('source_id', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('actor_label', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_points_entries_tenant_id_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_points_entries_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_points_entries')),
    sa.UniqueConstraint('tenant_id', 'kind', 'source_type', 'source_id', name=op.f('uq_points_entries_tenant_id_kind_source_type_source_id'))
    )
    with op.batch_alter_table('points_entries', schema=None) as batch_op:
        batch_op.create_index('ix_points_entries_tenant_customer', ['tenant_id', 'customer_id', 'created_at'], unique=False)

    op.create_table('redemptions',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('reward_id', sa.Uuid(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Uuid(), nullable=False),
    sa.Column('coupon_code', sa.String(length=24), nullable=True),
    sa.Column('actor_label', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_redemptions_tenant_id_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'reward_id'], ['rewards.tenant_id', 'rewards.id'], name=op.f('fk_redemptions_tenant_id_reward_id_rewards')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_redemptions_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_redemptions'))
    )
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.create_index('ix_redemptions_tenant_customer', ['tenant_id', 'customer_id', 'created_at'], unique=False)

    op.create_table('referral_codes',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_referral_codes_tenant_id_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_referral_codes_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_referral_codes')),
    sa.UniqueConstraint('tenant_id', 'code', name=op.f('uq_referral_codes_tenant_id_code')),
    sa.UniqueConstraint('tenant_id', 'customer_id', name=op.f('uq_referral_codes_tenant_id_customer_id'))
    )
    op.create_table('referrals',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('referrer_id', sa.Uuid(), nullable=False),
    sa.Column('referred_id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('rewarded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'referred_id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_referrals_tenant_id_referred_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'referrer_id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_referrals_tenant_id_referrer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_referrals_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_referrals')),
    sa.UniqueConstraint('tenant_id', 'referred_id', name=op.f('uq_referrals_tenant_id_referred_id'))
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index('ix_referrals_tenant_referrer', ['tenant_id', 'referrer_id'], unique=False)

    op.create_table('tier_changes',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('from_tier', sa.String(length=40), nullable=True),
    sa.Column('to_tier', sa.String(length=40), nullable=True),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('rule_version', sa.Integer(), nullable=True),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('actor_label', sa.String(length=254), nullable=True),
    sa.Column('override_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_tier_changes_tenant_id_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_tier_changes_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_tier_changes'))
    )
    with op.batch_alter_table('tier_changes', schema=None) as batch_op:
        batch_op.create_index('ix_tier_changes_tenant_created', ['tenant_id', 'created_at'], unique=False)
        batch_op.create_index('ix_tier_changes_tenant_customer', ['tenant_id', 'customer_id', 'created_at'], unique=False)
    for table in TABLES:
        enable_tenant_rls(op, table)
    grant_app_role(op)


def downgrade():
    with op.batch_alter_table('tier_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_tier_changes_tenant_customer')
        batch_op.drop_index('ix_tier_changes_tenant_created')

    op.drop_table('tier_changes')
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index('ix_referrals_tenant_referrer')

    op.drop_table('referrals')
    op.drop_table('referral_codes')
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.drop_index('ix_redemptions_tenant_customer')

    op.drop_table('redemptions')
    with op.batch_alter_table('points_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_points_entries_tenant_customer')

    op.drop_table('points_entries')
    op.drop_table('points_balances')
    with op.batch_alter_table('customer_tiers', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_tiers_tenant_tier')

    op.drop_table('customer_tiers')
    with op.batch_alter_table('customer_measures', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_measures_tenant_lifecycle')

    op.drop_table('customer_measures')
    op.drop_table('coupons')
    op.drop_table('tiers')
    op.drop_table('tier_rulesets')
    op.drop_table('segments')
    op.drop_table('rewards')
    op.drop_table('membership_levels')
    op.drop_table('loyalty_programs')
