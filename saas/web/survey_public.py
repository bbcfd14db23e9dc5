"""The public survey page behind a signed link (no login): answer once, then thanks.

Its own blueprint (like unsubscribe) so the page works for customers of any tenant,
read-only accounts included. A forged, foreign, expired or used link is a page with the
reason and a 4xx; bad scores come back as field errors next to their question.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request

from saas.extensions import db
from saas.services import surveys as survey_service
from saas.services.errors import InvalidInput, ServiceError

bp = Blueprint("survey_public", __name__)


def _form_values(survey) -> dict:
    out = {}
    for q in survey.questions:
        if q["kind"] == "multiple":
            out[q["id"]] = request.form.getlist(q["id"])
        else:
            out[q["id"]] = request.form.get(q["id"], "")
    return out


@bp.route("/t/<slug>/s/<token>", methods=["GET", "POST"])
def answer(token: str):
    try:
        survey, _inv = survey_service.open_token(db.session, token)
    except ServiceError as exc:
        return render_template("surveys/public_error.html", message=exc.message,
                               status=exc.status), exc.status
    values: dict = {}
    errors: dict = {}
    if request.method == "POST":
        values = _form_values(survey)
        try:
            survey_service.answer(db.session, token, values)
            db.session.commit()
            return render_template("surveys/public_thanks.html", survey=survey)
        except InvalidInput as exc:
            db.session.rollback()
            errors = exc.errors
        except ServiceError as exc:
            db.session.rollback()
            return render_template("surveys/public_error.html", message=exc.message,
                                   status=exc.status), exc.status
    return render_template("surveys/public_answer.html", survey=survey, values=values,
                           errors=errors, ranges=survey_service.RANGES), \
        422 if errors else 200
