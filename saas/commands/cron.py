"""`flask cron`: only the cron scheduler, for running it apart from the workers."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from redis.exceptions import RedisError

from saas.jobs.worker import NoRedis, run_cron


@click.command("cron")
@with_appcontext
def cli() -> None:
    """Run only the cron scheduler that enqueues the periodic jobs of
    saas/jobs/schedule.py (one run per slot, however many schedulers run)."""
    try:
        run_cron(current_app._get_current_object())
    except NoRedis as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    except RedisError as exc:
        click.echo(f"Error: cannot reach Redis at REDIS_URL: {exc}", err=True)
        sys.exit(1)
