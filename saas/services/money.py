"""Reading money from user input: Decimal, two places, never a float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from saas.services.tenants import CURRENCIES

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999999.99")


def parse_amount(value: Any) -> Decimal:
    """A non-negative amount rounded to cents, or ValueError with a message for the user."""
    if isinstance(value, bool) or value is None:
        raise ValueError("Enter an amount.")
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation as exc:
        raise ValueError("Enter an amount.") from exc
    if not amount.is_finite():
        raise ValueError("Enter an amount.")
    if amount < 0:
        raise ValueError("The amount cannot be negative.")
    amount = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    if amount > MAX_AMOUNT:
        raise ValueError("The amount is too large.")
    return amount


def parse_currency(value: Any, default: str) -> str:
    if value in (None, ""):
        return default
    code = str(value).strip().upper()
    if code not in CURRENCIES:
        raise ValueError(f"Choose one of: {', '.join(CURRENCIES)}.")
    return code
