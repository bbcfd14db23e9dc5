"""The staff UI half of the field-registry test: every registered field × every
configurable role, hidden by the admin through the privacy page, is absent from that
role's 360 page, edit form and customer list, while the owner (control) sees it.

`MARKERS` says how each field shows up in the HTML; a field added to the registry without
a marker fails `test_every_registered_field_has_a_marker`, so none can escape.
"""

from __future__ import annotations

import pytest

from saas.extensions import db
from saas.services import custom_fields, field_access
from tests.privacy_world import CUSTOM_KEY, customer_with_every_field
from tests.web.helpers import login, login_as

# field key → strings that appear in the owner's pages and must not in the role's.
# Value markers are unique to this customer; `<dt>`/`name=` markers cover fields whose
# value is a label or a choice.
MARKERS = {
    "phones": ["13812345678"],
    "emails": ["zed.unique@example.com"],
    "wechat_id": ["wx_unique_77"],
    "address": ["77 Unique Road"],
    "industry": ["Zymurgy"],
    "company_size": ["7777 staff"],
    "purchasing_power": ["<dt>Purchasing power</dt>", 'name="purchasing_power"'],
    "category": ["<dt>Category</dt>", 'name="category"'],
    "owner_id": ["<dt>Owner</dt>", 'name="owner_id"'],
    "department": ["Dept-Unique"],
    "tags": ["tag-unique"],
    "birthday": ["1977-07-07"],
    "source_channel": ["src-unique"],
    "lifecycle_stage": ["<dt>Lifecycle stage</dt>", 'name="lifecycle_stage"'],
    "consent": ["Consent: Email", 'name="consent_email"'],
    "notes": ["note-unique"],
    "external_id": ["ext-unique"],
    f"cf.{CUSTOM_KEY}": ["gold-unique"],
    field_access.ORDER_AMOUNTS: ["37.02"],
}
# Values the list shows (phone, email, tags columns): checked there too.
LIST_MARKERS = {"phones": "13812345678", "emails": "zed.unique@example.com",
                "tags": "tag-unique"}


def _world(app, tenant) -> str:
    return customer_with_every_field(app, tenant, {
        "name": "Ann", "phones": ["13812345678"], "emails": ["zed.unique@example.com"],
        "wechat_id": "wx_unique_77", "address": "77 Unique Road",
        "industry": "Zymurgy", "company_size": "7777 staff", "purchasing_power": "high",
        "department": "Dept-Unique", "tags": ["tag-unique"], "birthday": "1977-07-07",
        "source_channel": "src-unique", "notes": "note-unique", "external_id": "ext-unique",
        "custom_fields": {CUSTOM_KEY: "gold-unique"}}, price="12.34", quantity=3)


def _pages(client, tenant, cid) -> tuple[str, str]:
    """(360 page + edit form, customer list) as this client sees them."""
    show = client.get(f"/t/{tenant.slug}/customers/{cid}")
    assert show.status_code == 200
    edit = client.get(f"/t/{tenant.slug}/customers/{cid}/edit")
    assert edit.status_code in (200, 403)       # readonly may not edit at all
    listing = client.get(f"/t/{tenant.slug}/customers/")
    assert listing.status_code == 200
    return (show.get_data(as_text=True) + (edit.get_data(as_text=True)
                                           if edit.status_code == 200 else ""),
            listing.get_data(as_text=True))


def test_every_registered_field_has_a_marker(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        custom_fields.create_definition(db.session, tenant.owner_actor(), CUSTOM_KEY,
                                        "Level", "text")
        keys = {s.key for s in field_access.registry(db.session)}
        db.session.rollback()
        db.session.remove()
    assert keys == set(MARKERS)


@pytest.mark.parametrize("role", field_access.CONFIGURABLE_ROLES)
@pytest.mark.parametrize("field_key", list(MARKERS))
def test_field_hidden_by_the_admin_is_absent_from_that_roles_pages(app, client,
                                                                   make_tenant,
                                                                   field_key, role):
    tenant = make_tenant()
    cid = _world(app, tenant)
    login(client, tenant)
    owner_pages, owner_list = _pages(client, tenant, cid)
    for marker in MARKERS[field_key]:
        assert marker in owner_pages, f"owner should see {marker}"
    if field_key in LIST_MARKERS:
        assert LIST_MARKERS[field_key] in owner_list
    saved = client.post(f"/t/{tenant.slug}/privacy/fields",
                        data={f"{role}|{field_key}": "hidden"})
    assert saved.status_code == 303

    login_as(app, client, tenant, role)
    pages, listing = _pages(client, tenant, cid)
    assert "Ann" in pages
    for marker in MARKERS[field_key]:
        assert marker not in pages, f"{role} sees hidden {field_key} ({marker})"
    if field_key in LIST_MARKERS:
        assert LIST_MARKERS[field_key] not in listing, f"{role} sees {field_key} in list"
