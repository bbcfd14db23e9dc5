"""Import files may be larger than other request bodies (IMPORT_MAX_BYTES), and a file
over the limit gets a 413 that states it."""

from __future__ import annotations

import io

import pytest

API = "/api/v1"


@pytest.fixture
def small_limits(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 64 * 1024)
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 512 * 1024)


def csv_of(size: int) -> bytes:
    row = b"Customer with a long enough name,13800138000\n"
    return b"name,phone\n" + row * (size // len(row))


def upload(c, data: bytes):
    return c.post(f"{API}/imports", data={"entity": "customers",
                                          "file": (io.BytesIO(data), "big.csv")},
                  content_type="multipart/form-data")


def test_an_import_file_above_the_general_limit_is_accepted(api_client, small_limits):
    owner = api_client()
    r = upload(owner, csv_of(300 * 1024))
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["total_rows"] > 6000


def test_an_import_file_above_the_import_limit_is_413_naming_the_limit(api_client,
                                                                       small_limits):
    owner = api_client()
    r = upload(owner, csv_of(600 * 1024))
    assert r.status_code == 413
    assert r.get_json()["message"] == "The request body is larger than 0.5 MB."


def test_other_endpoints_keep_the_general_limit(api_client, small_limits):
    owner = api_client()
    r = owner.post(f"{API}/customers", json={"name": "x" * 100, "notes": "n" * 100 * 1024})
    assert r.status_code == 413
    assert r.get_json()["message"] == "The request body is larger than 0.1 MB."
