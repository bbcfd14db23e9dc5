"""REST API at /api/v1 (flask-smorest). Every module here with a `blp` is registered.

See "API" in docs/dev-conventions.md for how to add endpoints, docs/api.md for clients.
"""

from __future__ import annotations

import sys

import marshmallow as ma
from flask import Flask
from flask_smorest import Api, Blueprint
from webargs.flaskparser import FlaskParser

from saas.discovery import modules_with


class ApiParser(FlaskParser):
    """Query strings are checked like bodies: webargs drops an unknown query parameter
    by default, so a typo (`?teir=gold`) silently returned the unfiltered list. Now it
    is a 422 naming the parameter; an endpoint that takes open-ended filters says so
    with `unknown=INCLUDE` on its `@blp.arguments`."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
                                   "query": ma.RAISE, "querystring": ma.RAISE}


# Set before any API module is imported (they are submodules of this package): the
# parser is bound when `@blp.arguments` decorates a view.
Blueprint.ARGUMENTS_PARSER = ApiParser()

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "code": {"type": "string", "example": "invalid"},
        "message": {"type": "string"},
        "errors": {"type": "object", "description": "Field name → messages.",
                   "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
}
BEARER = {"type": "http", "scheme": "bearer",
          "description": "An API token: `Authorization: Bearer crm_<tenant>_<secret>`."}


def register(app: Flask, api: Api) -> None:
    from saas.api import common, errors
    from saas.extensions import csrf

    api.spec.components.security_scheme("bearerAuth", BEARER)
    api.spec.options["security"] = [{"bearerAuth": []}]
    api.spec.components.schemas["Error"] = ERROR_SCHEMA  # ours, not flask-smorest's
    # The web UI's app-wide handler delegates /api/ errors to this attribute.
    api.handle_http_exception = errors.handle_http_exception  # type: ignore[method-assign]
    errors.install_on_app(app)
    # First: modules' own before_app_request hooks (plan rules) rely on g.staff being set.
    app.before_request(common.authenticate)
    for _module, blp in modules_with(sys.modules[__name__], "blp"):
        if not getattr(blp, "_api_installed", False):  # a blueprint is set up only once
            errors.install_on_blueprint(blp)
            csrf.exempt(blp)
            blp._api_installed = True
        api.register_blueprint(blp, url_prefix=f"/api/v1{blp.url_prefix or ''}")
