"""Campaigns: define, launch or schedule, pause/resume/cancel, progress and results.

Request bodies are passed to the campaign service as they come (fields typed `Raw`), so
every rule — templates, shares, quiet hours — is checked in one place and reported per
field (`variants.0.body`), whether the request came from here or the web UI.
"""

from __future__ import annotations

import marshmallow as ma
from flask import Response
from flask_smorest import Blueprint

from saas.api.common import Schema, api_actor, require
from saas.api.pagination import page_args, page_schema, paginate
from saas.extensions import db
from saas.models.campaigns import Campaign
from saas.services import campaign_results, campaigns

blp = Blueprint("api_campaigns", __name__, url_prefix="/campaigns",
                description="Campaigns to a segment through a channel plugin.")


class CampaignVariantSchema(Schema):
    id = ma.fields.UUID(dump_only=True)
    name = ma.fields.String()
    subject = ma.fields.String(allow_none=True)
    body = ma.fields.String()
    split_percent = ma.fields.Integer()


class CampaignSchema(Schema):
    id = ma.fields.UUID(dump_only=True)
    name = ma.fields.String()
    status = ma.fields.String()
    segment_id = ma.fields.UUID()
    channel = ma.fields.String()
    scheduled_at = ma.fields.DateTime(allow_none=True)
    quiet_start = ma.fields.String(allow_none=True)
    quiet_end = ma.fields.String(allow_none=True)
    rate_per_minute = ma.fields.Integer(allow_none=True)
    winner_metric = ma.fields.String(allow_none=True)
    test_minutes = ma.fields.Integer(allow_none=True)
    test_ends_at = ma.fields.DateTime(allow_none=True)
    winner_variant_id = ma.fields.UUID(allow_none=True)
    conversion_days = ma.fields.Integer()
    survey_id = ma.fields.UUID(allow_none=True)
    pause_reason = ma.fields.String(allow_none=True)
    audience_size = ma.fields.Integer()
    launched_at = ma.fields.DateTime(allow_none=True)
    finished_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime(dump_only=True)
    variants = ma.fields.Method("_variants")

    def _variants(self, obj):
        return CampaignVariantSchema(many=True).dump(campaigns.variants(db.session, obj.id))


class CampaignWriteSchema(Schema):
    name = ma.fields.Raw()
    segment_id = ma.fields.Raw()
    channel = ma.fields.Raw()
    variants = ma.fields.Raw()
    quiet_start = ma.fields.Raw(allow_none=True)
    quiet_end = ma.fields.Raw(allow_none=True)
    rate_per_minute = ma.fields.Raw(allow_none=True)
    winner_metric = ma.fields.Raw(allow_none=True)
    test_minutes = ma.fields.Raw(allow_none=True)
    conversion_days = ma.fields.Raw(allow_none=True)
    survey_id = ma.fields.Raw(allow_none=True)


class CampaignLaunchSchema(Schema):
    scheduled_at = ma.fields.Raw(allow_none=True, metadata={
        "description": "Local time in the tenant's zone (YYYY-MM-DD HH:MM) or ISO with "
                       "offset; empty = now."})


class CampaignProgressSchema(Schema):
    status = ma.fields.String()
    pause_reason = ma.fields.String(allow_none=True)
    total = ma.fields.Integer()
    done = ma.fields.Integer()
    percent = ma.fields.Integer()
    held = ma.fields.Integer()
    pending = ma.fields.Integer()
    sending = ma.fields.Integer()
    sent = ma.fields.Integer()
    failed = ma.fields.Integer()
    skipped = ma.fields.Integer()
    reasons = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())


class CampaignResultsSchema(Schema):
    campaign_id = ma.fields.String()
    variants = ma.fields.Dict()
    total = ma.fields.Dict()
    winner_variant_id = ma.fields.String(allow_none=True)


CampaignListArgs = page_args("CampaignListArgs", sorts=("created_at", "name"),
                             default="-created_at", status=ma.fields.String())


@blp.route("")
@require("campaigns.manage")
@blp.arguments(CampaignListArgs, location="query")
@blp.response(200, page_schema(CampaignSchema))
def list_campaigns(args):
    return paginate(db.session, campaigns.query(args.get("status")), args,
                    columns={"created_at": Campaign.created_at, "name": Campaign.name},
                    tiebreak=Campaign.id)


@blp.route("", methods=["POST"])
@require("campaigns.manage")
@blp.arguments(CampaignWriteSchema)
@blp.response(201, CampaignSchema)
def create_campaign(data):
    campaign = campaigns.create_campaign(db.session, api_actor(), data)
    db.session.commit()
    return campaign


@blp.route("/<uuid:campaign_id>")
@require("campaigns.manage")
@blp.response(200, CampaignSchema)
def get_campaign(campaign_id):
    return campaigns.get_campaign(db.session, campaign_id)


@blp.route("/<uuid:campaign_id>", methods=["PATCH"])
@require("campaigns.manage")
@blp.arguments(CampaignWriteSchema)
@blp.response(200, CampaignSchema)
def update_campaign(data, campaign_id):
    campaign = campaigns.update_campaign(db.session, api_actor(), campaign_id, data)
    db.session.commit()
    return campaign


@blp.route("/<uuid:campaign_id>/launch", methods=["POST"])
@require("campaigns.manage")
@blp.arguments(CampaignLaunchSchema)
@blp.response(200, CampaignSchema)
def launch_campaign(data, campaign_id):
    campaign = campaigns.launch(db.session, api_actor(), campaign_id,
                                data.get("scheduled_at"))
    db.session.commit()
    return campaign


def _action(fn, campaign_id):
    campaign = fn(db.session, api_actor(), campaign_id)
    db.session.commit()
    return campaign


@blp.route("/<uuid:campaign_id>/pause", methods=["POST"])
@require("campaigns.manage")
@blp.response(200, CampaignSchema)
def pause_campaign(campaign_id):
    return _action(campaigns.pause, campaign_id)


@blp.route("/<uuid:campaign_id>/resume", methods=["POST"])
@require("campaigns.manage")
@blp.response(200, CampaignSchema)
def resume_campaign(campaign_id):
    return _action(campaigns.resume, campaign_id)


@blp.route("/<uuid:campaign_id>/cancel", methods=["POST"])
@require("campaigns.manage")
@blp.response(200, CampaignSchema)
def cancel_campaign(campaign_id):
    return _action(campaigns.cancel, campaign_id)


@blp.route("/<uuid:campaign_id>/progress")
@require("campaigns.manage")
@blp.response(200, CampaignProgressSchema)
def campaign_progress(campaign_id):
    campaign = campaigns.get_campaign(db.session, campaign_id)
    return {"status": campaign.status, "pause_reason": campaign.pause_reason,
            **campaigns.progress(db.session, campaign.id).as_dict()}


@blp.route("/<uuid:campaign_id>/results")
@require("campaigns.manage")
@blp.response(200, CampaignResultsSchema)
def campaign_results_view(campaign_id):
    return campaign_results.results(db.session, campaign_id)


@blp.route("/<uuid:campaign_id>/results.csv")
@require("campaigns.manage")
@blp.response(200, description="Results per variant as CSV.")
def campaign_results_csv(campaign_id):
    return Response(campaign_results.results_csv(db.session, campaign_id),
                    mimetype="text/csv")
