"""Normalising phones and emails, so that one number typed five ways is one key.

Phones become E.164 (`+8613812345678`) with mainland China as the default region for
numbers written without a country code; emails are stripped and lower-cased. Import,
search and duplicate detection all go through these two functions, and then through
`lookup_value`: phones and emails are encrypted at rest, so they are found by the blind
index of their normalised form (exact match only; no substring search).
"""

from __future__ import annotations

import re

import phonenumbers

from saas.crypto import blind_index

DEFAULT_REGION = "CN"
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_CHARS = re.compile(r"^[\d\s+\-().]+$")


def normalise_phone(raw: str, region: str = DEFAULT_REGION) -> str | None:
    """The E.164 form of a valid phone number, or None when it is not one."""
    text = (raw or "").strip()
    if not text or len(text) > 40:
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str) -> str | None:
    """The lower-cased address, or None when it does not look like one."""
    text = (raw or "").strip().lower()
    if not text or len(text) > 254 or not EMAIL_RE.match(text):
        return None
    return text


def looks_like_phone(text: str) -> bool:
    """Search input made only of phone characters with enough digits to mean a number."""
    return bool(_PHONE_CHARS.match(text)) and sum(c.isdigit() for c in text) >= 4


def digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def lookup_value(normalised: str) -> str:
    """What `customer_lookups.value` holds for a normalised phone or email: its blind
    index (set-based writers such as the import fast path and bench data use this too)."""
    return blind_index(normalised)
