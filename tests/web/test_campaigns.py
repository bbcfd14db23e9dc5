"""Staff campaign and survey pages: list, progress (and its JSON for the bar), results,
CSV export, survey results; another tenant's id is 404."""

from __future__ import annotations

import pytest

from saas.extensions import db
from saas.services import campaigns, customers, segments, surveys
from tests.hooks.support import GOOD_SETTINGS, EchoPlugin, configure, registered
from tests.web.helpers import login


@pytest.fixture
def world(app, make_tenant):
    with registered(app, EchoPlugin(), "echo"):
        tenant = make_tenant()
        configure(app, tenant, "echo", GOOD_SETTINGS)
        with app.app_context():
            tenant.bind()
            actor = tenant.owner_actor()
            for i in range(2):
                customers.create_customer(db.session, actor, {"name": f"C{i}",
                                                              "tags": ["x"]})
            seg = segments.create_segment(db.session, actor, {"name": "X", "rule": {
                "all": [{"tag": "x"}]}})
            c = campaigns.create_campaign(db.session, actor, {
                "name": "Autumn", "segment_id": str(seg.id), "channel": "echo",
                "variants": [{"name": "A", "body": "Hi {{ customer.name }}"}]})
            campaigns.launch(db.session, actor, c.id)
            s = surveys.create_survey(db.session, actor, {"name": "Visit NPS", "kind": "nps"})
            db.session.commit()
            ids = (c.id, s.id)
            db.session.remove()
        yield tenant, ids


def test_staff_see_campaign_progress_results_and_export(client, world):
    tenant, (cid, sid) = world
    login(client, tenant)
    base = f"/t/{tenant.slug}"
    assert b"Autumn" in client.get(f"{base}/campaigns/").data
    page = client.get(f"{base}/campaigns/{cid}")
    assert page.status_code == 200 and b"campaign-progress" in page.data
    prog = client.get(f"{base}/campaigns/{cid}/progress.json").json
    assert prog["sent"] == 2 and prog["percent"] == 100
    csv = client.get(f"{base}/campaigns/{cid}/results.csv")
    assert csv.status_code == 200 and csv.data.splitlines()[1].startswith(b"A,2,2")
    assert client.get(f"{base}/surveys/").status_code == 200
    res = client.get(f"{base}/surveys/{sid}")
    assert res.status_code == 200 and b"chart.umd.js" in res.data


def test_other_tenants_ids_are_404(client, world, make_tenant, app):
    tenant, (cid, sid) = world
    other = make_tenant()
    login(client, other)
    assert client.get(f"/t/{other.slug}/campaigns/{cid}").status_code == 404
    assert client.get(f"/t/{other.slug}/surveys/{sid}").status_code == 404
