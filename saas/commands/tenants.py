"""`flask tenants create|list`: signing up a tenant from the shell, and an overview."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from saas.extensions import db
from saas.models import Staff, Tenant
from saas.services import tenants as tenant_service
from saas.services.errors import ServiceError
from saas.tenancy import tenant_bound


@click.group("tenants")
def cli() -> None:
    """Create and list tenants."""


@cli.command("create")
@click.argument("slug")
@click.option("--company", required=True, help="Company name.")
@click.option("--owner-name", required=True, help="The owner's name.")
@click.option("--email", required=True, help="The owner's email (their login).")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="The owner's password (asked for when not given).")
@click.option("--locale", default="zh_CN", show_default=True,
              type=click.Choice(tenant_service.LOCALES))
@click.option("--timezone", "tz", default="Asia/Shanghai", show_default=True)
@click.option("--currency", default="CNY", show_default=True,
              type=click.Choice(tenant_service.CURRENCIES))
@click.option("--template", default="retail", show_default=True,
              help="Tenant template from tenants/*.toml.")
@with_appcontext
def create(slug: str, company: str, owner_name: str, email: str, password: str, locale: str,
           tz: str, currency: str, template: str) -> None:
    """Sign up tenant SLUG with its owner, exactly as the sign-up page does."""
    try:
        tenant, owner = tenant_service.signup(db.session, tenant_service.SignupData(
            company=company, slug=slug, owner_name=owner_name, email=email,
            password=password, locale=locale, timezone=tz, currency=currency,
            template=template))
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        click.echo(f"Error: {exc.message}", err=True)
        for field, messages in exc.errors.items():
            for message in messages:
                click.echo(f"  {field}: {message}", err=True)
        sys.exit(1)
    click.echo(f"Created tenant {tenant.slug} ({tenant.id}); owner {owner.email}.")


@cli.command("list")
@with_appcontext
def list_tenants() -> None:
    """Every tenant with its template, locale, status and number of active staff."""
    tenants = db.session.scalars(select(Tenant).order_by(Tenant.created_at, Tenant.slug)).all()
    if not tenants:
        click.echo("No tenants.")
        return
    click.echo(f"{'slug':<24} {'template':<10} {'locale':<6} {'status':<8} {'staff':>5}  name")
    for tenant in tenants:
        with tenant_bound(db.session, tenant.id):
            staff = db.session.scalar(select(func.count()).select_from(Staff).where(
                Staff.active.is_(True)))
        click.echo(f"{tenant.slug:<24} {tenant.template:<10} {tenant.locale:<6} "
                   f"{tenant.status:<8} {staff:>5}  {tenant.name}")
    db.session.rollback()


