"""One way for a staff page to save: call the service, commit; on a `ServiceError` roll
back and answer with the page again (or a redirect), carrying the error's status.

Written out by hand in every view, the rollback or the status was easy to forget in one
of them; here it is done once. Use it where a view does exactly that; a view that handles
some errors differently (re-raising a 404, a read-only preview) keeps its own `try`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import abort, make_response, redirect
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from saas.extensions import db
from saas.services.errors import ServiceError
from saas.web.access import flash_error, form_errors

T = TypeVar("T")


def commit_or_rerender(write: Callable[[], T],
                       rerender: Callable[[ServiceError], ResponseReturnValue],
                       form: FlaskForm | None = None) -> T:
    """Run `write` and commit, returning its result; on a `ServiceError` roll back, put
    the errors on `form` (when given) and end the request with `rerender(exc)`.

    The failure response leaves through `abort`, so the view reads straight on to its
    success path: the lines after this call run only when the write was committed.
    `rerender` runs after the rollback, so it must load again what it shows.
    """
    try:
        result = write()
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        if form is not None:
            form_errors(form, exc)
        abort(make_response(rerender(exc)))
    return result


def back_with_error(location: str, code: int = 302) -> Callable[[ServiceError], Response]:
    """A `rerender` for actions without a form of their own: flash the error and go back
    to `location`."""

    def failed(exc: ServiceError) -> Response:
        flash_error(exc)
        return redirect(location, code)

    return failed
