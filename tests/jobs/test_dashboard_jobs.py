"""Dashboard refresh through a real RQ worker: the periodic entry fans out per tenant."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from saas.analytics import dashboard_figures as figs
from saas.extensions import db
from saas.jobs.queue import enqueue
from saas.jobs.schedule import PERIODIC
from saas.models.dashboard import DashboardStamp
from tests.analytics import dashboard_world


def test_dashboard_refresh_is_on_the_schedule():
    entries = {p.name: p for p in PERIODIC}
    assert entries["dashboard-refresh"].path == "saas.jobs.analytics:refresh_all_dashboards"
    assert entries["dashboard-refresh"].cron == "10 */3 * * *"


@pytest.mark.redis
def test_real_worker_fills_every_tenants_dashboard(app, make_tenant, use_redis, redis_url,
                                                   run_worker):
    shop = dashboard_world.build(app, make_tenant())
    empty = make_tenant()
    use_redis(redis_url)
    with app.app_context():
        enqueue("saas.jobs.analytics:refresh_all_dashboards")
    run_worker()
    with app.app_context():
        shop.tenant.bind()
        stamp = db.session.scalar(select(DashboardStamp))
        assert stamp is not None and stamp.last_day == shop.today
        f = figs.Filters(shop.today - timedelta(days=400), shop.today, "month")
        fig = figs.figure(db.session, "revenue_tier", f)
        assert {s["key"]: sum(s["values"]) for s in fig.series} == {"A": 280.0, "B": 200.0}
        empty.bind()
        assert db.session.scalar(select(DashboardStamp)) is not None
        db.session.remove()
