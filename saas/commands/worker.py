"""`flask worker`: the RQ worker, with RQ's scheduler and the cron scheduler."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from redis.exceptions import RedisError

from saas.jobs.worker import NoRedis, run_worker


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run what is queued, then exit (no cron).")
@click.option("--no-cron", is_flag=True, help="Do not start the cron scheduler.")
@click.option("--name", default=None, help="Worker name (shown by `rq info`).")
@with_appcontext
def cli(burst: bool, no_cron: bool, name: str | None) -> None:
    """Run an RQ worker on REDIS_URL for queue RQ_QUEUE, with RQ's scheduler (delayed
    retries) and, unless --burst or --no-cron, the cron scheduler for periodic jobs."""
    try:
        run_worker(current_app._get_current_object(), burst=burst, cron=not no_cron,
                   name=name)
    except NoRedis as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    except RedisError as exc:
        click.echo(f"Error: cannot reach Redis at REDIS_URL: {exc}", err=True)
        sys.exit(1)
