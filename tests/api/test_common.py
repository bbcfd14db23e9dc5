"""The building blocks on a bare Flask app: public views and error mapping that no
endpoint of the real app exercises (a 429 from a rate limiter, `@public`)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.views import MethodView
from werkzeug.exceptions import TooManyRequests

from saas.api import common, errors
from saas.extensions import db
from saas.services.errors import ServiceError


class _Throttled(ServiceError):
    status = 429
    code = "rate_limited"
    retry_after = 12


@pytest.fixture
def mini():
    app = Flask(__name__)
    app.config.update(SQLALCHEMY_DATABASE_URI="sqlite://", TESTING=True)
    db.init_app(app)
    errors.install_on_app(app)
    app.before_request(common.authenticate)

    @app.get("/api/v1/hook")
    @common.public
    def hook():
        return {"ok": True}

    @app.get("/api/v1/private")
    def private():
        return {"ok": True}

    class Mixed(MethodView):
        @common.public
        def post(self):
            return {"posted": True}

        def get(self):
            return {"ok": True}

    app.add_url_rule("/api/v1/mixed", view_func=Mixed.as_view("mixed"))

    @app.get("/api/v1/busy")
    @common.public
    def busy():
        raise TooManyRequests(retry_after=30)

    @app.get("/api/v1/throttled")
    @common.public
    def throttled():
        raise _Throttled("Slow down.")

    app.register_error_handler(ServiceError, errors.handle_service_error)
    return app.test_client()


def test_public_views_need_no_token(mini):
    assert mini.get("/api/v1/hook").json == {"ok": True}
    assert mini.post("/api/v1/mixed").json == {"posted": True}


def test_other_views_still_need_a_token(mini):
    assert mini.get("/api/v1/private").status_code == 401
    assert mini.get("/api/v1/mixed").status_code == 401


def test_rate_limit_is_429_with_retry_after(mini):
    r = mini.get("/api/v1/busy")
    assert r.status_code == 429
    assert r.json["code"] == "rate_limited"
    assert r.headers["Retry-After"] == "30"


def test_service_error_with_retry_after_sets_the_header(mini):
    r = mini.get("/api/v1/throttled")
    assert (r.status_code, r.json["code"], r.json["message"]) == (429, "rate_limited",
                                                                  "Slow down.")
    assert r.headers["Retry-After"] == "12"


@pytest.mark.parametrize("messages,expected", [
    ({"json": {"name": ["Bad."]}}, {"name": ["Bad."]}),
    ({"json": {"address": {"city": ["Bad."]}}}, {"address.city": ["Bad."]}),
    ({"json": {"items": {0: {"sku": ["Bad."]}}}}, {"items.0.sku": ["Bad."]}),
    ({"query": {"limit": ["Bad."]}, "json": {"x": ["Y."]}}, {"limit": ["Bad."], "x": ["Y."]}),
    ({"json": ["Invalid JSON body."]}, {"json": ["Invalid JSON body."]}),
])
def test_webargs_errors_are_flattened_to_field_paths(messages, expected):
    assert errors._webargs_errors({"messages": messages}) == expected
