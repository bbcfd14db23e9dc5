"""The plans and what each one allows.

Limits are counted per tenant: `seats` (active staff plus open invitations), `customers`,
`messages` (channel messages per calendar month, UTC), `plugins` (enabled at once) and
`api_calls` (per minute). `None` means unlimited. Prices live in Stripe; only their ids
are configured (`STRIPE_PRICE_<PLAN>`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

LIMITS = ("seats", "customers", "messages", "plugins", "api_calls")
LIMIT_LABELS = {
    "seats": "staff seats",
    "customers": "customers",
    "messages": "channel messages per month",
    "plugins": "enabled plugins",
    "api_calls": "API calls per minute",
}
FREE = "free"


@dataclass(frozen=True)
class Plan:
    key: str
    name: str
    rank: int
    limits: Mapping[str, int | None]

    @property
    def paid(self) -> bool:
        return self.key != FREE

    def allows(self, limit: str, total: int) -> bool:
        cap = self.limits[limit]
        return cap is None or total <= cap


PLANS: dict[str, Plan] = {p.key: p for p in (
    Plan("free", "Free", 0, {"seats": 3, "customers": 500, "messages": 1_000,
                             "plugins": 2, "api_calls": 60}),
    Plan("pro", "Pro", 1, {"seats": 25, "customers": 20_000, "messages": 50_000,
                           "plugins": 10, "api_calls": 600}),
    Plan("enterprise", "Enterprise", 2, {"seats": None, "customers": None, "messages": None,
                                         "plugins": None, "api_calls": 3_000}),
)}
PAID_PLANS = tuple(k for k, p in PLANS.items() if p.paid)


def get_plan(key: str | None) -> Plan:
    """Unknown keys (a plan removed from code, a typo in config) fall back to free."""
    return PLANS.get(key or FREE, PLANS[FREE])


def lifting_plan(limit: str, total: int) -> Plan | None:
    """The cheapest plan under which `total` of `limit` is allowed, if any."""
    for plan in sorted(PLANS.values(), key=lambda p: p.rank):
        if plan.allows(limit, total):
            return plan
    return None


def price_for(config: Mapping[str, Any], plan: str) -> str | None:
    return config.get(f"STRIPE_PRICE_{plan.upper()}") or None


def plan_for_price(config: Mapping[str, Any], price_id: str | None) -> str | None:
    if not price_id:
        return None
    for key in PAID_PLANS:
        if price_for(config, key) == price_id:
            return key
    return None
