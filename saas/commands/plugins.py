"""`flask plugins list|retry`: installed plugins, and retrying deliveries after an outage."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from saas.extensions import db
from saas.hooks.manager import get_host
from saas.services import plugin_deliveries as delivery_service
from saas.services.context import Actor
from saas.services.errors import ServiceError
from saas.services.tenants import tenant_by_slug
from saas.tenancy import bind_tenant


@click.group("plugins")
def cli() -> None:
    """Integration plugins and their deliveries."""


@cli.command("list")
@with_appcontext
def list_plugins() -> None:
    """Installed plugins (name, version, hooks) and those that failed to load."""
    host = get_host()
    for info in host.installed():
        click.echo(f"{info.name}\t{info.version or '-'}\t{', '.join(info.hooks)}")
    for name, error in sorted(host.broken.items()):
        click.echo(f"{name}\tBROKEN\t{error}")


@cli.command("retry")
@click.option("--tenant", "slug", required=True, help="Tenant slug.")
@click.option("--status", type=click.Choice(delivery_service.RETRYABLE), default=None,
              help="Only deliveries in this status (default: failed, dead and paused).")
@click.option("--plugin", default=None, help="Only this plugin's deliveries.")
@with_appcontext
def retry(slug: str, status: str | None, plugin: str | None) -> None:
    """Queue a tenant's failed, dead or paused deliveries again, with fresh attempts."""
    tenant = tenant_by_slug(db.session, slug)
    if tenant is None:
        click.echo(f"No tenant {slug}.", err=True)
        sys.exit(1)
    bind_tenant(db.session, tenant.id)
    try:
        count = delivery_service.retry_matching(
            db.session, Actor.system("flask plugins retry"),
            delivery_service.DeliveryFilter(status=status, plugin=plugin))
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        click.echo(exc.message, err=True)
        sys.exit(1)
    click.echo(f"{count} deliveries queued again.")
