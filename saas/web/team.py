"""Team performance: the staff KPI leaderboard for managers, sortable by each KPI
(`saas.services.staff_kpis`; computed live for the chosen period)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from saas.extensions import db
from saas.services import at_risk, staff_kpis
from saas.services.errors import ServiceError
from saas.web import nav
from saas.web.access import request_actor, require
from saas.web.analytics import date_arg, service_errors

bp = Blueprint("team", __name__, url_prefix="/t/<slug>/analytics/team")
nav.add("team.index", _l("Team performance"), permission="reports.read", order=60)

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


def leaderboard_page(template: str, **fixed: Any):
    """Parse period, sort and department from the query string (bad ones: 422 with a
    message next to the field, and the default period shown) and render the board."""
    errors: dict[str, str] = {}
    since, until = date_arg("since", errors), date_arg("until", errors)
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
            service_errors(exc, errors)
    if board is None:
        board = staff_kpis.compute(db.session, request_actor(), sort=sort, **fixed)
    return render_template(template, board=board, errors=errors, columns=KPI_COLUMNS,
                           department=department or "",
                           departments=at_risk.departments(db.session)), \
        422 if errors else 200


@bp.get("")
@require("reports.read")
def index():
    return leaderboard_page("analytics/team.html")
