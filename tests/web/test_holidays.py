"""The holiday calendar page: add, field errors, edit, remove; permissions and 404."""

from __future__ import annotations

from saas.extensions import db
from saas.services import customers, holidays
from tests.web.helpers import field_errors, login, login_as


def _calendar(app, tenant):
    with app.app_context():
        tenant.bind()
        items = holidays.calendar(customers.bound_tenant(db.session))
        db.session.remove()
    return items


def test_add_edit_and_remove_holidays_on_the_page(app, client, make_tenant):
    tenant = make_tenant()
    login(client, tenant)
    url = f"/t/{tenant.slug}/tickets/holidays"
    page = client.get(url).get_data(as_text=True)
    assert "Christmas" in page and "09:00–21:00" in page
    bad = client.post(url, data={"name": "Golden Week", "start": "2027-10-07",
                                 "end": "2027-10-01", "greeting": "y"})
    assert bad.status_code == 422
    assert field_errors(bad.get_data(as_text=True), "end") == "The end is before the start."
    bad = client.post(url, data={"name": "Golden Week", "start": "2027-10-32"})
    assert field_errors(bad.get_data(as_text=True), "start") == "Enter a date as YYYY-MM-DD."
    dup = client.post(url, data={"name": "Christmas", "start": "2026-12-25"})
    assert dup.status_code == 422 and field_errors(dup.get_data(as_text=True), "name")
    assert "Golden Week" not in [h.name for h in _calendar(app, tenant)]
    ok = client.post(url, data={"name": "Golden Week", "start": "2027-10-01",
                                "end": "2027-10-07", "greeting": "y"})
    assert ok.status_code == 302
    [golden] = [h for h in _calendar(app, tenant) if h.name == "Golden Week"]
    assert (str(golden.start), str(golden.end), golden.greeting) == (
        "2027-10-01", "2027-10-07", True)
    edit_url = f"{url}/{golden.id}"
    assert 'value="2027-10-07"' in client.get(edit_url).get_data(as_text=True)
    assert client.post(edit_url, data={"name": "Golden Week", "start": "2027-10-01",
                                       "end": "2027-10-03"}).status_code == 302
    [golden] = [h for h in _calendar(app, tenant) if h.name == "Golden Week"]
    assert (str(golden.end), golden.greeting) == ("2027-10-03", False)
    assert client.post(f"{edit_url}/delete").status_code == 302
    assert "Golden Week" not in [h.name for h in _calendar(app, tenant)]
    assert client.post(f"{edit_url}/delete").status_code == 404


def test_bad_edit_of_a_holiday_is_shown_on_its_page_and_changes_nothing(app, client,
                                                                         make_tenant):
    tenant = make_tenant()
    login(client, tenant)
    url = f"/t/{tenant.slug}/tickets/holidays"
    assert client.post(url, data={"name": "Golden Week", "start": "2027-10-01",
                                  "end": "2027-10-07"}).status_code == 302
    [golden] = [h for h in _calendar(app, tenant) if h.name == "Golden Week"]
    bad = client.post(f"{url}/{golden.id}", data={"name": "Golden Week",
                                                  "start": "2027-10-07", "end": "2027-10-01"})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert field_errors(html, "end") == "The end is before the start."
    assert f'action="{url}/{golden.id}"' in html  # still the edit form of this holiday
    [golden] = [h for h in _calendar(app, tenant) if h.name == "Golden Week"]
    assert (str(golden.start), str(golden.end)) == ("2027-10-01", "2027-10-07")


def test_holiday_pages_need_settings_permission_and_are_per_tenant(app, client, make_tenant):
    tenant, other = make_tenant(), make_tenant()
    with app.app_context():
        other.bind()
        theirs = holidays.add_holiday(db.session, other.owner_actor(),
                                      {"name": "Their day", "start": "2027-06-01"})
        db.session.commit()
        db.session.remove()
    login(client, tenant)
    assert client.get(f"/t/{tenant.slug}/tickets/holidays/{theirs.id}").status_code == 404
    assert client.post(f"/t/{tenant.slug}/tickets/holidays/{theirs.id}/delete"
                       ).status_code == 404
    login_as(app, client, tenant, "agent")
    assert client.get(f"/t/{tenant.slug}/tickets/holidays").status_code == 403
    assert client.post(f"/t/{tenant.slug}/tickets/holidays",
                       data={"name": "X", "start": "2027-06-01"}).status_code == 403


def test_calendar_analysis_and_visit_report_pages_in_chinese(app, client, make_tenant):
    tenant = make_tenant(locale="zh_CN")
    login(client, tenant)
    pages = {"tickets/holidays": "节假日日历", "tickets/analysis": "每月原因",
             "visits/report": "对后续购买的影响"}
    for path, text in pages.items():
        resp = client.get(f"/t/{tenant.slug}/{path}")
        assert resp.status_code == 200 and text in resp.get_data(as_text=True), path
    bad = client.post(f"/t/{tenant.slug}/tickets/holidays",
                      data={"name": "国庆", "start": "2027-10-07", "end": "2027-10-01"})
    assert field_errors(bad.get_data(as_text=True), "end") == "结束日期早于开始日期。"
