"""Error pages: 403/404/405/413/500 as pages for people, JSON under /api."""

from __future__ import annotations

from saas import create_app
from saas.services.errors import Conflict
from tests.conftest import make_config
from tests.web.helpers import login


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Page not found" in html and 'href="/"' in html


def test_404_inside_a_tenant_offers_the_way_back(client, make_tenant):
    tenant = make_tenant()
    login(client, tenant)
    response = client.get(f"/t/{tenant.slug}/no-such-area/")
    assert response.status_code == 404
    assert f'href="/t/{tenant.slug}/"' in response.get_data(as_text=True)


def test_wrong_method_is_405(client):
    assert client.put("/signup").status_code == 405


def test_too_large_a_request_is_413(db_urls, app):
    small = create_app(make_config(db_urls, MAX_CONTENT_LENGTH=2000))
    response = small.test_client().post("/signup", data={"company": "x" * 5000})
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)


def test_unknown_api_path_answers_json(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.is_json


def test_an_uncaught_service_error_becomes_its_status(db_urls, app):
    fresh = create_app(make_config(db_urls))

    @fresh.get("/boom-conflict")
    def _boom():
        raise Conflict("This invitation has already been used.")

    response = fresh.test_client().get("/boom-conflict")
    assert response.status_code == 409
    assert "This invitation has already been used." in response.get_data(as_text=True)


def test_a_crash_is_a_500_page_not_a_traceback(db_urls, app):
    fresh = create_app(make_config(db_urls, PROPAGATE_EXCEPTIONS=False))

    @fresh.get("/boom")
    def _boom():
        raise RuntimeError("secret internals")

    response = fresh.test_client().get("/boom")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Something went wrong" in html and "secret internals" not in html
