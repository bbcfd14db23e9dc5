"""REST API at /api/v1 (flask-smorest). Every module here with a `blp` is registered."""

from __future__ import annotations

import sys

from flask import Flask
from flask_smorest import Api

from saas.discovery import modules_with


def register(app: Flask, api: Api) -> None:
    for _module, blp in modules_with(sys.modules[__name__], "blp"):
        api.register_blueprint(blp, url_prefix=f"/api/v1{blp.url_prefix or ''}")
