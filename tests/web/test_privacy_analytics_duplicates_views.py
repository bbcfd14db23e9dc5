"""Issue 11 in the staff UI: the at-risk list and the 360 outlook panel follow the row
scope and the field levels (amounts, owner); the duplicates queue and compare page show
masked values masked and hidden ones not at all; a saved view whose filter's field became
hidden opens without that filter and says so. The owner is the control everywhere."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from saas.analytics import refresh
from saas.extensions import db
from saas.models import Staff
from saas.models.base import utcnow
from saas.services import customers as customer_service
from saas.services import field_access, row_scope
from tests.analytics import kpi_world, world
from tests.api.conftest import add_staff as add_api_staff
from tests.web.helpers import add_staff, login, login_as

PHONE, PHONE_MASKED = "+8613800138000", "+86138****8000"
EMAIL = "ann@example.com"


def _levels(app, tenant, role: str, levels: dict[str, str]) -> None:
    with app.app_context():
        tenant.bind()
        field_access.set_permissions(db.session, tenant.owner_actor(), [
            {"role": role, "field": f, "level": lv} for f, lv in levels.items()])
        db.session.commit()
        db.session.remove()


def _scope(app, tenant, role: str, scope: str) -> None:
    with app.app_context():
        tenant.bind()
        row_scope.set_scope(db.session, tenant.owner_actor(), role, scope)
        db.session.commit()
        db.session.remove()


@pytest.fixture
def risky(app, make_tenant):
    """Alice's (department North, like Alice) and Bob's lapsed customers, a lapsed
    customer of the East department owned by the owner, and a manager of East whose scope
    is their department; churn and CLV computed (five buyers at least, for the CLV model)."""
    tenant = make_tenant()
    manager_id, manager_email = add_staff(app, tenant, "manager")
    with app.app_context():
        _alice, bob, ids = kpi_world.at_risk_shop(tenant, add_api_staff, score=False)
        tenant.bind()
        owner = tenant.owner_actor()
        db.session.get(Staff, (tenant.id, manager_id)).department = "East"
        east = customer_service.create_customer(db.session, owner, {
            "name": "Lapsed East", "department": "East"})
        for d in (165, 135, 105, 75):
            world.order(owner, east.id, ["A"], at=utcnow() - timedelta(days=d),
                        price="20.00")
        ids["Lapsed East"] = east.id
        for i in range(2):                  # enough buyers for the CLV model to be fitted
            steady = customer_service.create_customer(db.session, owner,
                                                      {"name": f"Steady {i}"})
            for d in (60 - i, 30 - i, 5):
                world.order(owner, steady.id, ["A"], at=utcnow() - timedelta(days=d),
                            price="20.00")
        refresh.refresh_all(db.session)
        db.session.commit()
        db.session.remove()
    _scope(app, tenant, "manager", "department")
    return tenant, manager_email, bob, ids


def _at_risk(client, tenant, query="?owner=all"):
    resp = client.get(f"/t/{tenant.slug}/analytics/at-risk{query}")
    return resp.status_code, resp.get_data(as_text=True)


def _rows(html: str) -> set[str]:
    table = html.split('id="at-risk"', 1)[1].split("</table>", 1)[0]
    return set(re.findall(r'/customers/[0-9a-f-]+">([^<]+)</a>', table))


def test_at_risk_page_lists_only_customers_in_the_row_scope(app, client, risky):
    tenant, manager_email, _bob, _ids = risky
    login(client, tenant, manager_email)
    status, html = _at_risk(client, tenant)
    assert status == 200 and _rows(html) == {"Lapsed East"}
    login(client, tenant)
    status, html = _at_risk(client, tenant)
    assert _rows(html) == {"Lapsed A", "Lapsed B", "Lapsed East"}


def test_read_only_member_with_own_scope_sees_none_of_the_others(app, client, risky):
    tenant, *_ = risky
    _scope(app, tenant, "readonly", "own")
    login_as(app, client, tenant, "readonly")
    status, html = _at_risk(client, tenant)
    assert status == 200 and _rows(html) == set() and "No customers at risk." in html


def test_hidden_order_amounts_drop_value_at_stake_and_clv(app, client, risky):
    tenant, manager_email, _bob, ids = risky
    login(client, tenant)
    _status, control = _at_risk(client, tenant)
    assert "<th>Value at stake</th>" in control
    assert "80.00" in control.split('id="at-risk"', 1)[1]   # Lapsed East: 4 × 20.00
    panel = client.get(f"/t/{tenant.slug}/customers/{ids['Lapsed East']}").get_data(
        as_text=True)
    assert "CLV (52 weeks)" in panel
    _levels(app, tenant, "manager", {"order_amounts": "hidden"})
    login(client, tenant, manager_email)
    _status, html = _at_risk(client, tenant)
    assert _rows(html) == {"Lapsed East"}
    assert "<th>Value at stake</th>" not in html and "Amounts are hidden for your role." in html
    assert "80.00" not in html.split('id="at-risk"', 1)[1]    # spend of the last 12 months
    panel = client.get(f"/t/{tenant.slug}/customers/{ids['Lapsed East']}").get_data(
        as_text=True)
    assert "CLV (52 weeks)" not in panel and "P(alive)" in panel


def test_hidden_owner_drops_the_owner_column_and_refuses_an_owner_filter(app, client,
                                                                         risky):
    tenant, manager_email, bob, _ids = risky
    _levels(app, tenant, "manager", {"owner_id": "hidden"})
    login(client, tenant, manager_email)
    status, html = _at_risk(client, tenant)
    assert status == 200 and "<th>Owner</th>" not in html and 'name="department"' not in html
    status, html = _at_risk(client, tenant, f"?owner={bob}")
    assert status == 422 and "You may not filter on this field." in html
    login(client, tenant)
    status, html = _at_risk(client, tenant, f"?owner={bob}")
    assert status == 200 and "<th>Owner</th>" in html and _rows(html) == {"Lapsed B"}


# -- duplicates --------------------------------------------------------------------------

def _twins(app, tenant, owner_id=None) -> tuple[str, str]:
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        ids = []
        for name, external in (("Ann Lee", "EXT-1"), ("Ann Lee Co", "EXT-2")):
            ids.append(str(customer_service.create_customer(db.session, actor, {
                "name": name, "phones": ["13800138000"], "emails": [EMAIL],
                "address": "1 Nanjing Road", "external_id": external,
                "owner_id": str(owner_id or tenant.owner_id)}).id))
        db.session.commit()
        db.session.remove()
    return ids[0], ids[1]


@pytest.mark.parametrize("role, scope", [("agent", "own"), ("manager", "own"),
                                         ("readonly", "own")])
def test_duplicates_queue_masks_and_hides_the_pairs_fields(app, client, make_tenant, role,
                                                          scope):
    tenant = make_tenant()
    staff_id, email = add_staff(app, tenant, role)
    first, _second = _twins(app, tenant, staff_id)
    _scope(app, tenant, role, scope)
    _levels(app, tenant, role, {"phones": "masked", "emails": "hidden",
                                "address": "hidden"})
    login(client, tenant, email)
    html = client.get(f"/t/{tenant.slug}/duplicates/").get_data(as_text=True)
    assert "Ann Lee Co" in html and PHONE_MASKED in html
    assert PHONE not in html and EMAIL not in html and "Nanjing" not in html
    assert "Same email" in html and "Same phone" in html          # reasons stay
    login(client, tenant)
    control = client.get(f"/t/{tenant.slug}/duplicates/").get_data(as_text=True)
    assert PHONE in control and EMAIL in control and "1 Nanjing Road" in control


def test_compare_page_masks_and_leaves_out_hidden_fields(app, client, make_tenant):
    tenant = make_tenant()
    first, second = _twins(app, tenant)
    _levels(app, tenant, "agent", {"address": "masked", "external_id": "hidden"})
    login_as(app, client, tenant, "agent")
    url = f"/t/{tenant.slug}/duplicates/compare?survivor={first}&merged={second}"
    html = client.get(url).get_data(as_text=True)
    assert "1****" in html and "Nanjing" not in html
    assert "EXT-1" not in html and 'name="choice-external_id"' not in html
    assert 'name="choice-address"' in html
    login(client, tenant)
    control = client.get(url).get_data(as_text=True)
    assert "1 Nanjing Road" in control and "EXT-1" in control


def test_compare_page_outside_the_scope_or_tenant_is_404(app, client, make_tenant):
    tenant = make_tenant()
    first, second = _twins(app, tenant)
    _scope(app, tenant, "agent", "own")
    login_as(app, client, tenant, "agent")
    url = f"/duplicates/compare?survivor={first}&merged={second}"
    assert client.get(f"/t/{tenant.slug}{url}").status_code == 404
    other = make_tenant()
    login(client, other)
    assert client.get(f"/t/{other.slug}{url}").status_code == 404


# -- saved views -------------------------------------------------------------------------

def test_a_view_whose_filter_became_hidden_opens_without_it_and_says_so(app, client,
                                                                       make_tenant):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        for name, industry in (("Ann", "retail"), ("Bo", "food")):
            customer_service.create_customer(db.session, tenant.owner_actor(), {
                "name": name, "industry": industry, "kind": "company"})
        db.session.commit()
        db.session.remove()
    login_as(app, client, tenant, "agent")
    saved = client.post(f"/t/{tenant.slug}/customers/views", data={
        "view_name": "Retail", "industry": "retail", "kind": "company"})
    assert saved.status_code == 303
    page = client.get(f"/t/{tenant.slug}/customers/").get_data(as_text=True)
    view_id = re.search(r'\?view=([0-9a-f-]+)', page).group(1)

    opened = client.get(f"/t/{tenant.slug}/customers/?view={view_id}")
    assert opened.status_code == 303 and "industry=retail" in opened.headers["Location"]

    _levels(app, tenant, "agent", {"industry": "hidden"})
    opened = client.get(f"/t/{tenant.slug}/customers/?view={view_id}")
    assert opened.status_code == 303
    assert "industry" not in opened.headers["Location"]
    assert "kind=company" in opened.headers["Location"]
    listing = client.get(opened.headers["Location"])
    html = listing.get_data(as_text=True)
    assert listing.status_code == 200
    assert "opened without its filter on Industry" in html and "Retail" in html
    assert "Ann" in html and "Bo" in html


def test_the_notice_is_in_chinese_for_a_chinese_tenant(app, client, make_tenant):
    tenant = make_tenant(locale="zh_CN")
    login_as(app, client, tenant, "agent")
    client.post(f"/t/{tenant.slug}/customers/views", data={"view_name": "V",
                                                           "industry": "retail"})
    page = client.get(f"/t/{tenant.slug}/customers/").get_data(as_text=True)
    view_id = re.search(r'\?view=([0-9a-f-]+)', page).group(1)
    _levels(app, tenant, "agent", {"industry": "hidden"})
    opened = client.get(f"/t/{tenant.slug}/customers/?view={view_id}",
                        follow_redirects=True).get_data(as_text=True)
    assert "opened without" not in opened and "V" in opened
    assert "行业" in opened


def test_another_members_view_is_404(app, client, make_tenant):
    tenant = make_tenant()
    login_as(app, client, tenant, "agent")
    client.post(f"/t/{tenant.slug}/customers/views", data={"view_name": "V",
                                                           "kind": "company"})
    page = client.get(f"/t/{tenant.slug}/customers/").get_data(as_text=True)
    view_id = re.search(r'\?view=([0-9a-f-]+)', page).group(1)
    login(client, tenant)
    assert client.get(f"/t/{tenant.slug}/customers/?view={view_id}").status_code == 404
