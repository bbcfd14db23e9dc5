"""The dashboard demo generator runs last and leaves the demo dashboard full."""

from __future__ import annotations

from sqlalchemy import func, select

from saas import demo
from saas.analytics import dashboard_figures as figs
from saas.extensions import db
from saas.models.customers import Customer
from saas.models.dashboard import DashboardStamp


def test_generator_runs_last_and_the_charts_have_data(app):
    assert demo.generators()[-1].name == "dashboard"
    names = ("staff", "customers", "loyalty", "service_desk", "dashboard")
    gens = [g for g in demo.generators() if g.name in names]
    with app.app_context():
        demo.run(db.session, slug="demo-dash", size=8, only=gens)
        s = db.session
        assert s.scalar(select(DashboardStamp)) is not None
        filters = figs.parse_filters(s, "Asia/Shanghai", {})

        def total(name):
            fig = figs.figure(s, name, filters)
            return sum(v or 0 for series in fig.series if series["chart"]
                       for v in series["values"])

        customers = s.scalar(select(func.count()).select_from(Customer))
        tiers = figs.figure(s, "customers_tier", filters)
        assert sum(series["values"][-1] or 0 for series in tiers.series) == customers
        assert total("revenue_tier") > 0 and total("customer_flow") > 0
        assert total("purchase_cycle") > 0 and total("complaints_cause") > 0
        db.session.remove()
