"""Encryption at rest with a key ring: the first key encrypts, every key decrypts.

Rotation: put the new key first in `ENCRYPTION_KEYS`, keep the old ones after it, run
`flask keys rotate` (re-encrypts with the first key), then drop the old keys.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import struct
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from flask import current_app, has_request_context, request
from sqlalchemy import Table, Text, column, select, tuple_, update
from sqlalchemy import table as sa_table
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator


class KeyRingError(ValueError):
    pass


def parse_keys(raw: str) -> list[Fernet]:
    keys = [k.strip() for k in str(raw or "").split(",") if k.strip()]
    if not keys:
        raise KeyRingError("ENCRYPTION_KEYS is empty")
    fernets = []
    for i, key in enumerate(keys):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError) as exc:
            raise KeyRingError(f"ENCRYPTION_KEYS entry {i + 1} is not a Fernet key") from exc
    return fernets


class _Opener:
    """Fernet decryption for the read path, where a list page opens hundreds of tokens.

    The checks and the result are those of `MultiFernet.decrypt` without a ttl (version
    byte; HMAC-SHA256 compared in constant time before anything is deciphered, key by
    key; AES-128-CBC; PKCS7 padding), but each key's HMAC state and AES cipher are
    prepared once instead of per token: about a quarter of the CPU per token. CBC
    decryption is the ECB decryption of each block XOR the block before it, so one
    reusable ECB context does every token; a cipher context must not be shared between
    threads, hence one per thread."""

    def __init__(self, raw_keys: Sequence[str]):
        self._keys = []
        for key in raw_keys:
            raw = base64.urlsafe_b64decode(key)
            self._keys.append((hmac.new(raw[:16], digestmod=hashlib.sha256),
                               algorithms.AES(raw[16:])))
        self._local = threading.local()

    def _decryptors(self) -> list[Any]:
        decryptors = getattr(self._local, "decryptors", None)
        if decryptors is None:
            decryptors = self._local.decryptors = [
                Cipher(aes, modes.ECB()).decryptor()  # noqa: S305 (CBC by hand)
                for _, aes in self._keys]
        return decryptors

    def __call__(self, token: str) -> str:
        try:
            data = base64.urlsafe_b64decode(token)
        except (TypeError, binascii.Error):
            raise InvalidToken from None
        size = len(data) - 57  # version 1, time 8, IV 16, ciphertext, HMAC 32
        if size < 16 or size % 16 or data[0] != 0x80:
            raise InvalidToken
        signed, tag = data[:-32], data[-32:]
        for (keyed, _aes), decryptor in zip(self._keys, self._decryptors(), strict=True):
            mac = keyed.copy()
            mac.update(signed)
            if not hmac.compare_digest(mac.digest(), tag):
                continue
            mixed = decryptor.update(data[25:-32])
            plain = (int.from_bytes(mixed, "big")
                     ^ int.from_bytes(data[9:-48], "big")).to_bytes(size, "big")
            pad = plain[-1]
            if 1 <= pad <= 16 and plain[-pad:] == bytes((pad,)) * pad:
                return plain[:-pad].decode()
        raise InvalidToken


@dataclass(frozen=True)
class _KeyRing:
    ring: MultiFernet
    open: _Opener


def _keys() -> _KeyRing:
    keys = current_app.extensions.get("saas.keyring")
    if keys is None:
        raw = current_app.config["ENCRYPTION_KEYS"]
        keys = _KeyRing(MultiFernet(parse_keys(raw)),
                        _Opener([k.strip() for k in str(raw).split(",") if k.strip()]))
        current_app.extensions["saas.keyring"] = keys
    return keys


def key_ring() -> MultiFernet:
    return _keys().ring


def encrypt(text: str) -> str:
    return key_ring().encrypt(text.encode()).decode()


# Distinct tokens opened in one request are remembered for that request only (a list
# page reads `phone` and `phones` as the same token). Never across requests: see
# docs/privacy.md, "Decryption cost".
_MEMO_KEY = "saas.decrypted"
_MEMO_SIZE = 4096


def decrypt(token: str) -> str:
    keys = _keys()
    memo = None
    if has_request_context():
        environ = request.environ
        memo = environ.get(_MEMO_KEY)
        if memo is None or memo[0] is not keys:
            memo = environ[_MEMO_KEY] = (keys, {})
        text = memo[1].get(token)
        if text is not None:
            return text
    try:
        text = keys.open(token)
    except InvalidToken as exc:
        raise KeyRingError("cannot decrypt: no key in ENCRYPTION_KEYS fits") from exc
    if memo is not None and len(memo[1]) < _MEMO_SIZE:
        memo[1][token] = text
    return text


def rotate(token: str) -> str:
    return key_ring().rotate(token.encode()).decode()


def join_list(items: Sequence[str]) -> str:
    """The text `EncryptedList` encrypts: the items one per line."""
    if any("\n" in item for item in items):
        raise ValueError("list items of an encrypted list cannot contain a newline")
    return "\n".join(items)


def encryptor() -> Callable[[str], str]:
    """`encrypt` bound to the current key ring, usable outside the app context (a thread
    preparing import rows, a process pool)."""
    first = key_ring()._fernets[0]
    return lambda text: first.encrypt(text.encode()).decode()


def batch_encryptor() -> Callable[[Sequence[str]], list[str]]:
    """Encrypt many values at once with the ring's first key, usable outside the app
    context; for set-based writers (the import fast path, bench data): about a third
    less CPU per value than `encrypt`.

    The tokens are ordinary Fernet tokens (version, time, random IV, AES-128-CBC,
    HMAC-SHA256), so `decrypt` and rotation treat them like any other. CBC is run by
    hand over one AES block cipher: block i of every value is enciphered in a single
    call, instead of building a cipher object per value."""
    parse_keys(current_app.config["ENCRYPTION_KEYS"])
    raw = base64.urlsafe_b64decode(_first_key_text())
    cipher = Cipher(algorithms.AES(raw[16:]), modes.ECB())  # noqa: S305 (CBC by hand)
    mac, aes = _hmac_sha256(raw[:16]), cipher.encryptor()

    def encrypt_all(texts: Sequence[str]) -> list[str]:
        count = len(texts)
        ivs = os.urandom(16 * count)
        head = b"\x80" + struct.pack(">Q", int(time.time()))
        padded = []
        for text in texts:
            data = text.encode()
            pad = 16 - len(data) % 16
            padded.append(data + bytes([pad]) * pad)
        blocks: list[list[bytes]] = [[] for _ in range(count)]
        pending, previous, r = list(range(count)), ivs, 0
        while pending:
            plain = b"".join(padded[i][16 * r:16 * r + 16] for i in pending)
            mixed = int.from_bytes(plain, "big") ^ int.from_bytes(previous, "big")
            sealed = aes.update(mixed.to_bytes(len(plain), "big"))
            still, chained = [], []
            for j, i in enumerate(pending):
                block = sealed[16 * j:16 * j + 16]
                blocks[i].append(block)
                if len(padded[i]) > 16 * (r + 1):
                    still.append(i)
                    chained.append(block)
            pending, previous, r = still, b"".join(chained), r + 1
        tokens = []
        for i in range(count):
            basic = head + ivs[16 * i:16 * i + 16] + b"".join(blocks[i])
            signed = basic + mac(basic)
            tokens.append(binascii.b2a_base64(signed, newline=False).translate(_URLSAFE)
                          .decode())
        return tokens

    return encrypt_all


def _first_key_text() -> str:
    return next(k.strip() for k in str(current_app.config["ENCRYPTION_KEYS"]).split(",")
                if k.strip())


def _blind_key() -> bytes:
    return str(current_app.config.get("BLIND_INDEX_KEY")
               or current_app.config["SECRET_KEY"]).encode()


def blind_index(value: str) -> str:
    """Keyed hash for equality lookups of encrypted values (stable across key rotation).

    Keyed by `BLIND_INDEX_KEY` (else `SECRET_KEY`): without the key a phone number's hash
    cannot be recomputed, so the hashes do not reveal the values they stand for."""
    return hmac.new(_blind_key(), value.encode(), hashlib.sha256).hexdigest()


def indexer() -> Callable[[str], str]:
    """`blind_index` bound to the current key, usable outside the app context."""
    mac = _hmac_sha256(_blind_key())
    return lambda value: mac(value.encode()).hex()


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _hmac_sha256(key: bytes) -> Callable[[bytes], bytes]:
    """HMAC-SHA256 with the keyed state prepared once and copied per message (the
    standard library's `hmac`, not a hand-made one): about twice as fast per short value
    as `hmac.digest`, which matters when hashing a million imported phones."""
    keyed = hmac.new(key, digestmod=hashlib.sha256)

    def mac(message: bytes) -> bytes:
        h = keyed.copy()
        h.update(message)
        return h.digest()

    return mac


class EncryptedText(TypeDecorator):
    """A text column stored as a Fernet token: plain text in Python, ciphertext in the DB.

    Register the column with `register_encrypted(Model, "column")` so that
    `flask keys rotate` re-encrypts it.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else encrypt(str(value))

    def process_result_value(self, value, dialect):
        return None if value is None else decrypt(value)


class EncryptedList(TypeDecorator):
    """A list of one-line strings (normalised phones, emails) stored as one Fernet token
    of the items one per line: a one-item list encrypts the same text as the item alone,
    so a set-based writer can store one token in both `phone` and `phones`.

    Not queryable inside the database; register it like `EncryptedText`."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else encrypt(join_list(list(value)))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        text = decrypt(value)
        return text.split("\n") if text else []


class EncryptedJSON(TypeDecorator):
    """A JSON object stored as one Fernet token (the sensitive custom field values of a
    customer): a dict in Python, ciphertext in the DB, NULL for an empty object so rows
    without sensitive values cost nothing. Register it like `EncryptedText`."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if not value:
            return None
        return encrypt(json.dumps(value, ensure_ascii=False, sort_keys=True))

    def process_result_value(self, value, dialect):
        return None if value is None else json.loads(decrypt(value))


@dataclass(frozen=True)
class EncryptedColumn:
    table: Table
    column: str

    @property
    def label(self) -> str:
        return f"{self.table.name}.{self.column}"


_ENCRYPTED: dict[tuple[str, str], EncryptedColumn] = {}


def register_encrypted(model: Any, column: str) -> None:
    """Declare that `model.column` (a mapped class or a Table) holds Fernet tokens.

    Call it at import time of the model module, next to the model."""
    table = getattr(model, "__table__", model)
    if column not in table.c:
        raise KeyRingError(f"{table.name} has no column {column!r}")
    _ENCRYPTED[(table.name, column)] = EncryptedColumn(table, column)


def unregister_encrypted(model: Any, column: str) -> None:
    table = getattr(model, "__table__", model)
    _ENCRYPTED.pop((table.name, column), None)


def encrypted_columns() -> list[EncryptedColumn]:
    import saas.models  # noqa: F401  (models register their columns on import)

    return [_ENCRYPTED[k] for k in sorted(_ENCRYPTED)]


@dataclass
class RotationReport:
    rotated: dict[str, int] = field(default_factory=dict)
    failed: dict[str, list[str]] = field(default_factory=dict)


def rotate_all(session: Session, batch: int = 500) -> RotationReport:
    """Re-encrypt every registered column with the first key, committing per batch.

    Rows are read and written as raw strings (not through `EncryptedText`), tenant by
    tenant for tenant tables, so row-level security holds for the app role. A value no
    key decrypts is reported, not overwritten."""
    from saas.models import Tenant
    from saas.tenancy import tenant_bound

    report = RotationReport()
    tenant_ids = list(session.scalars(select(Tenant.id)))
    session.commit()
    for enc in encrypted_columns():
        report.rotated[enc.label] = 0
        if "tenant_id" in enc.table.c and enc.table.name != "tenants":
            for tenant_id in tenant_ids:
                with tenant_bound(session, tenant_id):
                    _rotate_column(session, enc, report, batch, tenant_id)
        else:
            _rotate_column(session, enc, report, batch, None)
    return report


def _rotate_column(session: Session, enc: EncryptedColumn, report: RotationReport,
                   batch: int, tenant_id: uuid.UUID | None) -> None:
    pk = list(enc.table.primary_key.columns)
    raw = column(enc.column, Text)
    keys = [column(c.name, c.type) for c in pk]
    lite = sa_table(enc.table.name, raw, *keys)
    tenant_col = next((k for k in keys if k.name == "tenant_id"), None)
    last: tuple | None = None
    while True:
        stmt = select(*keys, raw).select_from(lite).where(raw.is_not(None))
        if tenant_id is not None and tenant_col is not None:
            stmt = stmt.where(tenant_col == tenant_id)
        if last is not None:
            stmt = stmt.where(tuple_(*keys) > tuple_(*last))
        rows = session.execute(stmt.order_by(*keys).limit(batch)).all()
        if not rows:
            session.commit()
            return
        for row in rows:
            ident = tuple(row[: len(keys)])
            try:
                new = rotate(row[-1])
            except (InvalidToken, TypeError):
                report.failed.setdefault(enc.label, []).append(
                    "/".join(str(v) for v in ident))
                continue
            cond = [k == v for k, v in zip(keys, ident, strict=True)]
            session.execute(update(lite).where(*cond).values({enc.column: new}))
            report.rotated[enc.label] += 1
        session.commit()
        last = ident
