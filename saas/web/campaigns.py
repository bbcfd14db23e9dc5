"""Campaign pages: the tracked-link redirect (public); for staff the list with progress
bars, the create/edit form (variants, schedule, quiet hours, limits), launch / pause /
resume / cancel, live progress and results per variant with the CSV export.

Every value goes to `saas.services.campaigns` as typed, so the form shows exactly the
service's field messages (a template error with its line, a bad time, shares over 100%).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import Form, FormField, SelectField, StringField, TextAreaField
from wtforms.fields import FieldList

from saas.extensions import db
from saas.models.campaigns import WINNER_METRICS, Campaign
from saas.services import campaign_results, campaigns
from saas.services import segments as segment_service
from saas.services.errors import ServiceError
from saas.services.plugins import available_channels, bound_tenant
from saas.services.surveys import list_surveys
from saas.web import nav
from saas.web.access import flash_error, request_actor, require
from saas.web.forms import choices
from saas.web.messages import translate_message
from saas.web.saving import commit_or_rerender

bp = Blueprint("campaigns", __name__, url_prefix="/t/<slug>/campaigns")
nav.add("campaigns.index", _l("Campaigns"), permission="campaigns.manage", order=55)

MAX_VARIANTS = 3
STATUS_LABELS = {"draft": _l("Draft"), "scheduled": _l("Scheduled"), "running": _l("Running"),
                 "paused": _l("Paused"), "completed": _l("Completed"),
                 "cancelled": _l("Cancelled")}
REASON_LABELS = {"no_consent": _l("No consent for the channel"),
                 "opted_out": _l("Opted out"), "no_address": _l("No address"),
                 "merged": _l("Merged into another customer"),
                 "deleted": _l("Customer deleted"), "cancelled": _l("Campaign cancelled"),
                 "template": _l("Template error")}
METRIC_LABELS = {"clicks": _l("Click rate"), "delivered": _l("Delivery rate"),
                 "conversions": _l("Conversion rate")}


class VariantForm(Form):
    name = StringField(_l("Variant name"))
    split_percent = StringField(_l("Share of the audience (%)"))
    subject = StringField(_l("Subject"))
    body = TextAreaField(_l("Message"))


class CampaignForm(FlaskForm):
    name = StringField(_l("Name"))
    segment_id = SelectField(_l("Audience (segment)"))
    channel = SelectField(_l("Channel"))
    survey_id = SelectField(_l("Survey to link"))
    quiet_start = StringField(_l("Quiet hours from (HH:MM)"))
    quiet_end = StringField(_l("Quiet hours until (HH:MM)"))
    rate_per_minute = StringField(_l("At most messages per minute"))
    winner_metric = SelectField(_l("A/B winner chosen by"))
    test_minutes = StringField(_l("A/B test window (minutes)"))
    conversion_days = StringField(_l("Conversion window (days)"))
    variants = FieldList(FormField(VariantForm), min_entries=MAX_VARIANTS,
                         max_entries=MAX_VARIANTS)
    variant_errors: list[str] = []

    def fill_choices(self) -> None:
        """Only the tenant's segments, surveys and the channels enabled plugins offer."""
        self.segment_id.choices = choices(
            [("", _("Choose a segment"))]
            + [(str(s.id), s.name) for s in segment_service.list_segments(db.session)])
        self.channel.choices = choices([("", _("Choose a channel"))] + [
            (c, c) for c in available_channels(db.session)])
        self.survey_id.choices = choices([("", _("None"))] + [
            (str(s.id), s.name) for s in list_surveys(db.session)])
        self.winner_metric.choices = choices([("", _("No test: send everyone now"))] + [
            (m, METRIC_LABELS[m]) for m in WINNER_METRICS])

    def data_for_service(self) -> tuple[dict[str, Any], list[int]]:
        """The posted values as the service takes them; empty variant rows are dropped
        (their positions are returned so errors land on the right row)."""
        data: dict[str, Any] = {k: getattr(self, k).data for k in (
            "name", "segment_id", "channel", "survey_id", "quiet_start", "quiet_end",
            "rate_per_minute", "winner_metric", "test_minutes", "conversion_days")}
        data = {k: (v.strip() if isinstance(v, str) else v) for k, v in data.items()}
        data["conversion_days"] = data["conversion_days"] or None
        rows, kept = [], []
        for i, entry in enumerate(self.variants.entries):
            v = entry.form
            if not (v.body.data or "").strip() and not (v.subject.data or "").strip():
                continue
            kept.append(i)
            rows.append({"name": (v.name.data or "").strip() or chr(ord("A") + len(rows)),
                         "subject": v.subject.data or None, "body": v.body.data or "",
                         "split_percent": (v.split_percent.data or "").strip() or None})
        data["variants"] = rows
        return data, kept

    def show_errors(self, exc: ServiceError, kept: list[int]) -> None:
        """Service field errors next to their fields (`variants.1.body` → that row)."""
        leftover = []
        self.variant_errors = []
        for key, messages in exc.errors.items():
            texts = [translate_message(m) for m in messages]
            parts = key.split(".")
            field = None
            if parts[0] == "variants" and len(parts) == 3 and parts[1].isdigit() \
                    and int(parts[1]) < len(kept):
                field = self.variants.entries[kept[int(parts[1])]].form._fields.get(parts[2])
            elif key == "variants" or parts[0] == "variants":
                self.variant_errors.extend(texts)
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


def _fill_from(form: CampaignForm, campaign: Campaign) -> None:
    for key in ("name", "channel", "quiet_start", "quiet_end", "winner_metric"):
        getattr(form, key).data = getattr(campaign, key) or ""
    form.segment_id.data = str(campaign.segment_id)
    form.survey_id.data = str(campaign.survey_id) if campaign.survey_id else ""
    for key in ("rate_per_minute", "test_minutes", "conversion_days"):
        value = getattr(campaign, key)
        getattr(form, key).data = "" if value is None else str(value)
    for entry, variant in zip(form.variants.entries,
                              campaigns.variants(db.session, campaign.id), strict=False):
        entry.form.name.data = variant.name
        entry.form.split_percent.data = str(variant.split_percent)
        entry.form.subject.data = variant.subject or ""
        entry.form.body.data = variant.body


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {"campaign_status": lambda s: STATUS_LABELS.get(s, s),
            "skip_reason": lambda r: REASON_LABELS.get(r, r)}


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
    progress = {c.id: campaigns.progress(db.session, c.id) for c in items
                if c.status not in ("draft", "scheduled")}
    return render_template("campaigns/index.html", items=items, progress=progress)


def _save(campaign: Campaign | None):
    form = CampaignForm()
    form.fill_choices()
    if campaign is not None and request.method == "GET":
        _fill_from(form, campaign)
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template("campaigns/form.html", form=form, campaign=campaign), status
    data, kept = form.data_for_service()

    def write() -> Campaign:
        if campaign is None:
            return campaigns.create_campaign(db.session, request_actor(), data)
        return campaigns.update_campaign(db.session, request_actor(), campaign.id, data)

    def rerender(exc: ServiceError):
        form.show_errors(exc, kept)
        again = None if campaign is None else campaigns.get_campaign(db.session, campaign.id)
        return render_template("campaigns/form.html", form=form, campaign=again), exc.status

    saved = commit_or_rerender(write, rerender)
    flash(_("Campaign saved."), "success")
    return redirect(url_for(".show", campaign_id=saved.id), 303)


@bp.route("/new", methods=["GET", "POST"])
@require("campaigns.manage")
def create():
    return _save(None)


@bp.route("/<uuid:campaign_id>/edit", methods=["GET", "POST"])
@require("campaigns.manage")
def edit(campaign_id):
    campaign = campaigns.get_campaign(db.session, campaign_id)
    if campaign.status not in campaigns.EDITABLE:
        flash(_("A campaign that has started cannot be edited."), "error")
        return redirect(url_for(".show", campaign_id=campaign.id), 303)
    return _save(campaign)


@bp.get("/<uuid:campaign_id>")
@require("campaigns.manage")
def show(campaign_id):
    campaign = campaigns.get_campaign(db.session, campaign_id)
    return render_template("campaigns/show.html", campaign=campaign,
                           variants=campaigns.variants(db.session, campaign.id),
                           progress=campaigns.progress(db.session, campaign.id),
                           results=campaign_results.results(db.session, campaign.id),
                           zone=campaigns.tenant_zone(bound_tenant(db.session)).key,
                           launch_at=request.form.get("at", ""))


ACTIONS = {"launch": (campaigns.launch, _l("Campaign launched.")),
           "pause": (campaigns.pause, _l("Campaign paused.")),
           "resume": (campaigns.resume, _l("Campaign resumed.")),
           "cancel": (campaigns.cancel, _l("Campaign cancelled."))}


@bp.post("/<uuid:campaign_id>/<any(launch, pause, resume, cancel):action>")
@require("campaigns.manage")
def act(campaign_id, action: str):
    """Launch (now, or at a time in the tenant's zone), pause, resume or cancel."""
    fn, done = ACTIONS[action]
    campaign = campaigns.get_campaign(db.session, campaign_id)
    args = (request.form.get("at") or None,) if action == "launch" else ()

    def rerender(exc: ServiceError):
        flash_error(exc)
        for messages in exc.errors.values():
            for m in messages:
                flash(translate_message(m), "error")
        return show(campaign_id), exc.status

    changed = commit_or_rerender(
        lambda: fn(db.session, request_actor(), campaign.id, *args), rerender)
    flash(_("Campaign scheduled.") if changed.status == "scheduled" else str(done),
          "success")
    return redirect(url_for(".show", campaign_id=changed.id), 303)


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
