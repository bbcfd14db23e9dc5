"""`flask keys generate|rotate`: the encryption key ring (see saas/crypto.py)."""

from __future__ import annotations

import sys

import click
from cryptography.fernet import Fernet
from flask.cli import with_appcontext

from saas.crypto import encrypted_columns, rotate_all
from saas.extensions import db


@click.group("keys")
def cli() -> None:
    """Manage the encryption keys of ENCRYPTION_KEYS."""


@cli.command("generate")
def generate() -> None:
    """Print a new random Fernet key, to put first in ENCRYPTION_KEYS."""
    click.echo(Fernet.generate_key().decode())


@cli.command("rotate")
@click.option("--batch", default=500, show_default=True, type=click.IntRange(1, 100_000),
              help="Rows re-encrypted per transaction.")
@with_appcontext
def rotate(batch: int) -> None:
    """Re-encrypt every registered encrypted column with the first key of
    ENCRYPTION_KEYS. Exits 1 if some value no key can decrypt (they are listed)."""
    columns = encrypted_columns()
    if not columns:
        click.echo("No encrypted columns are registered; nothing to do.")
        return
    report = rotate_all(db.session, batch=batch)
    for label, count in report.rotated.items():
        click.echo(f"{label}: {count} re-encrypted")
    if report.failed:
        for label, idents in report.failed.items():
            click.echo(f"{label}: {len(idents)} could not be decrypted with any key: "
                       f"{', '.join(idents[:20])}", err=True)
        sys.exit(1)
