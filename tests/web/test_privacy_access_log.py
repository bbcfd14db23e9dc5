"""The privacy page's access log shows list exports that contained the customer and API
reads (issue 11), in English and in Chinese."""

from __future__ import annotations

import re

from saas.extensions import db
from saas.services import customers as customer_service
from saas.services import read_audit
from tests.web.helpers import login


def _world(app, tenant) -> tuple[str, str]:
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        ann, bo = (customer_service.create_customer(db.session, actor, {
            "name": name, "tags": [tag]}) for name, tag in (("Ann", "tea"), ("Bo", "x")))
        read_audit.record_list_export(db.session, actor, {"tags": ["tea"]}, "csv")
        read_audit.record_api_view(db.session, actor, ann.id, "profile")
        db.session.commit()
        ids = str(ann.id), str(bo.id)
        db.session.remove()
    return ids


def _log_rows(html: str) -> list[str]:
    table = html.split('id="access-log"', 1)[1].split("</table>", 1)[0]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
            for row in table.split("<tr>")[2:]]


def test_access_log_shows_the_list_export_and_the_api_read(app, client, make_tenant):
    tenant = make_tenant()
    ann, bo = _world(app, tenant)
    login(client, tenant)
    rows = _log_rows(client.get(f"/t/{tenant.slug}/privacy/customers/{ann}")
                     .get_data(as_text=True))
    assert len(rows) == 2
    assert "Viewed (API)" in rows[0] and "Exported in a list" in rows[1]
    other = _log_rows(client.get(f"/t/{tenant.slug}/privacy/customers/{bo}")
                      .get_data(as_text=True))
    assert other == ["Nobody."]


def test_access_log_labels_are_translated(app, client, make_tenant):
    tenant = make_tenant(locale="zh_CN")
    ann, _bo = _world(app, tenant)
    login(client, tenant)
    rows = _log_rows(client.get(f"/t/{tenant.slug}/privacy/customers/{ann}")
                     .get_data(as_text=True))
    assert "(接口)" in rows[0] and "随列表导出" in rows[1]
