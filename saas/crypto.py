"""Encryption at rest with a key ring: the first key encrypts, every key decrypts.

Rotation: put the new key first in `ENCRYPTION_KEYS`, keep the old ones after it, run
`flask keys rotate` (re-encrypts with the first key), then drop the old keys.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app
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


def key_ring() -> MultiFernet:
    ring = current_app.extensions.get("saas.keyring")
    if ring is None:
        ring = MultiFernet(parse_keys(current_app.config["ENCRYPTION_KEYS"]))
        current_app.extensions["saas.keyring"] = ring
    return ring


def encrypt(text: str) -> str:
    return key_ring().encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return key_ring().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise KeyRingError("cannot decrypt: no key in ENCRYPTION_KEYS fits") from exc


def rotate(token: str) -> str:
    return key_ring().rotate(token.encode()).decode()


def blind_index(value: str) -> str:
    """Keyed hash for equality lookups of encrypted values (stable across key rotation)."""
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()


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
