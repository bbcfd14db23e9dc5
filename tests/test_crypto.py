"""Encryption at rest: the key ring, rotation, and `flask keys rotate`."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Column, MetaData, Table, Uuid, create_engine, insert, select, text

from saas.crypto import (
    EncryptedText,
    KeyRingError,
    decrypt,
    encrypt,
    encrypted_columns,
    parse_keys,
    register_encrypted,
    unregister_encrypted,
)
from saas.extensions import db
from saas.models.base import new_id

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()

probe_meta = MetaData()
probe = Table("crypto_probe", probe_meta,
              Column("tenant_id", Uuid, primary_key=True),
              Column("id", Uuid, primary_key=True),
              Column("secret", EncryptedText()))


@pytest.fixture
def use_keys(app):
    saved = app.config["ENCRYPTION_KEYS"]

    def use(*keys: str) -> None:
        app.config["ENCRYPTION_KEYS"] = ",".join(keys)
        app.extensions.pop("saas.keyring", None)

    yield use
    app.config["ENCRYPTION_KEYS"] = saved
    app.extensions.pop("saas.keyring", None)


@pytest.fixture
def probe_table(app):
    url = app.config.get("DATABASE_OWNER_URL") or app.config["DATABASE_URL"]
    owner = create_engine(url)
    probe_meta.create_all(owner)
    if owner.dialect.name == "postgresql":
        with owner.begin() as conn:
            role = app.config["DATABASE_URL"].split("://", 1)[1].split("@")[0]
            conn.execute(text(f'GRANT ALL ON crypto_probe TO "{role}"'))
    register_encrypted(probe, "secret")
    yield probe
    unregister_encrypted(probe, "secret")
    probe_meta.drop_all(owner)
    owner.dispose()


def test_empty_key_ring_is_refused():
    with pytest.raises(KeyRingError, match="empty"):
        parse_keys(" , ")


def test_malformed_key_is_refused_by_position():
    with pytest.raises(KeyRingError, match="entry 2"):
        parse_keys(f"{OLD},not-a-key")


def test_value_encrypted_with_old_key_still_decrypts_after_new_key_is_prepended(ctx,
                                                                               use_keys):
    use_keys(OLD)
    token = encrypt("13800138000")
    use_keys(NEW, OLD)
    assert decrypt(token) == "13800138000"
    assert Fernet(NEW.encode()).decrypt(encrypt("x").encode()) == b"x"  # new key encrypts


def test_value_no_key_fits_is_an_error(ctx, use_keys):
    use_keys(OLD)
    token = encrypt("secret")
    use_keys(NEW)
    with pytest.raises(KeyRingError, match="no key"):
        decrypt(token)


def test_registering_an_unknown_column_is_refused():
    with pytest.raises(KeyRingError, match="no column"):
        register_encrypted(probe, "nope")


def _rows(tenant_ids):
    return [{"tenant_id": t, "id": new_id(), "secret": f"phone-{i}"}
            for i, t in enumerate(tenant_ids)]


def test_keys_rotate_reencrypts_every_registered_column_with_the_first_key(
        app, make_tenant, use_keys, probe_table):
    tenants = [make_tenant().id, make_tenant().id]
    use_keys(OLD)
    rows = _rows(tenants)
    with app.app_context():
        db.session.execute(insert(probe_table), rows)
        db.session.commit()
    use_keys(NEW, OLD)
    assert probe_table in [c.table for c in encrypted_columns()]

    result = app.test_cli_runner().invoke(args=["keys", "rotate"])

    assert result.exit_code == 0, result.output
    assert "crypto_probe.secret: 2 re-encrypted" in result.output
    use_keys(NEW)  # the old key is gone: everything must now be under the new one
    with app.app_context():
        got = sorted(db.session.scalars(select(probe_table.c.secret)))
        db.session.remove()
    assert got == sorted(r["secret"] for r in rows)


def test_keys_rotate_reports_values_no_key_decrypts_and_fails(app, make_tenant, use_keys,
                                                              probe_table):
    tenant = make_tenant().id
    use_keys(OLD)
    with app.app_context():
        db.session.execute(insert(probe_table), _rows([tenant]))
        db.session.commit()
    use_keys(NEW)  # the old key was dropped before rotating

    result = app.test_cli_runner().invoke(args=["keys", "rotate"])

    assert result.exit_code == 1
    assert "crypto_probe.secret: 1 could not be decrypted" in result.output


def test_keys_generate_prints_a_usable_fernet_key(app):
    result = app.test_cli_runner().invoke(args=["keys", "generate"])
    assert result.exit_code == 0
    Fernet(result.output.strip().encode())
