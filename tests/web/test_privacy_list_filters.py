"""The customer list shows no filter input (nor column) for a field the viewer's role
may not see: with the field hidden for agents the agent's page lacks it, with the field
visible it is there, and the owner (never limited) always has it."""

from __future__ import annotations

import re

import pytest

from saas.extensions import db
from saas.services import customers as customer_service
from saas.services import field_access
from tests.web.helpers import login_as

# field key → (filter input on the list page, its column header)
INPUTS = {
    "category": ('name="category"', "<th>Category</th>"),
    "lifecycle_stage": ('name="lifecycle_stage"', "<th>Stage</th>"),
    "owner_id": ('name="owner_id"', "<th>Owner</th>"),
    "tags": ('name="tags"', "<th>Tags</th>"),
}
# phones/emails are searched through `q`: the placeholder stops offering them
SEARCHED = {"phones": "phone", "emails": "email"}


@pytest.fixture
def tenant(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        customer_service.create_customer(db.session, tenant.owner_actor(), {
            "name": "Ann", "phones": ["13800138000"], "emails": ["ann@example.com"],
            "tags": ["vip"], "lifecycle_stage": "customer", "owner_id": tenant.owner_id})
        db.session.commit()
        db.session.remove()
    return tenant


def _set(app, tenant, field: str, level: str) -> None:
    with app.app_context():
        tenant.bind()
        field_access.set_permissions(db.session, tenant.owner_actor(), [
            {"role": "agent", "field": field, "level": level}], confirm=True)
        db.session.commit()
        db.session.remove()


def _page(client, tenant) -> str:
    resp = client.get(f"/t/{tenant.slug}/customers/")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def _filter_form(html: str) -> str:
    return html.split('role="search"', 1)[1].split("</form>", 1)[0]


@pytest.mark.parametrize("level", ["hidden", "read"])
@pytest.mark.parametrize("field", sorted(INPUTS))
def test_filter_input_and_column_only_for_roles_that_see_the_field(app, client, tenant,
                                                                   field, level):
    _set(app, tenant, field, level)
    login_as(app, client, tenant, "agent")
    html = _page(client, tenant)
    shown = level == "read"
    text_input, header = INPUTS[field]
    assert (text_input in _filter_form(html)) is shown
    assert (header in html) is shown
    assert 'name="kind"' in _filter_form(html)          # other filters stay
    login_as(app, client, tenant, "owner")
    owner_html = _page(client, tenant)
    assert text_input in _filter_form(owner_html) and header in owner_html


@pytest.mark.parametrize("level", ["hidden", "masked", "read"])
@pytest.mark.parametrize("field", sorted(SEARCHED))
def test_search_box_offers_phone_or_email_only_when_visible_in_clear(app, client, tenant,
                                                                     field, level):
    _set(app, tenant, field, level)
    login_as(app, client, tenant, "agent")
    placeholder = re.search(r'id="q"[^>]*placeholder="([^"]*)"', _page(client, tenant))[1]
    assert (SEARCHED[field] in placeholder) is (level == "read"), placeholder
    other = next(word for key, word in SEARCHED.items() if key != field)
    assert other in placeholder and "Name" in placeholder


def test_every_filter_input_of_a_restrictable_field_is_covered(app, client, tenant):
    """A new filter input for a registry field must be hidden too (added to INPUTS)."""
    login_as(app, client, tenant, "owner")
    names = set(re.findall(r'name="([^"]+)"', _filter_form(_page(client, tenant))))
    filter_keys = {fk for spec in field_access.BUILTIN_FIELDS for fk in spec.filter_keys}
    assert names & filter_keys == set(INPUTS)
