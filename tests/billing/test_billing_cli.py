"""Operator commands: `flask billing show` and `flask billing set-plan`."""

from __future__ import annotations

from saas.billing.state import tenant_state
from saas.extensions import db
from tests.billing.support import checkout_completed, deliver, event


def invoke(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


def test_show_prints_plan_and_usage(app, billing_on, make_tenant):
    tenant = make_tenant()
    result = invoke(app, "billing", "show", tenant.slug)
    assert result.exit_code == 0, result.output
    assert "plan: free" in result.output
    assert "seats             1 / 3" in result.output


def test_show_unknown_tenant_fails(app):
    result = invoke(app, "billing", "show", "no-such-tenant")
    assert result.exit_code == 1 and "no tenant" in result.output


def test_operator_grants_a_plan_without_stripe(app, billing_on, make_tenant):
    tenant = make_tenant()
    result = invoke(app, "billing", "set-plan", tenant.slug, "enterprise")
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert tenant_state(db.session, tenant.id).plan.key == "enterprise"
        from sqlalchemy import select

        from saas.models import AuditEntry

        tenant.bind()
        entry = db.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "billing.plan_set")).one()
        assert entry.actor_label == "operator"
        assert entry.changes == {"plan": ["free", "enterprise"]}


def test_operator_cannot_override_a_live_subscription(app, client, billing_on, make_tenant):
    tenant = make_tenant()
    deliver(client, event("checkout.session.completed", checkout_completed(tenant.id)))
    result = invoke(app, "billing", "set-plan", tenant.slug, "enterprise")
    assert result.exit_code == 1 and "live Stripe subscription" in result.output
    with app.app_context():
        assert tenant_state(db.session, tenant.id).plan.key == "pro"


def test_unknown_plan_is_refused_by_the_command(app, make_tenant):
    tenant = make_tenant()
    result = invoke(app, "billing", "set-plan", tenant.slug, "gold")
    assert result.exit_code == 2
