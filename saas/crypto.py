"""Encryption at rest with a key ring: the first key encrypts, every key decrypts.

Rotation: put the new key first in `ENCRYPTION_KEYS`, keep the old ones after it, run
`flask keys rotate` (re-encrypts with the first key), then drop the old keys.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


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
