"""`flask demo`: a ready-to-try tenant with realistic data."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade

from saas import demo
from saas.extensions import db


@click.command("demo")
@click.option("--slug", default=demo.DEMO_SLUG, show_default=True, help="Tenant address.")
@click.option("--seed", default=demo.DEFAULT_SEED, show_default=True, type=int,
              help="Random seed: the same seed gives the same data.")
@click.option("--size", default=demo.DEFAULT_SIZE, show_default=True,
              type=click.IntRange(1, 100_000), help="How many customers (others scale).")
@click.option("--no-migrate", is_flag=True, help="Skip `db upgrade heads`.")
@with_appcontext
def cli(slug: str, seed: int, size: int, no_migrate: bool) -> None:
    """Migrate to heads, create (or complete) the demo tenant with staff of every role
    and generated data, and print its URL and the owner's login. Safe to re-run."""
    if not no_migrate:
        upgrade(revision="heads")
    try:
        result = demo.run(db.session, slug=slug, seed=seed, size=size)
    except Exception:
        db.session.rollback()
        raise
    state = "created" if result.created else "already there"
    ran = ", ".join(result.ran) or "nothing new"
    base = current_app.config["BASE_URL"].rstrip("/")
    click.echo(f"Demo tenant '{slug}' {state}; generators run: {ran}.")
    click.echo(f"  URL:      {base}/t/{slug}/login")
    click.echo(f"  Login:    {demo.owner_email(slug)}")
    click.echo(f"  Password: {demo.DEMO_PASSWORD}")
