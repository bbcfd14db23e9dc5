"""The managers' dashboard: every figure as a Chart.js chart with its table and a CSV
download beside it, filtered by date range, owner and department, read from the
precomputed tables (`saas.analytics.dashboard_figures`). It is the home page of every
role with `reports.read`; `/dashboard/` is the same page under its own name."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField

from saas.analytics import dashboard_figures as figs
from saas.extensions import db
from saas.jobs.queue import enqueue_after_commit
from saas.services.errors import ServiceError
from saas.tenancy import current_tenant
from saas.web.access import form_errors, require
from saas.web.customer_labels import STAGE_LABELS
from saas.web.forms import choices

bp = Blueprint("dashboard", __name__, url_prefix="/t/<slug>/dashboard")

CHARTS: dict[str, tuple[Any, str]] = {
    "customers_tier": (_l("Customers by tier"), "line"),
    "customers_lifecycle": (_l("Customers by lifecycle stage"), "line"),
    "customers_category": (_l("Customers by category"), "line"),
    "customer_flow": (_l("New vs lost customers"), "bar"),
    "revenue_tier": (_l("Revenue by tier"), "stacked"),
    "purchase_cycle": (_l("Purchase cycle"), "bar"),
    "complaints_cause": (_l("Complaints by cause"), "stacked"),
    "satisfaction": (_l("NPS and CSAT"), "line"),
    "campaigns": (_l("Campaign results"), "bar"),
}
NONE_LABELS = {"customers_tier": _l("No tier"), "revenue_tier": _l("No tier"),
               "customers_category": _l("No category"), "complaints_cause": _l("No cause")}
SERIES_LABELS = {"new": _l("New customers"), "lost": _l("Lost customers"),
                 "customers": _l("Customers"), "nps": "NPS", "csat": _l("CSAT %"),
                 "nps_responses": _l("NPS responses"), "csat_responses": _l("CSAT responses"),
                 "audience": _l("Audience"), "sent": _l("Sent"), "clicked": _l("Clicked"),
                 "converted": _l("Converted")}
PERIOD_LABELS = {"auto": _l("Automatic"), "day": _l("Day"), "week": _l("Week"),
                 "month": _l("Month")}
EXTRA_LABELS = {"as_of": _l("As of"), "launched": _l("Launched"), "campaign_id": _l("Id")}
OTHER_PAGES = ((("team.index", "analytics.team"), _l("Team performance")),
               (("analytics.at_risk_page",), _l("At-risk customers")),
               (("bundles.index", "analytics.bundles"), _l("Bundles")))
"""Related analytics pages (first endpoint that exists), linked when installed."""


class DashboardFilterForm(FlaskForm):
    class Meta:
        csrf = False

    start = StringField(_l("From"))
    end = StringField(_l("To"))
    owner_id = SelectField(_l("Owner"), default="")
    department = SelectField(_l("Department"), default="")
    period = SelectField(_l("Group by"), default="auto",
                         choices=choices(list(PERIOD_LABELS.items())))


def series_label(figure: str, key: str) -> str:
    if figure == "customers_lifecycle" and key in STAGE_LABELS:
        return str(STAGE_LABELS[key])
    if key == "" and figure in NONE_LABELS:
        return str(NONE_LABELS[figure])
    if figure in ("customer_flow", "purchase_cycle", "satisfaction", "campaigns"):
        return str(SERIES_LABELS.get(key, key))
    return key


def first_column(fig: figs.Figure) -> str:
    if fig.name == "purchase_cycle":
        return _("Days between orders")
    if fig.name == "campaigns":
        return _("Campaign")
    return str(PERIOD_LABELS.get(fig.period or "", _("Period")))


def _view(fig: figs.Figure) -> dict[str, Any]:
    """What the template needs: titles, translated series, the table and chart data."""
    title, chart_type = CHARTS[fig.name]
    series = [{**s, "label": series_label(fig.name, s["key"])} for s in fig.series]
    extra = [(k, str(EXTRA_LABELS.get(k, k))) for k in fig.extra if k != "campaign_id"]
    return {"name": fig.name, "title": str(title), "type": chart_type, "kind": fig.kind,
            "currency": fig.currency, "first_column": first_column(fig), "labels": fig.labels,
            "series": series, "extra": extra, "extra_values": fig.extra,
            "chart": {"type": chart_type, "labels": fig.labels, "kind": fig.kind,
                      "series": [{"label": s["label"], "values": s["values"]}
                                 for s in series if s["chart"]]}}


def _form() -> DashboardFilterForm:
    form = DashboardFilterForm(request.args)
    form.owner_id.choices = choices([("", _l("Anyone"))] + figs.owner_choices(db.session))
    form.department.choices = choices([("", _l("All departments"))] + [
        (d, d) for d in figs.department_choices(db.session)])
    return form


def render_dashboard():
    """The dashboard page (home of managers); bad filters are form messages (422)."""
    form = _form()
    tenant = current_tenant
    try:
        filters = figs.parse_filters(db.session, tenant.timezone, request.args.to_dict())
    except ServiceError as exc:
        db.session.rollback()
        form_errors(form, exc)
        return render_template("dashboard/index.html", form=form, figures=[], filters=None,
                               stamp=figs.stamp(db.session), links=_links()), exc.status
    form.start.data, form.end.data = filters.start.isoformat(), filters.end.isoformat()
    views = [_view(figs.figure(db.session, name, filters, tenant.currency))
             for name in figs.FIGURES]
    return render_template("dashboard/index.html", form=form, figures=views,
                           filters=filters, stamp=figs.stamp(db.session), links=_links())


def _links() -> list[tuple[str, Any]]:
    links = []
    for endpoints, label in OTHER_PAGES:
        found = [e for e in endpoints if e in current_app.view_functions]
        if found:
            links.append((found[0], label))
    return links


@bp.get("/")
@require("reports.read")
def index():
    return render_dashboard()


@bp.get("/<figure>.csv")
@require("reports.read")
def figure_csv(figure: str):
    tenant = current_tenant
    filters = figs.parse_filters(db.session, tenant.timezone, request.args.to_dict())
    fig = figs.figure(db.session, figure, filters, tenant.currency)  # unknown: 404
    view = _view(fig)
    body = figs.to_csv(fig, {s["key"]: s["label"] for s in view["series"]},
                       first_column=view["first_column"],
                       extra_labels={k: str(v) for k, v in EXTRA_LABELS.items()})
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{figure}.csv"'})


@bp.post("/recompute")
@require("reports.read")
def recompute():
    enqueue_after_commit(db.session, "saas.jobs.analytics:refresh_dashboard",
                         current_tenant.id)
    db.session.commit()
    flash(_("The dashboard is being recomputed."), "success")
    return redirect(url_for("home.index"))
