"""Segment pages: the built-in value, behaviour and lifecycle segments with their rules in
words, and saved dynamic segments (rule builder, live counts, members)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from saas.extensions import db
from saas.services import rules
from saas.services import segments as segment_service
from saas.services.errors import ServiceError
from saas.services.measures import ACTIVE_FACTOR, CHURN_FACTOR, DEFAULT_RHYTHM_DAYS, NEW_DAYS
from saas.web import nav
from saas.web.access import request_actor, require
from saas.web.messages import translate_message
from saas.web.privacy import redacted
from saas.web.rule_form import RuleForm
from saas.web.tiers import SEGMENT_LABELS, _builder_options

bp = Blueprint("segments", __name__, url_prefix="/t/<slug>/segments")
nav.add("segments.index", _l("Segments"), permission="customers.read", order=32)


def _builtin_rules() -> dict[str, str]:
    """The built-in segments' rules in the reader's language (mirrors
    `saas.services.measures.SEGMENT_RULES`, which the API returns in English)."""
    x = {"active": ACTIVE_FACTOR, "churn": CHURN_FACTOR, "days": DEFAULT_RHYTHM_DAYS,
         "new": NEW_DAYS}
    return {
        "value_segment:high": _("Monetary quintile 4-5 (the top two fifths by 12-month spend)"),
        "value_segment:medium": _("Monetary quintile 2-3"),
        "value_segment:low": _("Monetary quintile 1, or no spend in 12 months"),
        "behaviour:active": _("Last order within %(active)sx the customer's own average gap "
                              "between orders (%(days)s days with a single order)", **x),
        "behaviour:at_risk": _("Last order within %(churn)sx that gap", **x),
        "behaviour:churned": _("No order for longer than %(churn)sx that gap", **x),
        "behaviour:none": _("No orders yet"),
        "lifecycle:prospect": _("No orders yet"),
        "lifecycle:churned": _("Behaviour is churned"),
        "lifecycle:at_risk": _("Behaviour is at risk"),
        "lifecycle:won_back": _("Active again after a gap longer than %(churn)sx the rhythm "
                                "of the orders before it", **x),
        "lifecycle:new": _("First order within the last %(new)s days", **x),
        "lifecycle:active": _("Everyone else with orders"),
    }


@bp.get("/")
@require("customers.read")
def index():
    builtin = segment_service.builtin_distribution(db.session)
    actor = request_actor()
    saved = [(s, None if segment_service.rule_problems(db.session, s, actor)
              else segment_service.count(db.session, s.id, actor))
             for s in segment_service.list_segments(db.session)]
    return render_template("segments/index.html", builtin=builtin, saved=saved,
                           labels=SEGMENT_LABELS, rule_text=_builtin_rules(),
                           describe=rules.describe)


def _render_form(segment, name: str, description: str, rf: RuleForm,
                 errors: dict[str, list[str]] | None = None, count: int | None = None,
                 status: int = 200):
    return render_template("segments/form.html", segment=segment, name=name,
                           description=description, rf=rf, errors=errors or {}, count=count,
                           **_builder_options(allow_tier=True)), status


def _submit(segment) -> Any:
    """Create or update from the posted form; `action=count` only counts (writes nothing)."""
    form = request.form
    rf = RuleForm.from_request("s", form)
    name, description = (form.get("name") or "").strip(), form.get("description") or ""
    ctx = rules.context_for(db.session, allow_tier=True)
    data = {"name": name, "description": description, "rule": rf.to_rule(ctx)}
    try:
        if form.get("action") == "count":
            count = segment_service.preview_count(db.session, data["rule"], request_actor())
            db.session.rollback()
            return _render_form(segment, name, description, rf, count=count)
        if segment is None:
            segment = segment_service.create_segment(db.session, request_actor(), data)
        else:
            segment = segment_service.update_segment(db.session, request_actor(), segment.id,
                                                     data)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        rf.errors_from(exc.errors)
        errors = {k: [translate_message(m) for m in v] for k, v in exc.errors.items()
                  if k in ("name", "description")}
        if not exc.errors:
            errors["form"] = [translate_message(exc.message)]
        if segment is not None:
            segment = segment_service.get_segment(db.session, segment.id)
        return _render_form(segment, name, description, rf, errors, status=exc.status)
    flash(_("Segment saved."), "success")
    return redirect(url_for(".show", segment_id=segment.id), 303)


@bp.route("/new", methods=["GET", "POST"])
@require("campaigns.manage")
def create():
    if request.method == "POST":
        return _submit(None)
    return _render_form(None, "", "", RuleForm.from_rule("s", None))


@bp.get("/<segment_id>")
@require("customers.read")
def show(segment_id: str):
    segment = segment_service.get_segment(db.session, segment_id)
    problems = segment_service.rule_problems(db.session, segment)
    if problems:
        return render_template("segments/show.html", segment=segment, count=None,
                               members=[], describe=rules.describe,
                               problems=[translate_message(m) for msgs in problems.values()
                                         for m in msgs])
    actor = request_actor()
    if segment_service.hidden_conditions(db.session, actor, segment.rule):
        return render_template("segments/show.html", segment=segment, count=None,
                               members=[], describe=rules.describe, problems=[],
                               hidden=True)
    return render_template("segments/show.html", segment=segment,
                           count=segment_service.count(db.session, segment.id, actor),
                           members=[redacted(c) for c in segment_service.members(
                               db.session, segment.id, actor=actor)],
                           describe=rules.describe, problems=[])


@bp.route("/<segment_id>/edit", methods=["GET", "POST"])
@require("campaigns.manage")
def edit(segment_id: str):
    segment = segment_service.get_segment(db.session, segment_id)
    if request.method == "POST":
        return _submit(segment)
    return _render_form(segment, segment.name, segment.description,
                        RuleForm.from_rule("s", segment.rule))


@bp.post("/<segment_id>/delete")
@require("campaigns.manage")
def delete(segment_id: str):
    segment_service.delete_segment(db.session, request_actor(), segment_id)
    db.session.commit()
    flash(_("Segment deleted."), "success")
    return redirect(url_for(".index"), 303)
