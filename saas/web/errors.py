"""Error pages (and JSON for the API) for HTTP errors and uncaught service errors."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from saas.extensions import db
from saas.services.errors import ServiceError
from saas.uploads import megabytes
from saas.web.messages import translate_message

bp = Blueprint("errors", __name__)

TITLES = {
    400: _l("Bad request"),
    401: _l("Please log in"),
    402: _l("Plan limit reached"),
    403: _l("You do not have access to this page"),
    404: _l("Page not found"),
    405: _l("Not allowed"),
    409: _l("This cannot be done right now"),
    413: _l("The upload is too large"),
    422: _l("Some input is not valid"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong"),
}
EXPLANATIONS = {
    400: _l("The request could not be understood. Go back and try again."),
    401: _l("You need to log in to see this page."),
    403: _l("Your role does not include this. Ask an administrator if you need it."),
    404: _l("The page or record does not exist, or it belongs to another account."),
    413: _l("Files and forms are limited in size. Try a smaller file."),
    429: _l("Please wait a minute before you try again."),
    500: _l("We have been notified. Please try again in a moment."),
}


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _render(status: int, message: str | None = None):
    if _wants_json():
        body = {"code": status, "status": str(TITLES.get(status, "Error")),
                "message": message or str(EXPLANATIONS.get(status, ""))}
        return jsonify(body), status
    return render_template("errors/error.html", status=status,
                           title=TITLES.get(status, TITLES[400]),
                           message=message or EXPLANATIONS.get(status, "")), status


@bp.app_errorhandler(ServiceError)
def service_error(exc: ServiceError):
    db.session.rollback()
    return _render(exc.status, translate_message(exc.message))


@bp.app_errorhandler(CSRFError)
def csrf_error(exc: CSRFError):
    return _render(400, str(_l("The form has expired or was not sent by this site. "
                               "Reload the page and try again.")))


@bp.app_errorhandler(HTTPException)
def http_error(exc: HTTPException):
    if exc.code is None or exc.code < 400:
        return exc
    if _wants_json():
        from saas.extensions import api

        return api.handle_http_exception(exc)
    if exc.code == 413:
        return _render(413, str(_l("Files are limited to %(max)s MB here. Try a smaller file.",
                                   max=megabytes(request.max_content_length))))
    return _render(exc.code)


@bp.app_errorhandler(500)
def server_error(exc):
    db.session.rollback()
    return _render(500)
