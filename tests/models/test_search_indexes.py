"""Under row-level security the search operators stay index-eligible (PostgreSQL):
without LEAKPROOF the planner may not use trigram/GIN indexes for the app role."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from saas.extensions import db

pytestmark = pytest.mark.postgres


def test_like_and_jsonb_containment_are_leakproof(app):
    with app.app_context():
        rows = dict(db.session.execute(text(
            "SELECT proname, proleakproof FROM pg_proc WHERE proname IN "
            "('texticlike', 'textlike', 'jsonb_contains')")).all())
    assert rows == {"texticlike": True, "textlike": True, "jsonb_contains": True}
