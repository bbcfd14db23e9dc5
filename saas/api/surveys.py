"""Surveys: definitions, invitation links and results (NPS/CSAT by dimension, agent,
tier and month). Customers answer on the public page the link leads to."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from saas.api.common import Schema, api_actor, require
from saas.extensions import db
from saas.services import row_scope, survey_results, surveys

blp = Blueprint("api_surveys", __name__, url_prefix="/surveys",
                description="Satisfaction surveys (CSAT, NPS, multi-question).")


class SurveySchema(Schema):
    id = ma.fields.UUID(dump_only=True)
    name = ma.fields.String()
    kind = ma.fields.String()
    questions = ma.fields.List(ma.fields.Dict())
    active = ma.fields.Boolean()
    trigger = ma.fields.String(allow_none=True)
    channel = ma.fields.String(allow_none=True)
    expiry_days = ma.fields.Integer()
    created_at = ma.fields.DateTime(dump_only=True)


class SurveyCreateSchema(Schema):
    name = ma.fields.Raw(required=True)
    kind = ma.fields.Raw()
    questions = ma.fields.Raw()
    trigger = ma.fields.Raw(allow_none=True)
    channel = ma.fields.Raw(allow_none=True)
    expiry_days = ma.fields.Raw()
    active = ma.fields.Boolean()


class SurveyInviteSchema(Schema):
    customer_id = ma.fields.UUID(required=True)


class SurveyInvitationSchema(Schema):
    id = ma.fields.UUID()
    url = ma.fields.String()
    expires_at = ma.fields.DateTime()


class SurveyResultsSchema(Schema):
    survey_id = ma.fields.String()
    kind = ma.fields.String()
    answers = ma.fields.Integer()
    overall = ma.fields.Dict()
    by_dimension = ma.fields.Dict()
    by_agent = ma.fields.Dict()
    by_tier = ma.fields.Dict()
    by_month = ma.fields.Dict()
    texts = ma.fields.List(ma.fields.Dict())


@blp.route("")
@require("campaigns.manage")
@blp.response(200, SurveySchema(many=True))
def list_surveys():
    return surveys.list_surveys(db.session)


@blp.route("", methods=["POST"])
@require("campaigns.manage")
@blp.arguments(SurveyCreateSchema)
@blp.response(201, SurveySchema)
def create_survey(data):
    survey = surveys.create_survey(db.session, api_actor(), data)
    db.session.commit()
    return survey


@blp.route("/from-template", methods=["POST"])
@require("campaigns.manage")
@blp.response(201, SurveySchema(many=True))
def install_template_surveys():
    """The surveys of the tenant's template (with their dimensions), unless present."""
    from saas.api.common import current_tenant

    created = surveys.install_template_surveys(db.session, api_actor(),
                                               current_tenant().template)
    db.session.commit()
    return created


@blp.route("/<uuid:survey_id>")
@require("campaigns.manage")
@blp.response(200, SurveySchema)
def get_survey(survey_id):
    return surveys.get_survey(db.session, survey_id)


class SurveyUpdateSchema(Schema):
    name = ma.fields.Raw()
    kind = ma.fields.Raw()
    questions = ma.fields.Raw()
    trigger = ma.fields.Raw(allow_none=True)
    channel = ma.fields.Raw(allow_none=True)
    expiry_days = ma.fields.Raw()
    active = ma.fields.Boolean()


@blp.route("/<uuid:survey_id>", methods=["PATCH"])
@require("campaigns.manage")
@blp.arguments(SurveyUpdateSchema)
@blp.response(200, SurveySchema)
def update_survey(data, survey_id):
    """Answers already given keep the questions they answered."""
    survey = surveys.update_survey(db.session, api_actor(), survey_id, data)
    db.session.commit()
    return survey


@blp.route("/<uuid:survey_id>/invitations", methods=["POST"])
@require("campaigns.manage")
@blp.arguments(SurveyInviteSchema)
@blp.response(201, SurveyInvitationSchema)
def invite(data, survey_id):
    row_scope.ensure_visible(db.session, api_actor(), data["customer_id"])
    inv = surveys.invite(db.session, survey_id, data["customer_id"])
    db.session.commit()
    return {"id": inv.row.id, "url": inv.url, "expires_at": inv.row.expires_at}


@blp.route("/<uuid:survey_id>/results")
@require("reports.read")
@blp.response(200, SurveyResultsSchema)
def results(survey_id):
    return survey_results.results(db.session, survey_id)
