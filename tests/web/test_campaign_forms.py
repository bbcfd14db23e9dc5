"""The staff campaign form and buttons: create/edit with field messages, launch now or at a
local time, pause/resume/cancel, progress; bad input saves nothing, other tenants' ids are
404 and roles without `campaigns.manage` get 403."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from saas.extensions import db
from saas.models.campaigns import Campaign, CampaignRecipient, CampaignVariant
from saas.services import campaigns, customers, plugins, segments
from tests.hooks.support import GOOD_SETTINGS, EchoPlugin, configure, registered
from tests.web.helpers import field_errors, login, login_as, use_cheap_password_hashing


@pytest.fixture
def world(app, make_tenant, monkeypatch):
    use_cheap_password_hashing(monkeypatch)
    plugin = EchoPlugin()
    with registered(app, plugin, "echo"):
        tenant = make_tenant()
        configure(app, tenant, "echo", GOOD_SETTINGS)
        with app.app_context():
            tenant.bind()
            actor = tenant.owner_actor()
            for i in range(3):
                customers.create_customer(db.session, actor, {"name": f"C{i}",
                                                              "tags": ["vip"]})
            seg = segments.create_segment(db.session, actor, {
                "name": "VIP", "rule": {"all": [{"tag": "vip"}]}})
            empty = segments.create_segment(db.session, actor, {
                "name": "Nobody", "rule": {"all": [{"tag": "nobody"}]}})
            db.session.commit()
            ids = {"segment": str(seg.id), "empty": str(empty.id)}
            db.session.remove()
        yield tenant, ids, plugin


def _form(segment_id: str, over: dict | None = None, **more) -> dict:
    data = {"name": "Spring sale", "segment_id": segment_id, "channel": "echo",
            "survey_id": "", "quiet_start": "", "quiet_end": "", "rate_per_minute": "",
            "winner_metric": "", "test_minutes": "", "conversion_days": "",
            "variants-0-name": "A", "variants-0-split_percent": "",
            "variants-0-subject": "", "variants-0-body": "Hi {{ customer.name }}",
            "variants-1-name": "", "variants-1-split_percent": "",
            "variants-1-subject": "", "variants-1-body": "",
            "variants-2-name": "", "variants-2-split_percent": "",
            "variants-2-subject": "", "variants-2-body": ""}
    data.update(over or {})
    data.update(more)
    return data


def _count(app, tenant, model=Campaign) -> int:
    with app.app_context():
        tenant.bind()
        n = db.session.scalar(select(func.count()).select_from(model))
        db.session.remove()
    return n


def _campaign(app, tenant) -> Campaign:
    with app.app_context():
        tenant.bind()
        c = db.session.scalars(select(Campaign)).one()
        db.session.expunge(c)
        db.session.remove()
    return c


def test_new_campaign_form_lists_only_enabled_channels_and_own_segments(client, world):
    tenant, ids, _p = world
    login(client, tenant)
    page = client.get(f"/t/{tenant.slug}/campaigns/new")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'value="{ids["segment"]}"' in html and 'value="echo"' in html
    assert 'value="email"' not in html  # the email plugin is not enabled here


def test_create_ab_campaign_through_the_form(client, world, app):
    tenant, ids, _p = world
    login(client, tenant)
    resp = client.post(f"/t/{tenant.slug}/campaigns/new", data=_form(
        ids["segment"], **{"variants-0-split_percent": "25", "variants-1-name": "B",
                           "variants-1-split_percent": "25",
                           "variants-1-body": "Hello {{ customer.name }}!",
                           "winner_metric": "clicks", "test_minutes": "60",
                           "quiet_start": "22:00", "quiet_end": "08:00",
                           "rate_per_minute": "100", "conversion_days": "14"}))
    assert resp.status_code == 303, resp.get_data(as_text=True)[:2000]
    c = _campaign(app, tenant)
    assert (c.name, c.channel, c.quiet_start, c.quiet_end, c.rate_per_minute,
            c.winner_metric, c.test_minutes, c.conversion_days) == (
        "Spring sale", "echo", "22:00", "08:00", 100, "clicks", 60, 14)
    with app.app_context():
        tenant.bind()
        vs = [(v.name, v.split_percent) for v in campaigns.variants(db.session, c.id)]
        db.session.remove()
    assert vs == [("A", 25), ("B", 25)]
    show = client.get(resp.headers["Location"])
    assert show.status_code == 200 and b"Hello {{ customer.name }}!" in show.data


def test_template_syntax_error_shows_the_line_and_saves_nothing(client, world, app):
    tenant, ids, _p = world
    login(client, tenant)
    resp = client.post(f"/t/{tenant.slug}/campaigns/new", data=_form(
        ids["segment"], **{"variants-0-body": "Hi\n{% if customer.name %}oops"}))
    assert resp.status_code == 422
    assert "Line 2" in field_errors(resp.get_data(as_text=True), "variants-0-body")
    assert _count(app, tenant) == 0 and _count(app, tenant, CampaignVariant) == 0


def test_unknown_variable_in_a_second_variant_lands_on_that_row(client, world, app):
    tenant, ids, _p = world
    login(client, tenant)
    resp = client.post(f"/t/{tenant.slug}/campaigns/new", data=_form(
        ids["segment"], **{"variants-0-split_percent": "50", "variants-2-name": "C",
                           "variants-2-split_percent": "50",
                           "variants-2-subject": "Hi {{ customer.nickname }}",
                           "variants-2-body": "x"}))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "nickname" in field_errors(html, "variants-2-subject")
    assert field_errors(html, "variants-0-body") == ""
    assert _count(app, tenant) == 0


@pytest.mark.parametrize(("over", "field", "text"), [
    ({"name": ""}, "name", "1-200"),
    ({"quiet_start": "25:99", "quiet_end": "08:00"}, "quiet_start", "HH:MM"),
    ({"quiet_start": "22:00"}, "quiet_end", "both ends"),
    ({"rate_per_minute": "-5"}, "rate_per_minute", "from 1"),
    ({"conversion_days": "abc"}, "conversion_days", "whole number"),
    ({"variants-0-split_percent": "60", "variants-1-body": "B",
      "variants-1-split_percent": "70"}, "variants", "130%"),
    ({"variants-0-split_percent": "30", "variants-1-body": "B",
      "variants-1-split_percent": "30"}, "winner_metric", "metric"),
    ({"variants-0-body": ""}, "variants", "at least one variant"),
    ({"segment_id": ""}, "segment_id", "saved segments"),
])
def test_bad_input_is_422_with_the_field_message(client, world, app, over, field, text):
    tenant, ids, _p = world
    login(client, tenant)
    resp = client.post(f"/t/{tenant.slug}/campaigns/new", data=_form(ids["segment"], over))
    assert resp.status_code == 422
    assert text in field_errors(resp.get_data(as_text=True), field)
    assert _count(app, tenant) == 0


def test_another_tenants_segment_cannot_be_chosen(client, world, app, make_tenant):
    tenant, _ids, _p = world
    other = make_tenant()
    with app.app_context():
        other.bind()
        seg = segments.create_segment(db.session, other.owner_actor(), {
            "name": "Theirs", "rule": {"all": [{"tag": "vip"}]}})
        db.session.commit()
        foreign = str(seg.id)
        db.session.remove()
    login(client, tenant)
    resp = client.post(f"/t/{tenant.slug}/campaigns/new", data=_form(foreign))
    assert resp.status_code == 422 and field_errors(resp.get_data(as_text=True),
                                                    "segment_id")
    assert _count(app, tenant) == 0


def _create(client, tenant, ids, **over) -> str:
    resp = client.post(f"/t/{tenant.slug}/campaigns/new", data=_form(ids["segment"], **over))
    assert resp.status_code == 303, resp.get_data(as_text=True)[:2000]
    return resp.headers["Location"].rsplit("/", 1)[1]


def test_edit_form_shows_values_and_saves_changes(client, world, app):
    tenant, ids, _p = world
    login(client, tenant)
    cid = _create(client, tenant, ids)
    page = client.get(f"/t/{tenant.slug}/campaigns/{cid}/edit")
    assert page.status_code == 200 and b"Spring sale" in page.data
    resp = client.post(f"/t/{tenant.slug}/campaigns/{cid}/edit", data=_form(
        ids["segment"], name="Summer sale", **{"variants-0-body": "Yo {{ customer.name }"}))
    assert resp.status_code == 422
    assert _campaign(app, tenant).name == "Spring sale"  # nothing half-written
    resp = client.post(f"/t/{tenant.slug}/campaigns/{cid}/edit",
                       data=_form(ids["segment"], name="Summer sale"))
    assert resp.status_code == 303 and _campaign(app, tenant).name == "Summer sale"


def test_launch_now_sends_and_progress_reaches_100(client, world, app):
    tenant, ids, plugin = world
    login(client, tenant)
    cid = _create(client, tenant, ids)
    resp = client.post(f"/t/{tenant.slug}/campaigns/{cid}/launch", data={"at": ""})
    assert resp.status_code == 303
    prog = client.get(f"/t/{tenant.slug}/campaigns/{cid}/progress.json").json
    assert (prog["status"], prog["sent"], prog["percent"]) == ("completed", 3, 100)
    assert sorted(m.body for m in plugin.sent) == ["Hi C0", "Hi C1", "Hi C2"]
    listing = client.get(f"/t/{tenant.slug}/campaigns/").get_data(as_text=True)
    assert 'value="100"' in listing
    again = client.post(f"/t/{tenant.slug}/campaigns/{cid}/launch", data={"at": ""})
    assert again.status_code == 409 and len(plugin.sent) == 3


def test_launch_later_is_read_in_the_tenants_time_zone(client, world, app):
    tenant, ids, plugin = world
    login(client, tenant)
    cid = _create(client, tenant, ids)
    resp = client.post(f"/t/{tenant.slug}/campaigns/{cid}/launch",
                       data={"at": "2099-01-02T09:30"})
    assert resp.status_code == 303
    c = _campaign(app, tenant)
    assert c.status == "scheduled"
    assert c.scheduled_at == datetime(2099, 1, 2, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert plugin.sent == [] and _count(app, tenant, CampaignRecipient) == 0
    bad = client.post(f"/t/{tenant.slug}/campaigns/{cid}/launch", data={"at": "tomorrow"})
    assert bad.status_code == 422 and b"YYYY-MM-DD" in bad.data


def test_launch_to_an_empty_segment_is_refused(client, world, app):
    tenant, ids, plugin = world
    login(client, tenant)
    cid = _create(client, tenant, {"segment": ids["empty"]})
    resp = client.post(f"/t/{tenant.slug}/campaigns/{cid}/launch", data={"at": ""})
    assert resp.status_code == 422 and b"segment is empty" in resp.data
    assert _campaign(app, tenant).status == "draft" and plugin.sent == []


def test_launch_with_the_channel_plugin_disabled_is_refused(client, world, app):
    tenant, ids, plugin = world
    login(client, tenant)
    cid = _create(client, tenant, ids)
    with app.app_context():
        tenant.bind()
        plugins.set_enabled(db.session, tenant.owner_actor(), "echo", False)
        db.session.commit()
        db.session.remove()
    resp = client.post(f"/t/{tenant.slug}/campaigns/{cid}/launch", data={"at": ""})
    assert resp.status_code == 422 and b"echo channel" in resp.data
    assert _campaign(app, tenant).status == "draft" and plugin.sent == []


def test_pause_resume_and_cancel_buttons(client, world, app):
    tenant, ids, plugin = world
    login(client, tenant)
    cid = _create(client, tenant, ids)
    with app.app_context():  # running with nothing sent yet: claim nothing, queue nothing
        tenant.bind()
        app.config["CAMPAIGN_BATCH_SIZE"] = 500
        c = campaigns.get_campaign(db.session, cid)
        c.status = "running"
        db.session.commit()
        db.session.remove()
    base = f"/t/{tenant.slug}/campaigns/{cid}"
    assert client.post(f"{base}/pause").status_code == 303
    assert _campaign(app, tenant).status == "paused"
    assert b"Paused by staff" in client.get(base).data
    assert client.post(f"{base}/pause").status_code == 409
    assert client.post(f"{base}/resume").status_code == 303
    assert client.post(f"{base}/cancel").status_code == 303
    assert _campaign(app, tenant).status == "cancelled"
    assert client.post(f"{base}/resume").status_code == 409
    assert client.get(f"{base}/edit").status_code == 303  # started campaigns are frozen


def test_other_tenants_campaign_is_404_everywhere(client, world, app, make_tenant):
    tenant, ids, _p = world
    login(client, tenant)
    cid = _create(client, tenant, ids)
    other = make_tenant()
    client.get(f"/t/{tenant.slug}/logout")
    login(client, other)
    base = f"/t/{other.slug}/campaigns/{cid}"
    for path in ("", "/edit", "/progress.json", "/results.csv"):
        assert client.get(base + path).status_code == 404, path
    for action in ("launch", "pause", "resume", "cancel", "edit"):
        assert client.post(f"{base}/{action}", data={}).status_code == 404, action
    assert _campaign(app, tenant).status == "draft"


@pytest.mark.parametrize("role", ["agent", "readonly"])
def test_roles_without_campaign_permission_get_403(client, world, app, role):
    tenant, ids, plugin = world
    with app.test_client() as owner:
        login(owner, tenant)
        cid = _create(owner, tenant, ids)
    login_as(app, client, tenant, role)
    base = f"/t/{tenant.slug}/campaigns"
    assert client.get(f"{base}/").status_code == 403
    assert client.get(f"{base}/new").status_code == 403
    assert client.post(f"{base}/new", data=_form(ids["segment"])).status_code == 403
    assert client.post(f"{base}/{cid}/launch", data={"at": ""}).status_code == 403
    assert client.get(f"{base}/{cid}/progress.json").status_code == 403
    assert _count(app, tenant) == 1 and plugin.sent == []
