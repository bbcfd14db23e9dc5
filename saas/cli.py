"""`flask` commands for operators: every module in `saas/commands/` with a click
command or group named `cli` is added to `app.cli` (see docs/cli.md)."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from saas import commands
    from saas.discovery import modules_with

    for _module, command in modules_with(commands, "cli"):
        app.cli.add_command(command)


def main() -> None:
    from flask.cli import FlaskGroup

    from saas import create_app

    FlaskGroup(create_app=create_app)()
