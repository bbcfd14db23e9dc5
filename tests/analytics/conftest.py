"""The API tests here use the token-carrying client of the API tests."""

from tests.api.conftest import api_client  # noqa: F401
