"""One JSON error shape for everything under /api/: `{"code", "message", "errors"}`.

Handlers are registered both on every API blueprint (so they win over the web UI's
app-wide HTML handlers for errors raised inside API views) and app-wide for the errors
raised before any view is chosen (unknown route, wrong method); the app-wide ones hand
anything outside /api/ back to Flask's default or the web UI.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, NotFound, default_exceptions

from saas.extensions import db
from saas.services.errors import ServiceError
from saas.uploads import megabytes

log = logging.getLogger("saas.api")

API_PREFIX = "/api/"

CODES = {
    400: "bad_request", 401: "unauthorized", 402: "limit_exceeded", 403: "forbidden",
    404: "not_found", 405: "method_not_allowed", 409: "conflict", 413: "too_large",
    415: "unsupported_media_type", 422: "invalid", 429: "rate_limited",
    500: "server_error", 503: "unavailable",
}
MESSAGES = {
    401: "A valid API token is required (Authorization: Bearer crm_...).",
    404: "Not found.",
    413: "The request body is too large.",
    500: "Internal error. It has been logged.",
}


def is_api_request() -> bool:
    return request.path == "/api" or request.path.startswith(API_PREFIX)


def error_response(status: int, message: str, errors: dict[str, Any] | None = None,
                   code: str | None = None, headers: dict[str, str] | None = None) -> Response:
    """The API's error answer; also for other modules that must answer with an error."""
    body = {"code": code or CODES.get(status, "error"), "message": message,
            "errors": errors or {}}
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """webargs nests errors by location and field (`{"json": {"a": {"b": [...]}}}`);
    clients get one level keyed by dotted field path (`{"a.b": [...]}`)."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                out.update(flatten_errors(value, name))
            else:
                out[name] = [str(m) for m in (value if isinstance(value, list) else [value])]
    elif messages:
        out[prefix or "_body"] = [str(m) for m in (messages if isinstance(messages, list)
                                                  else [messages])]
    return out


_LOCATIONS = {"json", "query", "querystring", "form", "view_args", "path", "headers",
              "json_or_form", "files", "cookies"}


def _webargs_errors(data: dict) -> dict[str, list[str]]:
    messages = data.get("errors", data.get("messages")) or {}
    if isinstance(messages, dict) and set(messages) <= _LOCATIONS:
        out: dict[str, list[str]] = {}
        for location, value in messages.items():
            flat = flatten_errors(value)
            if list(flat) == ["_body"]:
                flat = {location: flat["_body"]}
            out.update(flat)
        return out
    return flatten_errors(messages)


def _http_error(exc: HTTPException) -> Response:
    db.session.rollback()
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    errors = _webargs_errors(data) if data else {}
    custom = exc.description if exc.description != type(exc).description else None
    message = (data.get("message") or custom or MESSAGES.get(status) or exc.description
               or exc.name)
    if status == 422 and not data.get("message"):
        message = "The request has invalid fields."
    if status == 400 and data and not data.get("message"):
        message = "The request is malformed."
    headers = dict(data.get("headers") or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="api"')
    if status == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(exc.valid_methods)
    if status == 429 and exc.get_headers():
        headers.update({k: v for k, v in exc.get_headers() if k.lower() == "retry-after"})
    if status == 413:
        message = f"The request body is larger than {megabytes(request.max_content_length)} MB."
    if status >= 500:
        message = MESSAGES[500]
    return error_response(status, message, errors, headers=headers)


def handle_http_exception(exc: HTTPException):
    if not is_api_request():
        return exc
    if isinstance(exc, CSRFError):
        # Every API blueprint is exempt, so a CSRF failure under /api/ means no route.
        return _http_error(NotFound())
    return _http_error(exc)


def handle_service_error(exc: ServiceError) -> Response:
    db.session.rollback()
    retry_after = getattr(exc, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    return error_response(exc.status, exc.message, exc.errors, code=exc.code, headers=headers)


def install_on_blueprint(blp: Blueprint) -> None:
    # Flask prefers an app handler for a specific status over a blueprint handler for a
    # class, so the blueprint gets one per status too.
    for status in sorted(default_exceptions):
        if status >= 400:
            blp.register_error_handler(status, handle_http_exception)
    blp.register_error_handler(HTTPException, handle_http_exception)
    blp.register_error_handler(ServiceError, handle_service_error)


def install_on_app(app: Flask) -> None:
    """Replaces flask-smorest's app-wide handler, which would answer HTML pages in JSON."""
    app.register_error_handler(HTTPException, handle_http_exception)
