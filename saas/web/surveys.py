"""Staff survey pages: the list, the builder (CSAT / NPS / multi-question, each question
with kind, choices, dimension and order; automatic triggers) and the results (NPS/CSAT by
dimension, agent, tier and month, charts drawn by the locally served Chart.js, text
answers).

Reading results is `reports.read`; building surveys changes what customers receive, so
it is `campaigns.manage`, like campaigns.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (
    BooleanField,
    Form,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields import FieldList

from saas.extensions import db
from saas.models import Staff
from saas.models.surveys import Survey
from saas.services import survey_results, surveys
from saas.services.errors import ServiceError
from saas.services.plugins import available_channels
from saas.web import nav
from saas.web.access import request_actor, require
from saas.web.forms import choices
from saas.web.messages import translate_message
from saas.web.saving import commit_or_rerender

bp = Blueprint("surveys", __name__, url_prefix="/t/<slug>/surveys")
nav.add("surveys.index", _l("Surveys"), permission="reports.read", order=57)

ROWS = 6
KIND_LABELS = {"csat": _l("CSAT (1-5)"), "nps": _l("NPS (0-10)"),
               "custom": _l("Several questions")}
QUESTION_LABELS = {"rating": _l("Rating 1-5"), "csat": _l("CSAT 1-5"), "nps": _l("NPS 0-10"),
                   "single": _l("One choice"), "multiple": _l("Several choices"),
                   "text": _l("Free text")}
TRIGGER_LABELS = {"ticket.resolved": _l("A ticket is resolved"),
                  "visit.recorded": _l("A visit is recorded")}


class QuestionForm(Form):
    id = HiddenField()
    order = StringField(_l("Order"))
    text = StringField(_l("Question"))
    kind = SelectField(_l("Answer kind"), choices=choices(QUESTION_LABELS.items()))
    dimension = StringField(_l("Dimension"))
    choices = TextAreaField(_l("Choices (one per line)"))
    required = BooleanField(_l("Answer required"), default=True)


class SurveyForm(FlaskForm):
    name = StringField(_l("Name"))
    kind = SelectField(_l("Type"), choices=choices(KIND_LABELS.items()))
    trigger = SelectField(_l("Send automatically when"))
    channel = SelectField(_l("Send the link through"))
    expiry_days = StringField(_l("Link valid for (days)"))
    active = BooleanField(_l("Active"), default=True)
    questions = FieldList(FormField(QuestionForm), min_entries=ROWS)
    question_errors: list[str] = []

    def fill_choices(self) -> None:
        self.trigger.choices = choices([("", _("Never (campaigns and links only)"))]
                                       + list(TRIGGER_LABELS.items()))
        self.channel.choices = choices([("", _("No channel (staff share the link)"))] + [
            (c, c) for c in available_channels(db.session)])

    def data_for_service(self) -> tuple[dict[str, Any] | None, list[int]]:
        """Filled question rows in their order (rows with a bad order number get a field
        error and None is returned); empty rows are dropped."""
        rows, bad = [], False
        for pos, entry in enumerate(self.questions.entries):
            q = entry.form
            if not (q.text.data or "").strip():
                continue
            raw = (q.order.data or "").strip()
            try:
                order = int(raw) if raw else pos + 1
            except ValueError:
                q.order.errors = [_("Enter a whole number.")]
                bad = True
                continue
            rows.append((order, pos, q))
        if bad:
            return None, []
        rows.sort(key=lambda r: (r[0], r[1]))
        questions = [{"id": q.id.data or None, "text": q.text.data, "kind": q.kind.data,
                      "dimension": (q.dimension.data or "").strip() or None,
                      "choices": [c.strip() for c in (q.choices.data or "").splitlines()
                                  if c.strip()],
                      "required": bool(q.required.data)} for _o, _p, q in rows]
        for item in questions:
            if not item["id"]:
                item.pop("id")
        kept = [pos for _o, pos, _q in rows]
        raw_expiry = (self.expiry_days.data or "").strip()
        data = {"name": self.name.data or "", "kind": self.kind.data,
                "trigger": self.trigger.data or None, "channel": self.channel.data or None,
                "expiry_days": int(raw_expiry) if raw_expiry.isdigit() else (
                    raw_expiry or 14),
                "active": bool(self.active.data),
                "questions": questions or (None if self.kind.data in ("nps", "csat")
                                           else [])}
        self._number_new_ids(data["questions"])
        return data, kept

    def _number_new_ids(self, questions: list[dict] | None) -> None:
        """New questions get ids not used by the others (q1, q2, ...)."""
        taken = {q["id"] for q in questions or [] if q.get("id")}
        n = 1
        for q in questions or []:
            if "id" not in q:
                while f"q{n}" in taken:
                    n += 1
                q["id"] = f"q{n}"
                taken.add(q["id"])

    def show_errors(self, exc: ServiceError, kept: list[int]) -> None:
        self.question_errors = []
        leftover = []
        for key, messages in exc.errors.items():
            texts = [translate_message(m) for m in messages]
            parts = key.split(".")
            field = None
            if parts[0] == "questions" and len(parts) == 3 and parts[1].isdigit() \
                    and int(parts[1]) < len(kept):
                field = self.questions.entries[kept[int(parts[1])]].form._fields.get(parts[2])
            elif parts[0] == "questions":
                self.question_errors.extend(texts)
                continue
            elif len(parts) == 1:
                field = self._fields.get(key)
            if field is None:
                leftover.extend(texts)
                continue
            field.errors = [*field.errors, *texts]
        if leftover or not exc.errors:
            flash("; ".join(leftover) if leftover else translate_message(exc.message),
                  "error")


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {"survey_kind": lambda k: KIND_LABELS.get(k, k),
            "trigger_label": lambda t: TRIGGER_LABELS.get(t, t) if t else "—"}


@bp.get("/")
@require("reports.read")
def index():
    return render_template("surveys/index.html", items=surveys.list_surveys(db.session))


def _fill(form: SurveyForm, survey: Survey) -> None:
    form.name.data, form.kind.data = survey.name, survey.kind
    form.trigger.data, form.channel.data = survey.trigger or "", survey.channel or ""
    form.expiry_days.data, form.active.data = str(survey.expiry_days), survey.active
    while len(form.questions.entries) < len(survey.questions) + 2:
        form.questions.append_entry()
    for i, (entry, q) in enumerate(zip(form.questions.entries, survey.questions,
                                       strict=False)):
        f = entry.form
        f.id.data, f.order.data, f.text.data = q["id"], str(i + 1), q["text"]
        f.kind.data, f.dimension.data = q["kind"], q.get("dimension") or ""
        f.choices.data = "\n".join(q.get("choices") or [])
        f.required.data = bool(q.get("required", True))


def _save(survey: Survey | None):
    form = SurveyForm()
    form.fill_choices()
    if request.method == "GET":
        if survey is not None:
            _fill(form, survey)
        else:
            form.expiry_days.data = "14"
        return render_template("surveys/form.html", form=form, survey=survey)
    if not form.validate_on_submit():
        return render_template("surveys/form.html", form=form, survey=survey), 422
    data, kept = form.data_for_service()
    if data is None:
        return render_template("surveys/form.html", form=form, survey=survey), 422

    def write() -> Survey:
        if survey is None:
            return surveys.create_survey(db.session, request_actor(), data)
        return surveys.update_survey(db.session, request_actor(), survey.id, data)

    def rerender(exc: ServiceError):
        form.show_errors(exc, kept)
        again = None if survey is None else surveys.get_survey(db.session, survey.id)
        return render_template("surveys/form.html", form=form, survey=again), exc.status

    saved = commit_or_rerender(write, rerender)
    flash(_("Survey saved."), "success")
    return redirect(url_for(".results", survey_id=saved.id), 303)


@bp.route("/new", methods=["GET", "POST"])
@require("campaigns.manage")
def create():
    return _save(None)


@bp.route("/<uuid:survey_id>/edit", methods=["GET", "POST"])
@require("campaigns.manage")
def edit(survey_id):
    return _save(surveys.get_survey(db.session, survey_id))


def _agent_names(keys: list[str]) -> dict[str, str]:
    ids = []
    for key in keys:
        try:
            ids.append(uuid.UUID(key))
        except ValueError:
            continue
    names = {str(s.id): s.name for s in db.session.scalars(select(Staff).where(
        Staff.id.in_(ids)))} if ids else {}
    return {k: names.get(k, _("No agent") if k == "none" else k) for k in keys}


@bp.get("/<uuid:survey_id>")
@require("reports.read")
def results(survey_id):
    survey = surveys.get_survey(db.session, survey_id)
    data = survey_results.results(db.session, survey.id)
    agents = _agent_names(list(data["by_agent"]))
    data["by_agent"] = {agents[k]: v for k, v in data["by_agent"].items()}
    data["by_tier"] = {(_("No tier") if k == "none" else k): v
                       for k, v in data["by_tier"].items()}
    questions = {q["id"]: q["text"] for q in survey.questions}
    return render_template("surveys/results.html", survey=survey, results=data,
                           questions=questions)
