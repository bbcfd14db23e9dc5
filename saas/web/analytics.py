"""Analytics pages: at-risk customers, the churn back-test, bundle suggestions, the team
leaderboard and "My performance". Figures come from `saas.analytics` / services; the
views only parse the query string and render."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select

from saas.analytics import backtest, baskets, churn
from saas.extensions import db
from saas.jobs.queue import enqueue_after_commit
from saas.models.analytics import AssociationRule, ChurnScore, CustomerClv
from saas.models.products import Product
from saas.services import at_risk, staff_kpis
from saas.services import staff as staff_service
from saas.services.errors import ServiceError
from saas.tenancy import current_tenant
from saas.web import nav
from saas.web.access import current_staff, request_actor, require
from saas.web.customer_panels import register_panel

bp = Blueprint("analytics", __name__, url_prefix="/t/<slug>/analytics")
nav.add("analytics.at_risk", _l("At-risk customers"), permission="customers.read", order=36)
nav.add("analytics.team", _l("Team performance"), permission="reports.read", order=60)
nav.add("analytics.me", _l("My performance"), order=61)
nav.add("analytics.bundles", _l("Bundles"), permission="reports.read", order=62)

KPI_COLUMNS = (
    ("customers_owned", _l("Customers owned")),
    ("visits_on_time_rate", _l("Visits on time")),
    ("tickets_handled", _l("Tickets handled")),
    ("first_response_hours", _l("First response (h)")),
    ("resolution_hours", _l("Resolution (h)")),
    ("csat", _l("CSAT")),
    ("nps", _l("NPS")),
    ("revenue", _l("Revenue")),
)
RULE_SORTS = {"lift": AssociationRule.lift, "confidence": AssociationRule.confidence,
              "support": AssociationRule.support, "pair_count": AssociationRule.pair_count}


def reason_text(reason: Any) -> str:
    """A stored churn reason (code + parameters) in the reader's language."""
    return churn.describe(reason, _)


@bp.app_template_filter("churn_reason")
def _churn_reason_filter(reason: Any) -> str:
    return reason_text(reason)


def _date_arg(name: str, errors: dict[str, str]) -> date | None:
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


def _service_errors(exc: ServiceError, errors: dict[str, str]) -> None:
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
            _service_errors(exc, errors)
    if errors:
        status = 422
    manager = staff_kpis.can_see_everyone(request_actor())
    people = db.session.scalars(staff_service.list_staff(db.session, active=True)).all() \
        if manager else []
    return render_template(
        "analytics/at_risk.html", rows=rows, errors=errors, owner=owner_raw,
        department=department or "", people=people, manager=manager,
        departments=at_risk.departments(db.session) if manager else [],
        computed_at=max((r.computed_at for r in rows), default=None)), status


@bp.get("/back-test")
@require("reports.read")
def back_test():
    """Flag as of a past day, count the churners caught ahead of time."""
    errors: dict[str, str] = {}
    as_of = _date_arg("as_of", errors)
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
            _service_errors(exc, errors)
    return render_template("analytics/back_test.html", report=report, errors=errors,
                           as_of=request.args.get("as_of", ""), days=raw_days), \
        422 if errors else 200


@bp.get("/bundles")
@require("reports.read")
def bundles():
    """Association rules (support, confidence, lift) to pick bundles from."""
    sort = request.args.get("sort", "-lift")
    column = RULE_SORTS.get(sort.lstrip("-"))
    if column is None:
        sort, column = "-lift", AssociationRule.lift
    a, b = Product.__table__.alias("a"), Product.__table__.alias("b")
    stmt = (select(AssociationRule, a.c.name.label("a_name"), a.c.sku.label("a_sku"),
                   b.c.name.label("b_name"), b.c.sku.label("b_sku"))
            .join(a, and_(a.c.tenant_id == AssociationRule.tenant_id,
                          a.c.id == AssociationRule.antecedent_id))
            .join(b, and_(b.c.tenant_id == AssociationRule.tenant_id,
                          b.c.id == AssociationRule.consequent_id))
            .order_by(column.desc() if sort.startswith("-") else column.asc(),
                      AssociationRule.id)
            .limit(200))
    rows = db.session.execute(stmt).all()
    computed_at = db.session.scalar(select(func.max(AssociationRule.computed_at)))
    return render_template("analytics/bundles.html", rows=rows, sort=sort,
                           computed_at=computed_at)


def _leaderboard(template: str, **fixed: Any):
    errors: dict[str, str] = {}
    since, until = _date_arg("since", errors), _date_arg("until", errors)
    sort = request.args.get("sort", "-revenue")
    if sort.lstrip("-") not in staff_kpis.SORTS:
        errors["sort"] = _("Choose a column to sort by.")
        sort = "-revenue"
    department = (request.args.get("department") or "").strip() or None
    board = None
    if not errors:
        try:
            board = staff_kpis.compute(db.session, request_actor(), since, until,
                                       department=department, sort=sort, **fixed)
        except ServiceError as exc:
            _service_errors(exc, errors)
    if board is None:
        board = staff_kpis.compute(db.session, request_actor(), sort=sort, **fixed)
    return render_template(template, board=board, errors=errors, columns=KPI_COLUMNS,
                           department=department or "",
                           departments=at_risk.departments(db.session)), \
        422 if errors else 200


@bp.get("/team")
@require("reports.read")
def team():
    """The leaderboard, sortable by each KPI."""
    return _leaderboard("analytics/team.html")


@bp.get("/me")
@require()
def me():
    """The signed-in person's own KPIs (an agent sees nobody else's)."""
    return _leaderboard("analytics/me.html", staff_id=current_staff().id)


@bp.post("/recompute")
@require("reports.read")
def recompute():
    enqueue_after_commit(db.session, "saas.jobs.analytics:recompute_tenant", current_tenant.id)
    db.session.commit()
    flash(_("The figures are being recomputed."), "success")
    back = request.form.get("back")
    return redirect(url_for(f".{back}" if back in ("at_risk_page", "bundles")
                            else ".at_risk_page"), 303)


def _customer_panel(customer: Any) -> dict[str, Any]:
    """Churn score and reasons, P(alive), CLV and "next product" for the 360 page."""
    key = (customer.tenant_id, customer.id)
    return {"churn": db.session.get(ChurnScore, key), "clv": db.session.get(CustomerClv, key),
            "recommendations": baskets.recommendations(db.session, customer.id)}


register_panel("analytics", "analytics/_customer_panel.html", context=_customer_panel,
               permission="customers.read", order=20)
