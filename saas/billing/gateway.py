"""The few Stripe API calls billing makes, through a `StripeClient` built per call from
settings (no global `stripe.api_key`), so tests and tenants never share hidden state.

Stripe failures become `PaymentProviderError` (HTTP 502) with a message people can act on.
"""

from __future__ import annotations

import logging
from typing import Any

import stripe

from saas.billing.state import BillingConfig
from saas.services.errors import Conflict, ServiceError

log = logging.getLogger("saas.billing")


class PaymentProviderError(ServiceError):
    status = 502
    code = "payment_provider_error"


def _client(config: BillingConfig) -> stripe.StripeClient:
    if not config.enabled:
        raise Conflict("Billing is not enabled on this installation.")
    base = {"api": config.api_base} if config.api_base else None
    return stripe.StripeClient(config.secret_key, base_addresses=base,
                               max_network_retries=1)


def _call(what: str, fn, *args: Any, **kwargs: Any) -> dict:
    try:
        result = fn(*args, **kwargs)
    except stripe.StripeError as exc:
        log.warning("Stripe %s failed: %s", what, exc)
        detail = getattr(exc, "user_message", None) or "please try again in a few minutes"
        raise PaymentProviderError(f"The payment provider refused or could not be reached "
                                   f"({what}): {detail}") from exc
    return result.to_dict() if hasattr(result, "to_dict") else dict(result)


def create_checkout_session(config: BillingConfig, params: dict) -> dict:
    client = _client(config)
    return _call("checkout", client.v1.checkout.sessions.create, params=params)


def create_portal_session(config: BillingConfig, customer: str, return_url: str) -> dict:
    client = _client(config)
    return _call("customer portal", client.v1.billing_portal.sessions.create,
                 params={"customer": customer, "return_url": return_url})


def retrieve_subscription(config: BillingConfig, subscription_id: str) -> dict:
    client = _client(config)
    return _call("subscription", client.v1.subscriptions.retrieve, subscription_id)


def update_subscription(config: BillingConfig, subscription_id: str, params: dict) -> dict:
    client = _client(config)
    return _call("subscription change", client.v1.subscriptions.update, subscription_id,
                 params=params)


def find_subscription(config: BillingConfig, subscription_id: str) -> dict | None:
    """The subscription, or None when Stripe says there is no such one (a 4xx); Stripe
    being unreachable still raises, so the webhook fails and Stripe retries it later."""
    try:
        return retrieve_subscription(config, subscription_id)
    except PaymentProviderError as exc:
        if isinstance(exc.__cause__, stripe.InvalidRequestError):
            return None
        raise
