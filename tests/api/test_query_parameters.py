"""Unknown query parameters are a 422 naming them, on every API endpoint that has a
query schema, exactly as unknown body fields are (a typo never silently widens a list)."""

from __future__ import annotations

import uuid

import pytest
from werkzeug.routing import UUIDConverter

from saas import create_app


def _query_endpoints() -> list[tuple[str, str]]:
    """(endpoint, URL) of every GET route under /api/v1 whose view parses the query string
    through a schema, read from the live URL map; path values are well-formed
    placeholders (parsing runs before the view looks anything up)."""
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://"})
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or "GET" not in rule.methods:
            continue
        view = app.view_functions[rule.endpoint]
        parameters = getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", [])
        if not any(p["in"] == "query" for p in parameters):
            continue
        values = {name: uuid.uuid4() if isinstance(conv, UUIDConverter) else "x"
                  for name, conv in rule._converters.items()}
        with app.test_request_context():
            url = app.url_for(rule.endpoint, **values)
        found.append((rule.endpoint, url))
    return sorted(found)


QUERY_ENDPOINTS = _query_endpoints()


def test_the_live_map_has_query_endpoints_to_check():
    endpoints = {e for e, _ in QUERY_ENDPOINTS}
    assert {"api_customers.list_customers", "api_audit.list_audit",
            "api_plugins.list_deliveries"} <= endpoints


@pytest.mark.parametrize(("endpoint", "url"), QUERY_ENDPOINTS,
                         ids=[e for e, _ in QUERY_ENDPOINTS])
def test_unknown_query_parameter_is_422_naming_it(api_client, endpoint, url):
    response = api_client().get(f"{url}?bogus=1")
    assert response.status_code == 422, (endpoint, response.json)
    assert response.json["code"] == "invalid"
    assert "bogus" in response.json["errors"]


def test_misspelt_filter_no_longer_returns_the_whole_list(api_client):
    api = api_client()
    assert api.get("/api/v1/customers?category=retail").status_code == 200
    response = api.get("/api/v1/customers?categroy=retail")
    assert response.status_code == 422
    assert list(response.json["errors"]) == ["categroy"]


def test_known_parameters_still_pass_and_bad_values_name_their_field(api_client):
    api = api_client()
    assert api.get("/api/v1/audit?limit=5").status_code == 200
    response = api.get("/api/v1/audit?limit=5&colour=red&limit_=1")
    assert response.status_code == 422
    assert sorted(response.json["errors"]) == ["colour", "limit_"]
    response = api.get("/api/v1/audit?limit=0&bogus=1")
    assert sorted(response.json["errors"]) == ["bogus", "limit"]


def test_customer_filters_on_custom_fields_and_consent_still_work(api_client):
    api = api_client()
    assert api.get("/api/v1/customers?consent.email=granted").status_code == 200
    response = api.get("/api/v1/customers?cf.nope=1")
    assert response.status_code == 422 and "cf.nope" in response.json["errors"]
