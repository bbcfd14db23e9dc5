"""Customers' personal data encrypted at rest (issue 11): phones, emails, WeChat id,
address and the values of custom fields marked sensitive are Fernet tokens in the
database and blind indexes in `customer_lookups` / `customers.sensitive_index`; every
lookup (search, import matching, duplicates, erasure) still works, and `flask keys
rotate` re-encrypts them without breaking lookups."""

from __future__ import annotations

import io
import re
import time

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text

from saas.crypto import batch_encryptor, blind_index, decrypt, encrypted_columns, indexer
from saas.extensions import db
from saas.models.customers import Customer, CustomerLookup
from saas.models.imports import ImportRowError
from saas.services import (
    custom_fields,
    customer_list,
    customer_upsert,
    duplicates,
    imports,
    subject_requests,
)
from saas.services import customers as svc
from saas.services.identifiers import lookup_value

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()
ID_CARD = "110101199003077777"
SECRETS = ("13800138000", "8613800138000", "13900139000", "ann@tea.example.com",
           "tea.example.com", "wx_ann_88", "长安街 1 号", ID_CARD)
PERSONAL = ("phone", "email", "phones", "emails", "wechat_id", "address",
            "sensitive_fields")


@pytest.fixture()
def actor(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        yield tenant.owner_actor()
        db.session.remove()


def _ann(actor, **extra):
    if not custom_fields.list_definitions(db.session):
        custom_fields.create_definition(db.session, actor, "id_card", "ID card", "text",
                                        sensitive=True)
    customer = svc.create_customer(db.session, actor, {
        "name": "Ann", "phones": ["13800138000", "139 0013 9000"],
        "emails": ["Ann@Tea.example.com"], "wechat_id": "wx_ann_88", "address": "长安街 1 号",
        "custom_fields": {"id_card": ID_CARD}, **extra})
    db.session.commit()
    return customer


def _raw_text(table: str) -> str:
    rows = db.session.execute(text(f"SELECT * FROM {table}")).all()  # noqa: S608
    return " ".join(str(v) for row in rows for v in row)


def _assert_no_plaintext() -> None:
    for table in ("customers", "customer_lookups"):
        raw = _raw_text(table)
        assert raw, f"{table} is empty"
        for secret in SECRETS:
            assert secret.lower() not in raw.lower(), f"{secret!r} in {table}"


def _names(q: str) -> list[str]:
    query = customer_list.parse_filters(db.session, {"q": q})
    return [c.name for c in db.session.scalars(customer_list.filtered(db.session, query))]


def test_personal_customer_fields_are_registered_for_rotation():
    registered = {(c.table.name, c.column) for c in encrypted_columns()}
    assert {("customers", name) for name in PERSONAL} <= registered


def test_database_holds_no_plaintext_of_customer_personal_fields(actor):
    customer = _ann(actor)
    _assert_no_plaintext()
    row = db.session.execute(text(
        "SELECT phone, phones, wechat_id, sensitive_fields FROM customers")).one()
    assert all(value.startswith("gAAAAA") for value in row), "Fernet tokens"
    values = set(db.session.scalars(select(CustomerLookup.value)))
    assert values == {lookup_value("+8613800138000"), lookup_value("+8613900139000"),
                      lookup_value("ann@tea.example.com")}
    db.session.expire_all()
    again = svc.get_customer(db.session, customer.id)
    assert again.phones == ["+8613800138000", "+8613900139000"]
    assert (again.phone, again.email) == ("+8613800138000", "ann@tea.example.com")
    assert again.custom_fields == {"id_card": ID_CARD}
    assert (again.wechat_id, again.address) == ("wx_ann_88", "长安街 1 号")


def test_search_by_phone_or_email_in_any_form_still_finds_the_customer(actor):
    _ann(actor)
    svc.create_customer(db.session, actor, {"name": "Bo", "phones": ["13700137000"]})
    db.session.commit()
    for typed in ("138 0013 8000", "+86 139-0013-9000", "ANN@tea.example.COM"):
        assert _names(typed) == ["Ann"], typed
    assert [c.name for c in svc.find_by_phone(db.session, "13900139000")] == ["Ann"]
    assert [c.name for c in svc.find_by_email(db.session, " ann@TEA.example.com")] == ["Ann"]
    assert _names("1380013") == [], "partial phones cannot be searched any more"


def test_blind_index_depends_on_its_key(app, actor):
    _ann(actor)
    saved = app.config.get("BLIND_INDEX_KEY")
    try:
        app.config["BLIND_INDEX_KEY"] = "another-key-" + "y" * 32
        assert svc.find_by_phone(db.session, "13800138000") == []
    finally:
        app.config["BLIND_INDEX_KEY"] = saved
    assert len(svc.find_by_phone(db.session, "13800138000")) == 1


def _use_keys(app, *keys: str) -> None:
    app.config["ENCRYPTION_KEYS"] = ",".join(keys)
    app.extensions.pop("saas.keyring", None)


def test_keys_rotate_reencrypts_customers_and_lookups_still_work(app, make_tenant):
    saved = app.config["ENCRYPTION_KEYS"]
    tenant = make_tenant()
    try:
        _use_keys(app, OLD)
        with app.app_context():
            tenant.bind()
            _ann(tenant.owner_actor())
            before = db.session.execute(text(
                "SELECT phone, email, phones, emails, wechat_id, address, sensitive_fields "
                "FROM customers")).one()
            db.session.remove()
        _use_keys(app, NEW, OLD)
        result = app.test_cli_runner().invoke(args=["keys", "rotate"])
        assert result.exit_code == 0, result.output
        for name in PERSONAL:
            assert f"customers.{name}: 1 re-encrypted" in result.output
        _use_keys(app, NEW)
        with app.app_context():
            tenant.bind()
            after = db.session.execute(text(
                "SELECT phone, email, phones, emails, wechat_id, address, sensitive_fields "
                "FROM customers")).one()
            assert all(a != b for a, b in zip(after, before, strict=True))
            [found] = svc.find_by_phone(db.session, "139 0013 9000")
            assert found.phones == ["+8613800138000", "+8613900139000"]
            assert (found.wechat_id, found.address) == ("wx_ann_88", "长安街 1 号")
            assert found.custom_fields == {"id_card": ID_CARD}
            assert _names("ann@tea.example.com") == ["Ann"]
            query = customer_list.parse_filters(db.session, {"cf.id_card": ID_CARD})
            assert [c.name for c in db.session.scalars(
                customer_list.filtered(db.session, query))] == ["Ann"], "index kept"
            db.session.remove()
    finally:
        _use_keys(app, saved)


def test_erase_then_search_by_the_old_phone_finds_nothing(actor):
    customer = _ann(actor)
    subject_requests.erase_customer(db.session, actor, customer.id, reason="asked")
    db.session.commit()
    assert svc.find_by_phone(db.session, "13800138000") == []
    assert svc.find_by_email(db.session, "ann@tea.example.com") == []
    assert _names("13800138000") == [] and _names("ann@tea.example.com") == []
    assert db.session.scalar(select(Customer.address_index)) is None
    assert list(db.session.scalars(select(CustomerLookup))) == []


def _import(actor, csv: str):
    job = imports.upload(db.session, actor, "customers", "c.csv", io.BytesIO(csv.encode()))
    db.session.commit()
    for _ in imports.process(db.session, actor, job.id):
        db.session.commit()
    return imports.get_job(db.session, job.id)


def test_import_writes_ciphertext_and_upserts_by_email_and_phone(actor):
    """On PostgreSQL this is the COPY fast path, on SQLite the row-by-row path."""
    job = _import(actor, "name,phone,email,wechat,address\n"
                         "Ann,13800138000,ann@tea.example.com,wx_ann_88,长安街 1 号\n"
                         "Bo,13700137000,bo@tea.example.com,,\n"
                         "Cy,13600136000;13500135000,,,\n")
    assert (job.created_count, job.error_count) == (3, 0)
    _assert_no_plaintext()
    people = {c.name: c for c in db.session.scalars(select(Customer))}
    assert (people["Ann"].phone, people["Ann"].email) == ("+8613800138000",
                                                          "ann@tea.example.com")
    assert people["Cy"].phones == ["+8613600136000", "+8613500135000"]
    assert (people["Cy"].phone, people["Cy"].emails, people["Cy"].email) == (
        "+8613600136000", [], None)
    db.session.expunge_all()
    job = _import(actor, "name,email,phone\nAnn Li,ANN@tea.example.com,13900139000\n"
                         "Bo Wu,,+86 137 0013 7000\n")
    assert (job.created_count, job.updated_count, job.error_count) == (0, 2, 0)
    db.session.expire_all()
    people = {c.name: c for c in db.session.scalars(select(Customer))}
    assert set(people) == {"Ann Li", "Bo Wu", "Cy"}
    assert people["Ann Li"].phones == ["+8613900139000"]
    assert people["Ann Li"].phone == "+8613900139000"
    assert people["Ann Li"].address == "长安街 1 号" and people["Ann Li"].wechat_id == "wx_ann_88"
    assert [c.name for c in svc.find_by_phone(db.session, "13900139000")] == ["Ann Li"]
    assert svc.find_by_phone(db.session, "13800138000") == [], "old phone's lookup is gone"
    assert [c.name for c in svc.find_by_email(db.session, "bo@tea.example.com")] == ["Bo Wu"]
    _assert_no_plaintext()


def test_import_reports_an_ambiguous_phone_in_plain_text(actor):
    for name in ("Ann", "Ann Twin"):
        svc.create_customer(db.session, actor, {"name": name, "phones": ["13800138000"]})
    db.session.commit()
    job = _import(actor, "name,phone\nX,13800138000\n")
    assert job.error_count == 1
    [message] = db.session.scalars(select(ImportRowError.message)).all()
    # The row path quotes the cell, the COPY path (PostgreSQL) the normalised value; never
    # the blind index it matched on.
    assert re.fullmatch(r"'(\+86)?13800138000' matches 2 customers\.", message), message


def test_api_upsert_matches_by_phone_and_email(actor):
    ann = _ann(actor)
    results = customer_upsert.upsert_customers(db.session, actor, [
        {"name": "Ann L", "phones": ["+86 139 0013 9000"]},
        {"name": "Ann M", "emails": ["ANN@tea.example.com"]},
        {"name": "New", "phones": ["13600136000"]}])
    assert [(r.status, r.id == ann.id) for r in results] == [
        ("updated", True), ("updated", True), ("created", False)]


def test_duplicates_by_phone_email_and_address_show_the_plain_values(actor):
    _ann(actor, name="Tea House Ann")
    svc.create_customer(db.session, actor, {"name": "Tea House Anne", "phones": ["13900139000"],
                                            "emails": ["ann@tea.example.com"],
                                            "address": " 长安街  1 号 "})
    db.session.commit()
    [pair] = duplicates.candidates(db.session)
    assert set(pair.reasons) == {"same_email", "same_phone", "similar_name_same_address"}
    shown = dict(zip(pair.reasons, pair.detail, strict=True))
    assert shown["same_email"] == "ann@tea.example.com"
    assert shown["same_phone"] == "+8613900139000"
    assert shown["similar_name_same_address"].strip() in ("长安街 1 号", "长安街  1 号")


def test_batch_encryptor_makes_ordinary_fernet_tokens(app):
    texts = ["", "a", "x" * 15, "y" * 16, "user7@example.com", "长安街 1 号" * 9, "a"]
    with app.app_context():
        tokens = batch_encryptor()(texts)
        assert [decrypt(t) for t in tokens] == texts
        assert len(set(tokens)) == len(tokens), "a fresh IV per value"
        ring = Fernet(app.config["ENCRYPTION_KEYS"].split(",")[0].strip())
        assert ring.decrypt(tokens[5].encode()).decode() == texts[5]
        assert abs(ring.extract_timestamp(tokens[0].encode()) - time.time()) < 60


def test_phone_list_of_one_item_shares_the_token_format_of_the_item(actor):
    customer = _ann(actor, phones=["13800138000"], emails=[])
    token = db.session.execute(text("SELECT phones FROM customers")).scalar()
    assert decrypt(token) == "+8613800138000"
    assert customer.emails == [] and customer.email is None
    db.session.expire_all()
    assert svc.get_customer(db.session, customer.id).emails == []


@pytest.mark.parametrize("key", [None, "short", "k" * 64, "long-" * 40])
def test_indexer_is_the_blind_index(app, key):
    saved = app.config.get("BLIND_INDEX_KEY")
    try:
        app.config["BLIND_INDEX_KEY"] = key
        with app.app_context():
            index = indexer()
            for value in ("+8613800138000", "ann@tea.example.com", "长安街 1 号", ""):
                assert index(value) == blind_index(value)
                assert len(index(value)) == 64
    finally:
        app.config["BLIND_INDEX_KEY"] = saved


# -- personal data outside the customers table (issue 11) -----------------------------

CONTACT_SECRETS = ("13700137000", "li@acme.example.cn")
EVENT_COPIES = {
    "outbox_events": "event payloads are what plugins sync to a CRM or shop, so they may "
                     "carry a customer's personal data (docs/privacy.md, Encryption at rest); "
                     "customer.erased tells plugins to erase their copies",
    "plugin_deliveries": "a message delivery holds the address and text it sends (and "
                         "re-sends after a failure); erasure wipes it, delivery "
                         "retention purges it",
}


def _personal_text_columns():
    from sqlalchemy import JSON, String, Text

    from saas.models.base import Base

    for table in Base.metadata.sorted_tables:
        if table.name in EVENT_COPIES:
            continue
        cols = [c.name for c in table.c
                if isinstance(c.type, String | Text | JSON)
                or isinstance(getattr(c.type, "impl", None), String | Text | JSON)]
        if cols:
            yield table.name, cols


def _plaintext_anywhere(secrets) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for table, cols in _personal_text_columns():
        quoted = ", ".join(f'"{c}"' for c in cols)
        for row in db.session.execute(text(f'SELECT {quoted} FROM "{table}"')):  # noqa: S608
            for name, value in zip(cols, row, strict=True):
                raw = str(value).lower()
                for secret in secrets:
                    if secret.lower() in raw:
                        found.setdefault(f"{table}.{name}", set()).add(secret)
    return found


def test_no_table_holds_phone_or_email_plaintext_after_orders_tickets_campaigns(app,
                                                                                 make_tenant):
    from saas.services import campaigns, contacts, loyalty, orders, products, segments
    from saas.services import tickets as ticket_service
    from tests.hooks.support import mailing

    tenant = make_tenant()
    with mailing(app, tenant, "shop@example.com") as box, app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        ann = _ann(actor, tags=["promo"],
                   consent={"email": {"status": "granted", "source": "shop"}})
        svc.update_customer(db.session, actor, ann.id, {
            "phones": ["13800138000", "139 0013 9000", "13600136000"],
            "wechat_id": "wx_ann_99"})
        company = svc.create_customer(db.session, actor, {"name": "Acme", "kind":
                                                          "company"})
        contact = contacts.create_contact(db.session, actor, company.id, {
            "name": "Li", "phone": "137 0013 7000", "email": "LI@acme.example.cn"})
        contacts.update_contact(db.session, actor, company.id, contact.id,
                                {"phone": "13700137000 "})
        product = products.create_product(db.session, actor, {
            "sku": "T-1", "name": "Tea", "price": "10", "currency": "CNY"})
        orders.place_order(db.session, actor, ann.id, {
            "lines": [{"product_id": str(product.id), "quantity": 1}]})
        ticket = ticket_service.create_ticket(db.session, actor, {
            "customer_id": ann.id, "subject": "Kettle", "channel": "email"})
        ticket_service.add_message(db.session, actor, ticket.id, "reply", "On its way")
        loyalty.adjust(db.session, actor, ann.id, 10, "Goodwill")
        segment = segments.create_segment(db.session, actor, {
            "name": "Promo", "rule": {"all": [{"tag": "promo"}]}})
        campaign = campaigns.create_campaign(db.session, actor, {
            "name": "Spring", "segment_id": str(segment.id), "channel": "email",
            "variants": [{"name": "A", "subject": "Sale", "body": "Hi"}]})
        db.session.commit()
        campaigns.launch(db.session, actor, campaign.id)
        db.session.commit()  # the campaign is sent inline after this commit
        tenant.bind()
        from saas.models.campaigns import CampaignRecipient

        [recipient] = db.session.scalars(select(CampaignRecipient)).all()
        assert (recipient.status, recipient.address) == ("sent", "ann@tea.example.com")
        secrets = ("13800138000", "13900139000", "13600136000", "ann@tea.example.com",
                   "wx_ann_88", "wx_ann_99", *CONTACT_SECRETS)
        assert _plaintext_anywhere(secrets) == {}
        raw = _raw_text("campaign_recipients")
        assert "gAAAAA" in raw
        events = _raw_text("outbox_events") + _raw_text("plugin_deliveries")
        assert "ann@tea.example.com" in events.lower(), "excluded for the reason given"
        db.session.remove()
    assert [m["To"] for m in box.messages if m["Subject"] == "Sale"] == [
        "ann@tea.example.com"]


def test_audit_entries_say_which_encrypted_fields_changed_without_their_values(actor):
    from saas.models import AuditEntry
    from saas.services.audit import HIDDEN

    ann = _ann(actor)
    svc.update_customer(db.session, actor, ann.id, {"phones": [], "name": "Ann Lee",
                                                    "address": "长安街 2 号"})
    db.session.commit()
    created, updated = (db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == action)).one() for action in ("customer.created",
                                                           "customer.updated"))
    assert created.changes["name"] == "Ann"
    assert (created.changes["phones"], created.changes["emails"]) == (HIDDEN, HIDDEN)
    assert created.changes["wechat_id"] == created.changes["address"] == HIDDEN
    assert updated.changes["name"] == ["Ann", "Ann Lee"]
    assert updated.changes["phones"] == [HIDDEN, []]
    assert updated.changes["address"] == [HIDDEN, HIDDEN]
