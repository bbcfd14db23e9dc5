"""Campaign pages: the tracked-link redirect (public) and the staff list, progress and
results pages."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, redirect, render_template
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from saas.extensions import db
from saas.models.campaigns import Campaign
from saas.services import campaign_results, campaigns
from saas.web import nav
from saas.web.access import require

bp = Blueprint("campaigns", __name__, url_prefix="/t/<slug>/campaigns")
nav.add("campaigns.index", _l("Campaigns"), permission="campaigns.manage", order=55)


@bp.get("/r/<token>")
def click(token: str):
    """A tracked link (no login): count the click, then go where the signed link says."""
    url = campaigns.record_click(db.session, token)
    db.session.commit()
    return redirect(url, code=302)


@bp.get("/")
@require("campaigns.manage")
def index():
    items = db.session.scalars(select(Campaign).order_by(Campaign.created_at.desc())
                               .limit(200)).all()
    return render_template("campaigns/index.html", items=items)


@bp.get("/<uuid:campaign_id>")
@require("campaigns.manage")
def show(campaign_id):
    campaign = campaigns.get_campaign(db.session, campaign_id)
    return render_template("campaigns/show.html", campaign=campaign,
                           variants=campaigns.variants(db.session, campaign.id),
                           progress=campaigns.progress(db.session, campaign.id),
                           results=campaign_results.results(db.session, campaign.id))


@bp.get("/<uuid:campaign_id>/progress.json")
@require("campaigns.manage")
def progress(campaign_id):
    """Polled by the progress bar."""
    campaign = campaigns.get_campaign(db.session, campaign_id)
    return jsonify({"status": campaign.status, "pause_reason": campaign.pause_reason,
                    **campaigns.progress(db.session, campaign.id).as_dict()})


@bp.get("/<uuid:campaign_id>/results.csv")
@require("campaigns.manage")
def results_csv(campaign_id):
    body = campaign_results.results_csv(db.session, campaign_id)
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=campaign-{campaign_id}.csv"})
