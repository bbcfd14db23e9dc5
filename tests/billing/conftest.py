"""Billing switched on for a test: Stripe keys, prices and a fake Stripe on 127.0.0.1."""

from __future__ import annotations

import pytest

from tests.billing.fake_stripe import FakeStripe
from tests.billing.support import API_KEY, PRICES, WEBHOOK_SECRET


@pytest.fixture(scope="session")
def fake_stripe():
    server = FakeStripe(API_KEY).start()
    yield server
    server.stop()


@pytest.fixture
def billing_on(app, fake_stripe, monkeypatch):
    """The session app with billing enabled (settings restored after the test)."""
    fake_stripe.requests.clear()
    fake_stripe.subscriptions.clear()
    for name, value in {"STRIPE_SECRET_KEY": API_KEY, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
                        "STRIPE_API_BASE": fake_stripe.base,
                        "STRIPE_PRICE_PRO": PRICES["pro"],
                        "STRIPE_PRICE_ENTERPRISE": PRICES["enterprise"],
                        "BILLING_GRACE_DAYS": 7}.items():
        monkeypatch.setitem(app.config, name, value)
    return fake_stripe
