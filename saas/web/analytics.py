"""Analytics pages: at-risk customers, the churn back-test, the recompute button and the
360-page panel (bundles, team and "My performance" are in `bundles.py`, `team.py`,
`my_performance.py`, one menu entry per blueprint). Figures come from `saas.analytics`
and services; the views only parse the query string and render."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from saas.analytics import backtest, baskets, churn
from saas.extensions import db
from saas.jobs.queue import enqueue_after_commit
from saas.models.analytics import ChurnScore, CustomerClv
from saas.services import at_risk, field_access, staff_kpis
from saas.services import staff as staff_service
from saas.services.errors import ServiceError
from saas.tenancy import current_tenant
from saas.web import nav
from saas.web import privacy as privacy_web
from saas.web.access import request_actor, require
from saas.web.customer_panels import register_panel

bp = Blueprint("analytics", __name__, url_prefix="/t/<slug>/analytics")
nav.add("analytics.at_risk_page", _l("At-risk customers"), permission="customers.read", order=36)

def reason_text(reason: Any) -> str:
    """A stored churn reason (code + parameters) in the reader's language."""
    return churn.describe(reason, _)


@bp.app_template_filter("churn_reason")
def _churn_reason_filter(reason: Any) -> str:
    return reason_text(reason)


def date_arg(name: str, errors: dict[str, str]) -> date | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = _("Enter a date as YYYY-MM-DD.")
        return None


def _uuid_arg(name: str, errors: dict[str, str]) -> uuid.UUID | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        errors[name] = _("Choose someone from the list.")
        return None


def shown_fields() -> dict[str, bool]:
    """Which of the analytics columns the viewer's role may see (issue 11): amounts
    derived from orders (value at stake, CLV) follow `order_amounts`, owners `owner_id`."""
    access = privacy_web.web_access()
    return {"amounts_visible": access.can_see(field_access.ORDER_AMOUNTS),
            "owners_visible": access.can_see("owner_id")}


def service_errors(exc: ServiceError, errors: dict[str, str]) -> None:
    from saas.web.messages import translate_message

    for name, messages in (exc.errors or {"": [str(exc)]}).items():
        errors[name or "form"] = translate_message(messages[0])


@bp.get("/at-risk")
@require("customers.read")
def at_risk_page():
    """My at-risk customers; a manager may choose an owner, a department or everyone."""
    errors: dict[str, str] = {}
    owner_raw = request.args.get("owner", "")
    everyone = owner_raw == "all"
    owner_id = None if everyone else _uuid_arg("owner", errors)
    department = (request.args.get("department") or "").strip() or None
    rows: list = []
    status = 200
    if not errors:
        try:
            rows = at_risk.list_at_risk(db.session, request_actor(), owner_id, department,
                                        everyone)
        except ServiceError as exc:
            if exc.status in (403, 404):
                raise
            service_errors(exc, errors)
    if errors:
        status = 422
    manager = staff_kpis.can_see_everyone(request_actor())
    people = db.session.scalars(staff_service.list_staff(db.session, active=True)).all() \
        if manager else []
    return render_template(
        "analytics/at_risk.html", rows=rows, errors=errors, owner=owner_raw,
        department=department or "", people=people, manager=manager,
        departments=at_risk.departments(db.session) if manager else [],
        computed_at=max((r.computed_at for r in rows), default=None),
        **shown_fields()), status


@bp.get("/back-test")
@require("reports.read")
def back_test():
    """Flag as of a past day, count the churners caught ahead of time."""
    errors: dict[str, str] = {}
    as_of = date_arg("as_of", errors)
    raw_days = (request.args.get("days") or "180").strip()
    days = int(raw_days) if raw_days.isdigit() else None
    if days is None:
        errors["days"] = _("Enter a whole number of days.")
    report = None
    if not errors:
        zone = ZoneInfo(current_tenant.timezone or "UTC")
        start = datetime.combine(as_of, time(), zone) if as_of else None
        try:
            report = backtest.run(db.session, start, days)
        except ServiceError as exc:
            service_errors(exc, errors)
    return render_template("analytics/back_test.html", report=report, errors=errors,
                           as_of=request.args.get("as_of", ""), days=raw_days), \
        422 if errors else 200


@bp.post("/recompute")
@require("reports.read")
def recompute():
    enqueue_after_commit(db.session, "saas.jobs.analytics:recompute_tenant", current_tenant.id)
    db.session.commit()
    flash(_("The figures are being recomputed."), "success")
    back = "bundles.index" if request.form.get("back") == "bundles" else ".at_risk_page"
    return redirect(url_for(back), 303)


def _customer_panel(customer: Any) -> dict[str, Any]:
    """Churn score and reasons, P(alive), CLV and "next product" for the 360 page."""
    key = (customer.tenant_id, customer.id)
    return {"churn": db.session.get(ChurnScore, key), "clv": db.session.get(CustomerClv, key),
            "recommendations": baskets.recommendations(db.session, customer.id),
            **shown_fields()}


register_panel("analytics", "analytics/_customer_panel.html", context=_customer_panel,
               permission="customers.read", order=20)
