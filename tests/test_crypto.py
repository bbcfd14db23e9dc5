"""Encryption at rest: the key ring, rotation, and `flask keys rotate`."""

from __future__ import annotations

import base64
import hmac
import os
import struct
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from sqlalchemy import Column, MetaData, Table, Uuid, create_engine, insert, select, text

from saas import crypto
from saas.crypto import (
    EncryptedText,
    KeyRingError,
    batch_encryptor,
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


# -- the read path: `decrypt` checks tokens like Fernet and opens each one once a request


@pytest.mark.parametrize("text", ["", "a", "x" * 15, "x" * 16, "+8613800138000",
                                  "张三 上海市浦东新区 1 号", "é" * 500])
def test_decrypt_reads_standard_and_batch_made_fernet_tokens(ctx, use_keys, text):
    use_keys(NEW, OLD)
    for key in (NEW, OLD):
        assert decrypt(Fernet(key.encode()).encrypt(text.encode()).decode()) == text
    assert decrypt(batch_encryptor()([text])[0]) == text
    assert decrypt(encrypt(text)) == text


def test_every_altered_byte_of_a_token_is_refused(ctx, use_keys):
    use_keys(OLD)
    raw = base64.urlsafe_b64decode(encrypt("13800138000"))
    for i in range(len(raw)):
        altered = bytearray(raw)
        altered[i] ^= 0x01
        with pytest.raises(KeyRingError):
            decrypt(base64.urlsafe_b64encode(bytes(altered)).decode())


@pytest.mark.parametrize("token", ["", "abc", "not base64 !!", "gAAAAA", "gAAAAA" * 20])
def test_malformed_tokens_are_refused(ctx, use_keys, token):
    use_keys(OLD)
    with pytest.raises(KeyRingError):
        decrypt(token)


def test_truncated_or_extended_tokens_are_refused(ctx, use_keys):
    use_keys(OLD)
    token = encrypt("13800138000")
    for bad in (token[:-4], token[:-24], token[:40] + "AAAA" + token[40:], token[:60]):
        with pytest.raises(KeyRingError):
            decrypt(bad)


def _signed_token(key: str, plain_blocks: bytes) -> str:
    """A token whose signature is valid for `key` around raw CBC blocks (any padding)."""
    raw = base64.urlsafe_b64decode(key)
    iv = os.urandom(16)
    encryptor = Cipher(algorithms.AES(raw[16:]), modes.CBC(iv)).encryptor()
    body = b"\x80" + struct.pack(">Q", int(time.time())) + iv + encryptor.update(
        plain_blocks) + encryptor.finalize()
    return base64.urlsafe_b64encode(body + hmac.digest(raw[:16], body, "sha256")).decode()


def test_signed_token_with_bad_padding_is_refused_like_fernet(ctx, use_keys):
    use_keys(OLD)
    good = _signed_token(OLD, b"13800138000" + bytes([5]) * 5)
    assert decrypt(good) == "13800138000"
    for blocks in (b"13800138000" + bytes([0]) * 5, b"13800138000" + bytes([17]) * 5,
                   b"13800138000xxxx" + bytes([2])):
        token = _signed_token(OLD, blocks)
        with pytest.raises(InvalidToken):
            Fernet(OLD.encode()).decrypt(token.encode())
        with pytest.raises(KeyRingError):
            decrypt(token)


def test_decrypt_is_safe_from_many_threads_at_once(app, use_keys):
    use_keys(NEW, OLD)
    with app.app_context():
        old = Fernet(OLD.encode())
        plain = [f"+86138{i:08d}" for i in range(400)]
        tokens = [encrypt(p) if i % 2 else old.encrypt(p.encode()).decode()
                  for i, p in enumerate(plain)]

    def work(offset: int) -> list[str]:
        with app.app_context():
            return [decrypt(tokens[(offset + i) % len(tokens)]) for i in range(len(tokens))]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(0, 400, 50)))
    for offset, got in zip(range(0, 400, 50), results, strict=True):
        assert got == [plain[(offset + i) % len(plain)] for i in range(len(plain))]


@pytest.fixture
def opened(monkeypatch):
    """Counts the tokens actually deciphered (not answered from the request's memo)."""
    calls: list[str] = []
    real = crypto._Opener.__call__

    def counting(self, token):
        calls.append(token)
        return real(self, token)

    monkeypatch.setattr(crypto._Opener, "__call__", counting)
    return calls


def test_a_request_deciphers_each_distinct_token_once(app, use_keys, opened):
    use_keys(OLD)
    with app.app_context():
        phone, email = encrypt("+8613800138000"), encrypt("a@example.com")
    with app.test_request_context("/api/v1/customers"):
        assert [decrypt(t) for t in (phone, phone, email, phone, email)] == [
            "+8613800138000", "+8613800138000", "a@example.com", "+8613800138000",
            "a@example.com"]
    assert opened == [phone, email]
    with app.test_request_context("/api/v1/customers"):
        decrypt(phone)
    assert opened == [phone, email, phone]  # nothing is remembered across requests


def test_outside_a_request_nothing_is_remembered(ctx, use_keys, opened):
    use_keys(OLD)
    token = encrypt("secret")
    decrypt(token)
    decrypt(token)
    assert opened == [token, token]


def test_a_key_ring_change_within_a_request_is_not_answered_from_memory(app, use_keys):
    use_keys(OLD)
    with app.test_request_context("/api/v1/customers"):
        token = encrypt("secret")
        assert decrypt(token) == "secret"
        use_keys(NEW)
        with pytest.raises(KeyRingError, match="no key"):
            decrypt(token)
