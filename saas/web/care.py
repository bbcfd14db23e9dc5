"""Automated care pages: the rules (with the template checked on save, unknown variables
named next to the field), quiet hours, and what was sent."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField

from saas.extensions import db
from saas.models.care import CARE_KINDS
from saas.services import care as care_service
from saas.services import loyalty as loyalty_service
from saas.services.customers import bound_tenant
from saas.web import nav
from saas.web.access import request_actor, require
from saas.web.forms import choices
from saas.web.saving import back_with_error, commit_or_rerender

bp = Blueprint("care", __name__, url_prefix="/t/<slug>/care")
nav.add("care.index", _l("Customer care"), permission="campaigns.manage", order=44)

KIND_LABELS = {"birthday": _l("Birthday greeting"), "holiday": _l("Holiday greeting"),
               "post_purchase": _l("Post-purchase follow-up"), "win_back": _l("Win-back offer")}


class RuleForm(FlaskForm):
    name = StringField(_l("Name"))
    kind = SelectField(_l("Occasion"), validate_choice=False)
    channel = SelectField(_l("Channel"), validate_choice=False)
    subject = StringField(_l("Subject"))
    template = TextAreaField(_l("Message"), description=_l(
        "Variables: {{ name }}, {{ company }}; holiday: {{ holiday }}; follow-up: "
        "{{ order_number }}, {{ order_total }}, {{ order_date }}; win-back: "
        "{{ coupon_code }}, {{ discount_percent }}, {{ coupon_expires }}."))
    days_after = StringField(_l("Days after the order"))
    reward_id = SelectField(_l("Coupon from the loyalty catalogue"), validate_choice=False)


class QuietForm(FlaskForm):
    start = StringField(_l("Quiet from"))
    end = StringField(_l("Quiet until"))


def _rule_form() -> RuleForm:
    form = RuleForm()
    form.kind.choices = choices((k, KIND_LABELS[k]) for k in CARE_KINDS)
    form.channel.choices = choices((c, c) for c in care_service.CHANNELS)
    rewards = [r for r in loyalty_service.list_rewards(db.session, active_only=True)
               if r.kind in ("coupon", "discount")]
    form.reward_id.choices = choices([("", "—")] + [(str(r.id), r.name) for r in rewards])
    return form


def _render(form: RuleForm | None = None, quiet: QuietForm | None = None, status: int = 200):
    tenant = bound_tenant(db.session)
    start, end = (tenant.settings or {}).get("quiet_hours") or care_service.DEFAULT_QUIET_HOURS
    quiet = quiet or QuietForm(formdata=None, data={"start": start, "end": end})
    return render_template("care/index.html", rules=care_service.list_rules(db.session),
                           sends=care_service.history(db.session, 50),
                           form=form or _rule_form(), quiet=quiet,
                           kind_labels=KIND_LABELS), status


@bp.get("/")
@require("campaigns.manage")
def index():
    return _render()


@bp.post("/rules")
@require("campaigns.manage")
def create_rule():
    form = _rule_form()
    if form.validate_on_submit():
        days = (form.days_after.data or "").strip()
        data = {"name": form.name.data, "kind": form.kind.data, "channel": form.channel.data,
                "subject": form.subject.data or None, "template": form.template.data,
                "days_after": int(days) if days.isdigit() else (days or None),
                "reward_id": form.reward_id.data or None}
        commit_or_rerender(lambda: care_service.create_rule(db.session, request_actor(), data),
                           lambda exc: _render(form=form, status=exc.status), form=form)
        flash(_("Care rule saved."), "success")
    return redirect(url_for(".index"))


@bp.post("/rules/<uuid:care_rule_id>/toggle")
@require("campaigns.manage")
def toggle_rule(care_rule_id):
    rule = care_service.get_rule(db.session, care_rule_id)
    back = url_for(".index")
    commit_or_rerender(lambda: care_service.update_rule(db.session, request_actor(), rule.id,
                                                        {"active": not rule.active}),
                       back_with_error(back))
    return redirect(back)


@bp.post("/rules/<uuid:care_rule_id>/delete")
@require("campaigns.manage")
def delete_rule(care_rule_id):
    care_service.delete_rule(db.session, request_actor(), care_rule_id)
    db.session.commit()
    flash(_("Care rule deleted."), "success")
    return redirect(url_for(".index"))


@bp.post("/quiet-hours")
@require("campaigns.manage")
def quiet_hours():
    quiet = QuietForm(request.form)
    commit_or_rerender(lambda: care_service.set_quiet_hours(
        db.session, request_actor(), quiet.start.data or "", quiet.end.data or ""),
        lambda exc: _render(quiet=quiet, status=exc.status), form=quiet)
    flash(_("Quiet hours saved."), "success")
    return redirect(url_for(".index"))
