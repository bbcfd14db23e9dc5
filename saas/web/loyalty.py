"""Loyalty pages: programme settings (earn rules, multipliers, bonuses, contribution
rewards), the reward catalogue, membership levels, and per customer the points ledger,
coupons, referral code, redemption and adjustments. A small panel on the customer 360
page (`loyalty/_customer_panel.html`) shows balance, tier and level and redeems there.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, SelectField, StringField, TextAreaField

from saas.extensions import db
from saas.models.loyalty import LEVEL_BASES, REWARD_KINDS, ReferralCode
from saas.services import loyalty as loyalty_service
from saas.services import referrals as referral_service
from saas.services import row_scope
from saas.services import tiers as tier_service
from saas.services.customers import get_customer
from saas.services.errors import ServiceError
from saas.web import nav
from saas.web.access import (
    can,
    current_staff,
    flash_error,
    form_errors,
    request_actor,
    require,
)
from saas.web.forms import choices
from saas.web.messages import translate_message
from saas.web.rule_form import count as clamp_count
from saas.web.saving import commit_or_rerender
from saas.web.templating import localtime

bp = Blueprint("loyalty", __name__, url_prefix="/t/<slug>/loyalty")


@bp.before_request
def _customer_in_row_scope():
    """Every page with a customer id: 404 outside the staff member's row scope."""
    customer_id = (request.view_args or {}).get("customer_id")
    if customer_id is not None and current_staff() is not None:
        row_scope.ensure_visible(db.session, request_actor(), customer_id)
nav.add("loyalty.index", _l("Loyalty"), permission="customers.read", order=34)

KIND_LABELS = {"gift": _l("Gift"), "coupon": _l("Coupon"), "discount": _l("Discount")}
BASIS_LABELS = {"points": _l("Points earned"), "spend": _l("Spend")}
BONUS_LABELS = {"first_order": _l("First order"), "birthday": _l("Birthday"),
                "referral": _l("Referral (to the referrer)"),
                "survey_answered": _l("Survey answered")}
ENTRY_LABELS = {"earn": _l("Earned"), "bonus": _l("Bonus"), "redeem": _l("Redeemed"),
                "expire": _l("Expired"), "adjust": _l("Adjusted"), "reverse": _l("Reversed")}
CONTRIBUTION_LABELS = {"spend_12m": _l("Spend, last 12 months"),
                       "spend_total": _l("Spend, all time"),
                       "order_count": _l("Number of orders"),
                       "interactions_90d": _l("Interactions, last 90 days")}
PROGRAM_NUMBERS = ("points_per_unit", "expiry_months", "notice_days", "cap_per_order",
                   "cap_per_month")
SPARE_CONTRIBUTION_ROWS = 2


class RewardForm(FlaskForm):
    name = StringField(_l("Name"))
    kind = SelectField(_l("Kind"), validate_choice=False)
    description = TextAreaField(_l("Description"))
    points_cost = StringField(_l("Points"), render_kw={"inputmode": "numeric"})
    stock = StringField(_l("Stock"), description=_l("Empty: unlimited."))
    discount_percent = StringField(_l("Discount (%)"))
    valid_days = StringField(_l("Valid for (days)"),
                             description=_l("Coupons and discounts; empty: no expiry."))
    active = BooleanField(_l("Offered"), default=True)


class LevelForm(FlaskForm):
    name = StringField(_l("Name"))
    basis = SelectField(_l("Based on"), validate_choice=False)
    threshold = StringField(_l("Threshold"))
    window_months = StringField(_l("Window (months)"), default="12")
    benefits = TextAreaField(_l("Benefits"))


class RedeemForm(FlaskForm):
    reward_id = SelectField(_l("Reward"), validate_choice=False)


class AdjustForm(FlaskForm):
    points = StringField(_l("Points"), description=_l("Negative to take points away."))
    reason = StringField(_l("Reason"))


class ReferralForm(FlaskForm):
    code = StringField(_l("Referral code used by this customer"))


class CouponForm(FlaskForm):
    code = StringField(_l("Coupon code"))
    used_on = StringField(_l("Used on (order or note)"))


def _reward_form(reward=None) -> RewardForm:
    form = RewardForm(obj=reward) if reward is not None and request.method == "GET" \
        else RewardForm()
    form.kind.choices = choices([(k, KIND_LABELS[k]) for k in REWARD_KINDS])
    return form


def _level_form() -> LevelForm:
    form = LevelForm()
    form.basis.choices = choices([(b, BASIS_LABELS[b]) for b in LEVEL_BASES])
    return form


# --- programme, catalogue, levels -------------------------------------------------------

def _render_index(program_errors: dict[str, list[str]] | None = None,
                  program_values: dict[str, Any] | None = None,
                  level_form: LevelForm | None = None, coupon_form: CouponForm | None = None,
                  status: int = 200):
    program = loyalty_service.program(db.session)
    tiers = tier_service.list_tiers(db.session)
    rules = list(program.contribution_rules or [])
    values = program_values or _program_values(program, rules)
    return render_template(
        "loyalty/index.html", program=program, tiers=tiers, values=values,
        errors=program_errors or {}, contribution_rows=max(len(rules), 0)
        + SPARE_CONTRIBUTION_ROWS, rewards=loyalty_service.list_rewards(db.session),
        levels=loyalty_service.list_levels(db.session),
        level_form=level_form or _level_form(), coupon_form=coupon_form or CouponForm(),
        kind_labels=KIND_LABELS, basis_labels=BASIS_LABELS, bonus_labels=BONUS_LABELS,
        contribution_labels=CONTRIBUTION_LABELS), status


def _program_values(program, rules: list[dict]) -> dict[str, Any]:
    values: dict[str, Any] = {k: getattr(program, k) for k in PROGRAM_NUMBERS}
    for name, factor in (program.tier_multipliers or {}).items():
        values[f"tier_multipliers.{name}"] = factor
    for event, points in (program.bonus or {}).items():
        values[f"bonus.{event}"] = points
    for i, rule in enumerate(rules):
        for key in ("measure", "threshold", "points"):
            values[f"contribution_rules.{i}.{key}"] = rule[key]
    return {k: ("" if v is None else (f"{v:g}" if isinstance(v, float) else v))
            for k, v in values.items()}


@bp.get("/")
@require("customers.read")
def index():
    response = _render_index()
    db.session.commit()  # first use keeps the template's programme
    return response


def _program_data(form) -> dict[str, Any]:
    """The posted settings in the service's shape; empty optional inputs mean 'none'."""
    data: dict[str, Any] = {k: (form.get(k) or "").strip() or None for k in PROGRAM_NUMBERS}
    data["tier_multipliers"] = {
        key.partition(".")[2]: value.strip() for key, value in form.items()
        if key.startswith("tier_multipliers.") and value.strip()}
    data["bonus"] = {key.partition(".")[2]: value.strip() for key, value in form.items()
                     if key.startswith("bonus.") and value.strip()}
    rows = []
    for i in range(clamp_count(form.get("contribution_rows"), 50)):
        measure = form.get(f"contribution_rules.{i}.measure") or ""
        if measure:
            rows.append({"measure": measure,
                         "threshold": form.get(f"contribution_rules.{i}.threshold") or "",
                         "points": form.get(f"contribution_rules.{i}.points") or ""})
    data["contribution_rules"] = rows
    return data


@bp.post("/program")
@require("settings.manage")
def update_program():
    data = _program_data(request.form)

    def rerender(exc: ServiceError):
        errors = {k: [translate_message(m) for m in v] for k, v in exc.errors.items()}
        flash(translate_message(exc.message), "error")
        return _render_index(errors, dict(request.form), status=exc.status)

    commit_or_rerender(
        lambda: loyalty_service.update_program(db.session, request_actor(), data), rerender)
    flash(_("Loyalty settings saved."), "success")
    return redirect(url_for(".index"), 303)


def _reward_data(form: RewardForm, creating: bool) -> dict[str, Any]:
    data: dict[str, Any] = {"name": form.name.data, "kind": form.kind.data,
                            "description": form.description.data or "",
                            "points_cost": form.points_cost.data}
    for key in ("stock", "discount_percent", "valid_days"):
        data[key] = (getattr(form, key).data or "").strip() or None
    if not creating:
        data["active"] = bool(form.active.data)
    return data


def _reward_page(form: RewardForm, reward, status: int = 200):
    return render_template("loyalty/reward.html", form=form, reward=reward), status


@bp.route("/rewards/new", methods=["GET", "POST"])
@require("settings.manage")
def create_reward():
    form = _reward_form()
    if form.validate_on_submit():
        commit_or_rerender(
            lambda: loyalty_service.create_reward(db.session, request_actor(),
                                                  _reward_data(form, creating=True)),
            lambda exc: _reward_page(form, None, exc.status), form=form)
        flash(_("Reward saved."), "success")
        return redirect(url_for(".index"), 303)
    return _reward_page(form, None)


@bp.route("/rewards/<reward_id>/edit", methods=["GET", "POST"])
@require("settings.manage")
def edit_reward(reward_id: str):
    reward = loyalty_service.get_reward(db.session, reward_id)
    form = _reward_form(reward)
    if request.method == "GET":
        for key in ("points_cost", "stock", "discount_percent", "valid_days"):
            value = getattr(reward, key)
            getattr(form, key).data = "" if value is None else str(value)
    if form.validate_on_submit():
        commit_or_rerender(
            lambda: loyalty_service.update_reward(db.session, request_actor(), reward.id,
                                                  _reward_data(form, creating=False)),
            lambda exc: _reward_page(form, loyalty_service.get_reward(db.session, reward_id),
                                     exc.status), form=form)
        flash(_("Reward saved."), "success")
        return redirect(url_for(".index"), 303)
    return _reward_page(form, reward)


@bp.post("/levels")
@require("settings.manage")
def create_level():
    form = _level_form()
    if form.validate_on_submit():
        data = {"name": form.name.data, "basis": form.basis.data,
                "threshold": form.threshold.data, "window_months": form.window_months.data,
                "benefits": form.benefits.data or ""}
        commit_or_rerender(
            lambda: loyalty_service.create_level(db.session, request_actor(), data),
            lambda exc: _render_index(level_form=form, status=exc.status), form=form)
        flash(_("Membership level saved."), "success")
        return redirect(url_for(".index"), 303)
    return _render_index(level_form=form, status=422)


@bp.post("/levels/<level_id>/delete")
@require("settings.manage")
def delete_level(level_id: str):
    loyalty_service.delete_level(db.session, request_actor(), level_id)
    db.session.commit()
    flash(_("Membership level deleted."), "success")
    return redirect(url_for(".index"), 303)


@bp.post("/coupons/use")
@require("customers.write")
def use_coupon():
    form = CouponForm()
    if form.validate_on_submit():
        coupon = commit_or_rerender(
            lambda: loyalty_service.use_coupon(db.session, request_actor(), form.code.data,
                                               form.used_on.data or ""),
            lambda exc: _render_index(coupon_form=form, status=exc.status), form=form)
        flash(_("Coupon %(code)s marked as used.", code=coupon.code), "success")
        return redirect(url_for(".index"), 303)
    return _render_index(coupon_form=form, status=422)


# --- one customer -----------------------------------------------------------------------

def _redeem_form() -> RedeemForm:
    form = RedeemForm()
    form.reward_id.choices = choices([
        (str(r.id), _("%(name)s (%(points)s points)", name=r.name, points=r.points_cost))
        for r in loyalty_service.list_rewards(db.session, active_only=True)])
    return form


def _render_customer(customer, redeem_form=None, adjust_form=None, referral_form=None,
                     status: int = 200):
    found = tier_service.customer_tier(db.session, customer.id)
    return render_template(
        "loyalty/customer.html", customer=customer,
        balance=loyalty_service.balance(db.session, customer.id),
        ledger=loyalty_service.ledger(db.session, customer.id),
        coupons=loyalty_service.coupons(db.session, customer.id),
        membership=loyalty_service.membership(db.session, customer.id),
        code=_existing_code(customer.id), tier=found[1] if found else None,
        referrals=referral_service.referrals_of(db.session, customer.id),
        redeem_form=redeem_form or _redeem_form(), adjust_form=adjust_form or AdjustForm(),
        referral_form=referral_form or ReferralForm(), entry_labels=ENTRY_LABELS), status


def _customer_again(customer_id: str, **forms: FlaskForm) -> Callable[[ServiceError], Any]:
    """The customer's loyalty page after a failed write: the customer loaded again (the
    rollback expired it), the posted form with its errors."""
    return lambda exc: _render_customer(get_customer(db.session, customer_id),
                                        status=exc.status, **forms)


def _existing_code(customer_id) -> str | None:
    return db.session.scalar(select(ReferralCode.code).where(
        ReferralCode.customer_id == customer_id))


@bp.get("/customers/<customer_id>")
@require("customers.read")
def customer(customer_id: str):
    return _render_customer(get_customer(db.session, customer_id))


def _back_to_360() -> bool:
    return request.form.get("back") == "360"


@bp.post("/customers/<customer_id>/redeem")
@require("customers.write")
def redeem(customer_id: str):
    found = get_customer(db.session, customer_id)
    form = _redeem_form()
    if form.validate_on_submit():

        def rerender(exc: ServiceError):
            if _back_to_360():
                if exc.errors:
                    flash("; ".join(translate_message(m) for v in exc.errors.values()
                                    for m in v), "error")
                else:
                    flash_error(exc)
                return redirect(url_for("customers.show", customer_id=found.id), 303)
            form_errors(form, exc)
            return _render_customer(get_customer(db.session, customer_id), redeem_form=form,
                                    status=exc.status)

        done = commit_or_rerender(lambda: loyalty_service.redeem(
            db.session, request_actor(), found.id, form.reward_id.data), rerender)
        message = _("Redeemed for %(points)s points.", points=done.points)
        if done.coupon_code:
            message += " " + _("Coupon code: %(code)s", code=done.coupon_code)
        flash(message, "success")
        target = "customers.show" if _back_to_360() else ".customer"
        return redirect(url_for(target, customer_id=found.id), 303)
    return _render_customer(found, redeem_form=form, status=422)


@bp.post("/customers/<customer_id>/adjust")
@require("customers.write")
def adjust(customer_id: str):
    found = get_customer(db.session, customer_id)
    form = AdjustForm()
    if form.validate_on_submit():
        commit_or_rerender(
            lambda: loyalty_service.adjust(db.session, request_actor(), found.id,
                                           (form.points.data or "").strip(),
                                           form.reason.data or ""),
            _customer_again(customer_id, adjust_form=form), form=form)
        flash(_("Points adjusted."), "success")
        return redirect(url_for(".customer", customer_id=found.id), 303)
    return _render_customer(found, adjust_form=form, status=422)


@bp.post("/customers/<customer_id>/referral-code")
@require("customers.write")
def referral_code(customer_id: str):
    found = get_customer(db.session, customer_id)
    code = referral_service.code_for(db.session, request_actor(), found.id)
    db.session.commit()
    flash(_("Referral code: %(code)s", code=code.code), "success")
    target = "customers.show" if _back_to_360() else ".customer"
    return redirect(url_for(target, customer_id=found.id), 303)


@bp.post("/customers/<customer_id>/referral")
@require("customers.write")
def register_referral(customer_id: str):
    found = get_customer(db.session, customer_id)
    form = ReferralForm()
    if form.validate_on_submit():
        commit_or_rerender(
            lambda: referral_service.register(db.session, request_actor(), found.id,
                                              form.code.data),
            _customer_again(customer_id, referral_form=form), form=form)
        flash(_("Referral recorded: the referrer earns on this customer's first order."),
              "success")
        return redirect(url_for(".customer", customer_id=found.id), 303)
    return _render_customer(found, referral_form=form, status=422)


# --- the panel on the customer 360 page -------------------------------------------------

def _panel(customer) -> dict[str, Any]:
    """What `loyalty/_customer_panel.html` shows for a customer (read-only queries)."""
    found = tier_service.customer_tier(db.session, customer.id)
    return {"balance": loyalty_service.balance(db.session, customer.id),
            "tier": found[1] if found else None,
            "level": loyalty_service.membership(db.session, customer.id).level,
            "code": _existing_code(customer.id),
            "redeem_form": _redeem_form() if can("customers.write") else None}


TIMELINE_BONUS_LABELS = {**BONUS_LABELS, "referral": _l("Referral"),
                         "contribution": _l("Contribution reward")}


@bp.app_context_processor
def _panel_helper() -> dict[str, Any]:
    return {"loyalty_panel": _panel, "loyalty_entry_labels": ENTRY_LABELS,
            "loyalty_bonus_labels": TIMELINE_BONUS_LABELS}


@bp.app_template_filter("isotime")
def _isotime(value: str | None) -> str:
    """An ISO time kept in timeline `data` (JSON has no datetimes), in the tenant's zone."""
    if not value:
        return ""
    try:
        return localtime(datetime.fromisoformat(value))
    except ValueError:
        return value
