"""Web test fixtures."""

from __future__ import annotations

import pytest

from tests.web.helpers import use_cheap_password_hashing


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch):
    use_cheap_password_hashing(monkeypatch)
