"""`flask billing show|set-plan`: a tenant's plan and usage, and plans granted by hand."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from saas.billing.plans import PLANS
from saas.billing.state import BillingConfig
from saas.extensions import db
from saas.services import billing as billing_service
from saas.services.errors import ServiceError
from saas.services.tenants import tenant_by_slug
from saas.tenancy import tenant_bound


@click.group("billing")
def cli() -> None:
    """Plans and billing state of tenants."""


def _tenant(slug: str):
    tenant = tenant_by_slug(db.session, slug)
    if tenant is None:
        click.echo(f"Error: no tenant {slug!r}.", err=True)
        sys.exit(1)
    return tenant


@cli.command("show")
@click.argument("slug")
@with_appcontext
def show(slug: str) -> None:
    """Plan, subscription, dunning state and usage of tenant SLUG."""
    tenant = _tenant(slug)
    config = BillingConfig.from_mapping(current_app.config)
    with tenant_bound(db.session, tenant.id):
        overview = billing_service.overview(db.session, tenant, config)
    state = overview.state
    click.echo(f"plan: {state.plan.key}" + ("" if state.enabled else " (billing off)"))
    click.echo(f"subscription: {state.status or '-'}")
    if state.read_only:
        click.echo("read-only: payment overdue")
    elif state.in_grace:
        click.echo(f"grace until: {state.grace_until:%Y-%m-%d %H:%M} UTC")
    if state.cancel_at:
        click.echo(f"cancels at: {state.cancel_at:%Y-%m-%d %H:%M} UTC")
    for usage in overview.usage:
        allowed = "unlimited" if usage.allowed is None else usage.allowed
        click.echo(f"{usage.limit:<10} {usage.used:>8} / {allowed}")


@cli.command("set-plan")
@click.argument("slug")
@click.argument("plan", type=click.Choice(list(PLANS)))
@with_appcontext
def set_plan(slug: str, plan: str) -> None:
    """Put tenant SLUG on PLAN without Stripe (refused while a subscription is live)."""
    tenant = _tenant(slug)
    try:
        billing_service.set_plan_by_operator(db.session, tenant, plan)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(1)
    click.echo(f"{slug} is now on {plan}.")
