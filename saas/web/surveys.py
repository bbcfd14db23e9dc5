"""Staff survey pages: the list and the results (by dimension, agent, tier, month, with a
trend chart drawn by the locally served Chart.js)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l

from saas.extensions import db
from saas.services import survey_results, surveys
from saas.web import nav
from saas.web.access import require

bp = Blueprint("surveys", __name__, url_prefix="/t/<slug>/surveys")
nav.add("surveys.index", _l("Surveys"), permission="reports.read", order=57)


@bp.get("/")
@require("reports.read")
def index():
    return render_template("surveys/index.html", items=surveys.list_surveys(db.session))


@bp.get("/<uuid:survey_id>")
@require("reports.read")
def results(survey_id):
    survey = surveys.get_survey(db.session, survey_id)
    return render_template("surveys/results.html", survey=survey,
                           results=survey_results.results(db.session, survey.id))
