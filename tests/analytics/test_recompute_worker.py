"""The "Recompute" button queues the analytics job; a real RQ worker fills the at-risk list."""

from __future__ import annotations

import pytest

from saas.extensions import db
from tests.analytics import kpi_world
from tests.api.conftest import add_staff
from tests.jobs.conftest import queue_name, redis_url, run_worker, use_redis  # noqa: F401
from tests.web.helpers import login


@pytest.mark.redis
def test_recompute_runs_on_the_worker_and_fills_the_at_risk_list(
        app, client, make_tenant, use_redis, redis_url, run_worker):  # noqa: F811
    tenant = make_tenant()
    with app.app_context():
        _alice, _bob, _ids = kpi_world.at_risk_shop(tenant, add_staff, score=False)
        db.session.remove()
    login(client, tenant)
    page = f"/t/{tenant.slug}/analytics/at-risk?owner=all"
    assert "Lapsed B" not in client.get(page).get_data(as_text=True)
    use_redis(redis_url)
    r = client.post(f"/t/{tenant.slug}/analytics/recompute", data={"back": "at_risk_page"})
    assert r.status_code == 303
    assert "Lapsed B" not in client.get(page).get_data(as_text=True)  # queued, not run

    run_worker()

    html = client.get(page).get_data(as_text=True)
    assert "Lapsed B" in html and "Lapsed A" in html and "Steady" not in html
    assert "bought every 30 days, nothing for 75 days" in html and "Last computed" in html
