"""Billing page (plan, usage bars, Stripe Checkout and portal), the Stripe webhook, the
dunning banner, and the guard that keeps a read-only tenant from writing.

The webhook lives outside `/t/<slug>/` because Stripe does not know the slug: the
tenant comes from the event. It is CSRF-exempt; the Stripe signature authenticates it.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from saas.billing import webhooks
from saas.billing.state import BillingConfig, tenant_state
from saas.extensions import csrf, db
from saas.services import billing as billing_service
from saas.services.errors import ServiceError
from saas.services.limits import READ_ONLY_MESSAGE
from saas.tenancy import current_tenant
from saas.web import nav
from saas.web.access import can, current_staff, request_actor, require
from saas.web.messages import N_, translate_message
from saas.web.saving import commit_or_rerender

bp = Blueprint("billing", __name__)
nav.add("billing.index", _l("Billing"), permission="settings.manage", order=93)

# Billing's service messages, marked for the catalogue (see saas/web/messages.py).
MESSAGES = (
    N_("Only the owner can manage billing."),
    N_("There is no billing account yet: subscribe to a plan first."),
    N_("You already have a subscription: change its plan instead."),
    N_("Already subscribed."),
    N_("There is no active subscription: choose a plan first."),
    N_("You are already on this plan."),
    N_("This plan has no price configured yet."),
    N_("Billing is not enabled on this installation."),
    N_("Choose one of: pro, enterprise."),
    N_("Usage above this plan's limits."),
    N_("This account is read-only because a payment is overdue. Your data is kept; the "
       "owner can pay the open invoice on the Billing page."),
)
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# Still usable while read-only: logging in and out, switching language, paying.
WRITABLE_WHEN_READ_ONLY = {"auth", "billing", "public", "errors", "unsubscribe"}


@bp.record_once
def _check_settings(state) -> None:
    """A misspelt plan in the settings stops the app at start, not on every request."""
    BillingConfig.from_mapping(state.app.config)


def _config() -> BillingConfig:
    return BillingConfig.from_mapping(current_app.config)


def _page(status: int = 200):
    overview = billing_service.overview(db.session, current_tenant, _config())
    return render_template("billing/index.html", overview=overview,
                           manage=can("billing.manage"),
                           checkout=request.args.get("checkout")), status


@bp.get("/t/<slug>/billing/")
@require("settings.manage")
def index():
    return _page()


def _failed(exc: ServiceError):
    flash(translate_message(exc.message), "error")
    return _page(exc.status)


@bp.post("/t/<slug>/billing/checkout")
@require("billing.manage")
def checkout():
    staff = current_staff()
    url = commit_or_rerender(lambda: billing_service.start_checkout(
        db.session, request_actor(), current_tenant, _config(), request.form.get("plan", ""),
        email=staff.email if staff else None), _failed)
    return redirect(url, 303)


@bp.post("/t/<slug>/billing/portal")
@require("billing.manage")
def portal():
    url = commit_or_rerender(lambda: billing_service.portal_url(
        db.session, request_actor(), current_tenant, _config()), _failed)
    return redirect(url, 303)


@bp.post("/t/<slug>/billing/change")
@require("billing.manage")
def change():
    commit_or_rerender(lambda: billing_service.change_plan(
        db.session, request_actor(), current_tenant, _config(), request.form.get("plan", "")),
        _failed)
    flash(_("Your plan has been changed."), "success")
    return redirect(url_for("billing.index"), 303)


@bp.post("/t/<slug>/billing/cancel")
@require("billing.manage")
def cancel():
    resume = request.form.get("resume") == "1"
    commit_or_rerender(lambda: billing_service.cancel(
        db.session, request_actor(), current_tenant, _config(), resume=resume), _failed)
    flash(_("Your subscription continues.") if resume else
          _("Your subscription ends at the end of the paid period."), "success")
    return redirect(url_for("billing.index"), 303)


@bp.post("/billing/stripe/webhook")
@csrf.exempt
def stripe_webhook():
    config = _config()
    if not config.enabled or not config.webhook_secret:
        return jsonify(error="Billing is not enabled."), 404
    try:
        event = webhooks.verify(request.get_data(), request.headers.get("Stripe-Signature"),
                                config.webhook_secret)
        outcome = webhooks.apply_event(db.session, config, event)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        return jsonify(error=exc.message, errors=exc.errors), exc.status
    except IntegrityError:
        # The same event delivered twice at once: the other delivery recorded it.
        db.session.rollback()
        outcome = "duplicate"
    return jsonify(received=True, outcome=outcome)


@bp.app_context_processor
def _billing_banner() -> dict:
    """`billing_notice` for the shell's banner: grace period, read-only or ending plan."""
    tenant = g.get("tenant")
    if tenant is None or not request.path.startswith("/t/"):
        return {}
    state = tenant_state(db.session, tenant.id, _config())
    notice = None
    if state.read_only:
        notice = {"kind": "error", "message": _(
            "This account is read-only because a payment is overdue. Your data is kept; "
            "the owner can pay the open invoice on the Billing page.")}
    elif state.in_grace:
        notice = {"kind": "error", "until": state.grace_until, "message": _(
            "A payment failed. Please update the card before the account becomes "
            "read-only.")}
    elif state.cancel_at is not None:
        notice = {"kind": "info", "until": state.cancel_at, "message": _(
            "Your subscription is cancelled; the free plan's limits apply after the "
            "paid period.")}
    return {"billing_notice": notice}


@bp.before_app_request
def _refuse_writes_when_read_only():
    """Past the grace period nothing is written until the invoice is paid."""
    tenant = g.get("tenant")
    if tenant is None or request.method in SAFE_METHODS or request.path.startswith("/api/"):
        return None  # the API applies its own rule (saas.api.billing)
    if (request.blueprint or "") in WRITABLE_WHEN_READ_ONLY:
        return None
    if not tenant_state(db.session, tenant.id, _config()).read_only:
        return None
    return render_template("errors/error.html", status=402, title=_("Account is read-only"),
                           message=translate_message(READ_ONLY_MESSAGE)), 402
