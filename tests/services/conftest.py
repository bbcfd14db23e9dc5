"""Fixtures shared by the service tests."""

from __future__ import annotations

import pytest

from saas.extensions import db


@pytest.fixture
def world(app, make_tenant):
    """A new tenant bound to the session, and its owner as the acting staff member.

    Test modules that need a richer world define their own `world`, which wins."""
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        yield tenant, tenant.owner_actor()
        db.session.rollback()
        db.session.remove()
