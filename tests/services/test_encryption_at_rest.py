"""Personal data encrypted at rest: the database never holds the plaintext, the ORM
reads it back, and `flask keys rotate` re-encrypts it (contacts' phone and email)."""

from __future__ import annotations

from cryptography.fernet import Fernet
from sqlalchemy import text

from saas.crypto import encrypted_columns
from saas.extensions import db
from saas.services import contacts
from saas.services import customers as customer_service

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()
ENCRYPTED = {("contacts", "phone"), ("contacts", "email")}


def _use_keys(app, *keys: str) -> None:
    app.config["ENCRYPTION_KEYS"] = ",".join(keys)
    app.extensions.pop("saas.keyring", None)


def _contact(app, tenant) -> str:
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        company = customer_service.create_customer(db.session, actor, {
            "name": "Tea Co", "kind": "company"})
        contact = contacts.create_contact(db.session, actor, company.id, {
            "name": "Bo", "phone": "13800138000", "email": "bo@tea.example.com"})
        db.session.commit()
        cid = str(contact.id)
        db.session.remove()
    return cid


def _raw(app, tenant) -> list[tuple]:
    with app.app_context():
        tenant.bind()
        rows = db.session.execute(text("SELECT phone, email FROM contacts")).all()
        db.session.remove()
    return [tuple(r) for r in rows]


def test_encrypted_personal_fields_are_registered_for_rotation():
    assert {(c.table.name, c.column) for c in encrypted_columns()} >= ENCRYPTED


def test_database_holds_no_plaintext_of_encrypted_fields(app, make_tenant):
    tenant = make_tenant()
    _contact(app, tenant)
    rows = _raw(app, tenant)
    assert len(rows) == 1
    for value in rows[0]:
        assert value and "13800138000" not in value and "tea.example.com" not in value
    with app.app_context():
        tenant.bind()
        listed = contacts.list_contacts(db.session, _company_id(db.session))
        assert [(c.phone, c.email) for c in listed] == [("+8613800138000",
                                                         "bo@tea.example.com")]
        db.session.remove()


def _company_id(session):
    from sqlalchemy import select

    from saas.models.customers import Customer

    return session.scalars(select(Customer.id)).one()


def test_keys_rotate_reencrypts_contacts_with_the_new_key(app, make_tenant):
    saved = app.config["ENCRYPTION_KEYS"]
    try:
        _use_keys(app, OLD)
        tenant = make_tenant()
        _contact(app, tenant)
        before = _raw(app, tenant)
        _use_keys(app, NEW, OLD)
        result = app.test_cli_runner().invoke(args=["keys", "rotate"])
        assert result.exit_code == 0, result.output
        assert "contacts.phone: 1 re-encrypted" in result.output
        after = _raw(app, tenant)
        assert after != before
        _use_keys(app, NEW)
        with app.app_context():
            tenant.bind()
            listed = contacts.list_contacts(db.session, _company_id(db.session))
            assert listed[0].email == "bo@tea.example.com"
            db.session.remove()
    finally:
        app.config["ENCRYPTION_KEYS"] = saved
        app.extensions.pop("saas.keyring", None)
