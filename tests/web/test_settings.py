"""The tenant settings page."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.models import AuditEntry, Tenant
from tests.web.helpers import field_errors, login

GOOD = {"name": "Acme Renamed", "locale": "zh_CN", "timezone": "Europe/Berlin",
        "currency": "EUR"}


def _tenant(app, tenant) -> Tenant:
    with app.app_context():
        row = db.session.get(Tenant, tenant.id)
        db.session.expunge(row)
        return row


def test_settings_form_shows_the_current_values(client, make_tenant):
    tenant = make_tenant(tz="Asia/Tokyo")
    login(client, tenant)
    html = client.get(f"/t/{tenant.slug}/settings/").get_data(as_text=True)
    assert f'value="{tenant.slug} Ltd"' in html
    assert '<option selected value="Asia/Tokyo">' in html


def test_saving_settings_changes_the_tenant_and_is_audited(app, client, make_tenant):
    tenant = make_tenant()
    login(client, tenant)
    response = client.post(f"/t/{tenant.slug}/settings/", data=GOOD)
    assert response.status_code == 303
    row = _tenant(app, tenant)
    assert (row.name, row.locale, row.timezone, row.currency) == (
        "Acme Renamed", "zh_CN", "Europe/Berlin", "EUR")
    with app.app_context():
        tenant.bind()
        entry = db.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "tenant.settings_changed")).one()
    assert entry.changes["timezone"] == ["Asia/Shanghai", "Europe/Berlin"]


@pytest.mark.parametrize("field,value,message", [
    ("name", " ", "Enter the company name."),
    ("timezone", "Moon/Base", "Unknown time zone."),
    ("currency", "ABC", "Choose one of"),
    ("locale", "de", "Choose one of"),
])
def test_bad_settings_are_field_errors_and_nothing_changes(app, client, make_tenant, field,
                                                           value, message):
    tenant = make_tenant()
    login(client, tenant)
    response = client.post(f"/t/{tenant.slug}/settings/", data={**GOOD, field: value})
    assert response.status_code == 422
    assert message in field_errors(response.get_data(as_text=True), field)
    row = _tenant(app, tenant)
    assert (row.name, row.timezone, row.currency) == (f"{tenant.slug} Ltd", "Asia/Shanghai",
                                                      "CNY")


def test_settings_of_one_tenant_never_touch_another(app, client, make_tenant):
    a, b = make_tenant(), make_tenant()
    login(client, a)
    client.post(f"/t/{a.slug}/settings/", data=GOOD)
    assert _tenant(app, b).name == f"{b.slug} Ltd"
