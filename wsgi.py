"""Entry point for gunicorn and `flask run`."""

from saas import create_app

app = create_app()
