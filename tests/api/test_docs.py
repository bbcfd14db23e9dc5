"""docs/api.md cannot drift from the API: every live endpoint has a heading, and every
heading is a live endpoint (the Datasette habit)."""

from __future__ import annotations

import re
from functools import cache

import pytest

from tests.conftest import ROOT

DOCS = ROOT / "docs" / "api.md"
HEADING = re.compile(r"^### ([A-Z]+) (/api/\S+)\s*$", re.MULTILINE)
METHODS = {"get", "post", "put", "patch", "delete"}


@cache
def live_endpoints() -> list[str]:
    """Endpoints of a throwaway app, read at collection time so each gets its own test."""
    from saas import create_app

    app = create_app({"DATABASE_URL": "sqlite://", "SAAS_ENV": "testing"})
    spec = app.test_client().get("/api/openapi.json").json
    return sorted(f"{method.upper()} {path}" for path, ops in spec["paths"].items()
                  for method in ops if method in METHODS)


@pytest.fixture(autouse=True)
def _clean_db():
    """Overrides the root wipe: these tests only read the spec and a file, and ~200 empty
    wipes cost over a minute on PostgreSQL."""
    yield


@pytest.fixture(scope="module")
def spec(app) -> dict:
    return app.test_client().get("/api/openapi.json").json


def documented() -> list[str]:
    return [f"{m} {p}" for m, p in HEADING.findall(DOCS.read_text(encoding="utf-8"))]


@pytest.mark.parametrize("endpoint", live_endpoints())
def test_endpoint_is_documented(endpoint):
    assert endpoint in documented(), f"add '### {endpoint}' to docs/api.md"


@pytest.mark.parametrize("endpoint", documented())
def test_documented_endpoint_exists(spec, endpoint):
    method, path = endpoint.split(" ", 1)
    assert method.lower() in spec["paths"].get(path, {}), \
        f"docs/api.md documents {endpoint}, which the API does not have"


def test_docs_headings_are_unique():
    assert len(documented()) == len(set(documented()))


def test_openapi_declares_bearer_security(spec):
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["security"] == [{"bearerAuth": []}]
    assert set(spec["components"]["schemas"]["Error"]["properties"]) == {
        "code", "message", "errors"}


def test_docs_page_is_served(client):
    r = client.get("/api/docs")
    assert r.status_code == 200
    assert b"openapi.json" in r.data


def test_openapi_names_each_operations_permission(spec):
    assert spec["paths"]["/api/v1/audit"]["get"]["x-permissions"] == ["audit.read"]
    assert spec["paths"]["/api/v1/staff/{staff_id}"]["patch"]["x-permissions"] == [
        "staff.manage"]
    assert "x-permissions" not in spec["paths"]["/api/v1/me"]["get"]
