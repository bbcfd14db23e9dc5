"""`flask` commands for operators."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    pass


def main() -> None:
    from flask.cli import FlaskGroup

    from saas import create_app

    FlaskGroup(create_app=create_app)()
