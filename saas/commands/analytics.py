"""`flask analytics back-test`: how well the churn warning would have done."""

from __future__ import annotations

import sys
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import click
from flask.cli import with_appcontext

from saas.analytics import backtest
from saas.extensions import db
from saas.services.errors import ServiceError
from saas.services.tenants import tenant_by_slug
from saas.tenancy import tenant_bound


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


@click.group("analytics")
def cli() -> None:
    """Analytics figures of a tenant, computed on demand."""


@cli.command("back-test")
@click.argument("slug")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Flag customers as of this day (default: DAYS ago).")
@click.option("--days", default=180, show_default=True,
              help="Horizon: a customer churned without an order in these days.")
@with_appcontext
def back_test(slug: str, as_of: datetime | None, days: int) -> None:
    """Score tenant SLUG as it was AS_OF and count the customers who churned in the
    next DAYS that were flagged ahead of time (recall, precision)."""
    tenant = tenant_by_slug(db.session, slug)
    if tenant is None:
        click.echo(f"Error: no tenant {slug!r}.", err=True)
        sys.exit(1)
    start = None
    if as_of is not None:
        day: date = as_of.date()
        start = datetime.combine(day, time(), ZoneInfo(tenant.timezone or "UTC"))
    with tenant_bound(db.session, tenant.id):
        try:
            report = backtest.run(db.session, start, days)
        except ServiceError as exc:
            for field, messages in (exc.errors or {}).items():
                click.echo(f"Error: {field}: {messages[0]}", err=True)
            sys.exit(2)
        finally:
            db.session.rollback()
    s = report.summary
    click.echo(f"as of:                {s.as_of:%Y-%m-%d} (+{s.horizon_days} days)")
    click.echo(f"customers with orders:{s.customers:>8}")
    click.echo(f"flagged at risk:      {s.flagged:>8}")
    click.echo(f"churned:              {s.churned:>8}")
    click.echo(f"churned and flagged:  {s.flagged_and_churned:>8}")
    click.echo(f"recall:               {_pct(s.recall):>8}")
    click.echo(f"precision:            {_pct(s.precision):>8}")
    click.echo(f"value caught / missed: {report.value_flagged_and_churned} / "
               f"{report.value_missed}")
    for code, n in report.caught_by.items():
        click.echo(f"caught by {code}: {n}")
