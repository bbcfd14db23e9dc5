"""Tier pages: editor with rule builder, preview (writes nothing), apply, history and
override, dashboard; permissions and other tenants' ids."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from saas.extensions import db
from saas.models.base import utcnow
from saas.models.tiers import CustomerTier, Tier, TierChange
from saas.services import measures, tiers
from tests.services.tiers_world import World
from tests.web.helpers import field_errors, login, login_as


@pytest.fixture
def tenant(make_tenant):
    return make_tenant(template="retail")


def _world(app, tenant, spends=(20000, 3000, 10)) -> list:
    """Customers with those 12-month spends, measures computed, template tiers saved."""
    with app.app_context():
        tenant.bind()
        w = World(tenant)
        ids = []
        for i, amount in enumerate(spends):
            c = w.customer(f"Cust{i}")
            if amount:
                w.order(c, amount, days_ago=5)
            ids.append(c.id)
        measures.refresh_all(db.session)
        tiers.list_tiers(db.session)
        db.session.commit()
        db.session.remove()
    return ids


def _counts(app, tenant) -> tuple[int, int, int]:
    with app.app_context():
        tenant.bind()
        found = tuple(db.session.scalar(select(func.count()).select_from(m))
                      for m in (Tier, CustomerTier, TierChange))
        db.session.remove()
    return found


def _form(rows: list[dict], action: str = "save") -> dict:
    """The editor's inputs for `rows` of {name, colour, conds: [(what, op, value)]}."""
    data = {"tiers": str(len(rows)), "action": action}
    for i, row in enumerate(rows):
        p = f"t{i}"
        data.update({f"{p}-name": row["name"], f"{p}-colour": row.get("colour", "#123456"),
                     f"{p}-description": "", f"{p}-position": str(i + 1),
                     f"{p}-match": "all", f"{p}-groups": "1", f"{p}-g0-match": "all",
                     f"{p}-g0-rows": str(len(row["conds"]))})
        for c, (what, op, value) in enumerate(row["conds"]):
            data.update({f"{p}-g0-c{c}-what": what, f"{p}-g0-c{c}-op": op,
                         f"{p}-g0-c{c}-value": value})
    return data


def test_index_lists_template_tiers_with_rules_in_words(client, tenant):
    login(client, tenant)
    html = client.get(f"/t/{tenant.slug}/tiers/").get_data(as_text=True)
    assert "spend_12m &gt;= 10000" in html
    assert [m for m in re.findall(r"<strong>([ABC])</strong>", html)] == ["A", "B", "C"]


def test_editor_shows_the_saved_rule_in_the_builder(client, tenant):
    login(client, tenant)
    html = client.get(f"/t/{tenant.slug}/tiers/edit").get_data(as_text=True)
    assert re.search(r'name="t0-g0-c0-what">.*?<option value="measure:spend_12m" selected',
                     html, re.S)
    assert 'name="t0-g0-c0-value" value="10000"' in html


def test_bad_rule_shows_field_errors_next_to_the_row_and_saves_nothing(app, client, tenant):
    _world(app, tenant)
    before = _counts(app, tenant)
    login(client, tenant)
    r = client.post(f"/t/{tenant.slug}/tiers/edit", data=_form([
        {"name": "Gold", "conds": [("measure:spend_12m", ">=", "lots")]},
        {"name": "Rest", "colour": "red", "conds": [("field:category", ">", "VIP")]}]))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "number" in field_errors(html, "t0-g0-c0-value")
    assert "can be compared with" in field_errors(html, "t1-g0-c0-op")
    assert "colour" in field_errors(html, "t1-colour")
    assert 'value="lots"' in html  # what was typed stays
    assert _counts(app, tenant) == before


def test_rule_on_a_deleted_custom_field_is_reported_on_its_row(app, client, tenant):
    login(client, tenant)
    r = client.post(f"/t/{tenant.slug}/tiers/edit", data=_form([
        {"name": "A", "conds": [("custom_field:gone", "=", "x")]}]))
    assert r.status_code == 422
    assert "does not exist" in field_errors(r.get_data(as_text=True), "t0-g0-c0-what")


def test_saved_rules_on_a_deleted_custom_field_are_flagged_and_not_applied(app, client,
                                                                          tenant):
    from saas.services import custom_fields

    _world(app, tenant)
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        field = custom_fields.create_definition(db.session, actor, "region", "Region", "text")
        tiers.save_tiers(db.session, actor, [
            {"name": "North", "rule": {"all": [{"custom_field": "region", "op": "=",
                                                "value": "north"}]}},
            {"name": "Rest", "rule": {"all": []}}])
        custom_fields.delete_definition(db.session, actor, field.id)
        db.session.commit()
        db.session.remove()
    login(client, tenant)
    html = client.get(f"/t/{tenant.slug}/tiers/").get_data(as_text=True)
    assert "was deleted or changed" in html and "tiers.0.rule.all.0.custom_field" in html
    before = _counts(app, tenant)
    r = client.post(f"/t/{tenant.slug}/tiers/apply")
    assert r.status_code == 303
    assert "does not exist" in client.get(r.headers["Location"]).get_data(as_text=True)
    preview = client.get(f"/t/{tenant.slug}/tiers/preview")
    assert preview.status_code == 303
    assert _counts(app, tenant) == before


def test_preview_of_unsaved_rules_shows_moves_and_writes_nothing(app, client, tenant):
    _world(app, tenant)
    before = _counts(app, tenant)
    login(client, tenant)
    r = client.post(f"/t/{tenant.slug}/tiers/edit", data=_form([
        {"name": "Top", "conds": [("measure:spend_12m", ">=", "1000")]},
        {"name": "Rest", "conds": []}], action="preview"))
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "3 of 3 customers would change tier" in html
    assert re.search(r"<td>No tier</td><td>Top</td><td>2</td>", html)
    assert _counts(app, tenant) == before
    saved = client.get(f"/t/{tenant.slug}/tiers/").get_data(as_text=True)
    assert "<strong>Top</strong>" not in saved


def test_save_then_apply_moves_customers_and_records_history(app, client, tenant):
    ids = _world(app, tenant)
    login(client, tenant)
    r = client.post(f"/t/{tenant.slug}/tiers/edit", data=_form([
        {"name": "Top", "conds": [("measure:spend_12m", ">=", "1000")]},
        {"name": "Rest", "conds": []}]))
    assert r.status_code == 303 and r.headers["Location"].endswith("/tiers/preview")
    preview = client.get(f"/t/{tenant.slug}/tiers/preview").get_data(as_text=True)
    assert re.search(r"<td>No tier</td><td>Top</td><td>2</td>", preview)
    assert _counts(app, tenant)[1] == 0
    r = client.post(f"/t/{tenant.slug}/tiers/apply")
    assert r.status_code == 303
    assert _counts(app, tenant)[1] == 3
    html = client.get(f"/t/{tenant.slug}/tiers/customers/{ids[0]}").get_data(as_text=True)
    assert "rules version 1" in html and "<strong>Top</strong>" in html


def test_override_with_expiry_in_the_tenants_time_zone(app, client, tenant):
    ids = _world(app, tenant)
    login(client, tenant)
    client.post(f"/t/{tenant.slug}/tiers/apply")
    with app.app_context():
        tenant.bind()
        a = next(t for t in tiers.list_tiers(db.session) if t.name == "A")
        a_id = a.id
        db.session.remove()
    until = (utcnow() + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")
    r = client.post(f"/t/{tenant.slug}/tiers/customers/{ids[2]}/override",
                    data={"tier_id": str(a_id), "until": until, "note": "key account"})
    assert r.status_code == 303
    with app.app_context():
        tenant.bind()
        row, tier = tiers.customer_tier(db.session, ids[2])
        assert (tier.name, row.source) == ("A", "manual")
        # the form's local time is Asia/Shanghai (UTC+8), stored as UTC
        assert row.override_until.strftime("%Y-%m-%dT%H:%M") != until
        db.session.remove()
    html = client.get(f"/t/{tenant.slug}/tiers/customers/{ids[2]}").get_data(as_text=True)
    assert "manual override" in html and until.replace("T", " ") in html


def test_override_in_the_past_is_a_field_error(app, client, tenant):
    ids = _world(app, tenant)
    login(client, tenant)
    with app.app_context():
        tenant.bind()
        a_id = tiers.list_tiers(db.session)[0].id
        db.session.remove()
    r = client.post(f"/t/{tenant.slug}/tiers/customers/{ids[0]}/override",
                    data={"tier_id": str(a_id), "until": "2001-01-01T10:00"})
    assert r.status_code == 422
    assert "future" in field_errors(r.get_data(as_text=True), "until")
    r = client.post(f"/t/{tenant.slug}/tiers/customers/{ids[0]}/override",
                    data={"tier_id": str(a_id), "until": "soon"})
    assert r.status_code == 422
    assert "date" in field_errors(r.get_data(as_text=True), "until")


def test_dashboard_has_local_chart_library_and_tables(app, client, tenant):
    _world(app, tenant)
    login(client, tenant)
    client.post(f"/t/{tenant.slug}/tiers/apply")
    html = client.get(f"/t/{tenant.slug}/tiers/dashboard").get_data(as_text=True)
    assert "/assets/vendor/chart.umd.js" in html and "cdn" not in html.lower()
    assert html.count('class="distribution-chart"') == 4
    assert re.search(r"A</td><td>1</td>", html)
    assert client.get("/assets/vendor/chart.umd.js").status_code == 200


@pytest.mark.parametrize("role,path,method,status", [
    ("readonly", "/tiers/", "get", 200),
    ("readonly", "/tiers/edit", "get", 403),
    ("manager", "/tiers/edit", "post", 403),
    ("manager", "/tiers/apply", "post", 403),
    ("agent", "/tiers/refresh", "post", 403),
    ("admin", "/tiers/edit", "get", 200),
    ("readonly", "/tiers/dashboard", "get", 200),
])
def test_permissions_per_role(app, client, tenant, role, path, method, status):
    login_as(app, client, tenant, role)
    r = getattr(client, method)(f"/t/{tenant.slug}{path}")
    assert r.status_code == status


def test_readonly_cannot_override(app, client, tenant):
    ids = _world(app, tenant)
    login_as(app, client, tenant, "readonly")
    r = client.post(f"/t/{tenant.slug}/tiers/customers/{ids[0]}/override", data={})
    assert r.status_code == 403


def test_other_tenants_customer_is_404(app, client, tenant, make_tenant):
    other = make_tenant()
    foreign = _world(app, other, spends=(5,))[0]
    login(client, tenant)
    assert client.get(f"/t/{tenant.slug}/tiers/customers/{foreign}").status_code == 404
    with app.app_context():
        tenant.bind()
        a_id = tiers.list_tiers(db.session)[0].id
        db.session.commit()
        db.session.remove()
    r = client.post(f"/t/{tenant.slug}/tiers/customers/{foreign}/override",
                    data={"tier_id": str(a_id)})
    assert r.status_code == 404


def test_tampered_row_counts_are_a_clear_error_not_a_crash(app, client, tenant):
    login(client, tenant)
    data = _form([{"name": "A", "conds": [("measure:order_count", ">", "1")]}])
    data.update({"tiers": "lots", "t0-groups": "-3", "t0-g0-rows": "9" * 30})
    r = client.post(f"/t/{tenant.slug}/tiers/edit", data=data)
    assert r.status_code == 422
    assert "Define at least one tier." in r.get_data(as_text=True)


def test_the_rule_builder_does_not_offer_sensitive_custom_fields(app, client, tenant):
    from saas.services import custom_fields

    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        custom_fields.create_definition(db.session, actor, "region", "Region", "text")
        custom_fields.create_definition(db.session, actor, "id_card", "ID card", "text",
                                        sensitive=True)
        db.session.commit()
        db.session.remove()
    login(client, tenant)
    html = client.get(f"/t/{tenant.slug}/tiers/edit").get_data(as_text=True)
    assert 'value="custom_field:region"' in html
    assert 'value="custom_field:id_card"' not in html
