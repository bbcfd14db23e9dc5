"""The import upload page takes files up to IMPORT_MAX_BYTES; above it the 413 page says
how large a file may be."""

from __future__ import annotations

import io

from tests.web.helpers import login


def upload(client, slug: str, data: bytes):
    return client.post(f"/t/{slug}/imports/", data={
        "entity": "customers", "file": (io.BytesIO(data), "big.csv")},
        content_type="multipart/form-data")


def big_csv(size: int) -> bytes:
    row = "客户 Customer,13800138000\n".encode()
    return b"name,phone\n" + row * (size // len(row))


def test_import_page_takes_a_file_above_the_general_limit(app, client, make_tenant,
                                                          monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 64 * 1024)
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 1024 * 1024)
    tenant = make_tenant()
    login(client, tenant)
    r = upload(client, tenant.slug, big_csv(200 * 1024))
    assert r.status_code == 303, r.get_data(as_text=True)[:300]


def test_a_file_over_the_import_limit_gets_a_page_stating_the_limit(app, client,
                                                                    make_tenant,
                                                                    monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 1024 * 1024)
    tenant = make_tenant()
    login(client, tenant)
    r = upload(client, tenant.slug, big_csv(2 * 1024 * 1024))
    assert r.status_code == 413
    assert "Files are limited to 1 MB here" in r.get_data(as_text=True)
