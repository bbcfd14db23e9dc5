"""Import, export and duplicates pages: the staff UI over the same services."""

from __future__ import annotations

import io
import re

from saas.extensions import db
from saas.services import customers as customer_service
from tests.web.helpers import login, login_as

CSV = "姓名,手机,邮箱\n王芳,13800138000,wf@x.cn\n李雷,123,ll@x.cn\n"


def upload(client, tenant, text=CSV, entity="customers", name="people.csv"):
    return client.post(f"/t/{tenant.slug}/imports/", data={
        "entity": entity, "file": (io.BytesIO(text.encode()), name)},
        content_type="multipart/form-data")


def make_customer(app, tenant, **data):
    with app.app_context():
        tenant.bind()
        c = customer_service.create_customer(db.session, tenant.owner_actor(), data)
        db.session.commit()
        cid = c.id
        db.session.remove()
    return cid


def test_upload_map_preview_start_and_download_errors(app, client, make_tenant):
    tenant = make_tenant()
    login(client, tenant)
    r = upload(client, tenant)
    assert r.status_code == 303
    page = r.headers["Location"]
    html = client.get(page).get_data(as_text=True)
    assert "Map the columns" in html and 'value="phones" selected' in html
    form = {"map-0": "name", "map-1": "phones", "map-2": "emails"}
    html = client.post(page, data={**form, "action": "preview"}).get_data(as_text=True)
    assert "Preview of the first rows" in html and "is not a valid phone number" in html
    r = client.post(page, data={**form, "action": "start"})
    assert r.status_code == 303
    html = client.get(page).get_data(as_text=True)
    assert 'id="import-progress"' in html and 'value="100"' in html
    progress = client.get(page + "/progress").get_json()
    assert (progress["status"], progress["created"], progress["errors"]) == ("done", 1, 1)
    report = client.get(page + "/errors.csv")
    assert report.status_code == 200 and report.mimetype == "text/csv"
    assert "3,手机,123,'123' is not a valid phone number." in report.get_data(as_text=True)
    listing = client.get(f"/t/{tenant.slug}/imports/").get_data(as_text=True)
    assert "people.csv" in listing


def test_bad_file_and_bad_mapping_are_shown_not_crashed(app, client, make_tenant):
    tenant = make_tenant()
    login(client, tenant)
    r = upload(client, tenant, text="")
    assert r.status_code == 422 and "The file is empty" in r.get_data(as_text=True)
    r = client.post(f"/t/{tenant.slug}/imports/", data={"entity": "customers"},
                    content_type="multipart/form-data")
    assert r.status_code == 422
    page = upload(client, tenant).headers["Location"]
    r = client.post(page, data={"map-1": "phones", "action": "start"})
    assert r.status_code == 422 and "Map a column to name." in r.get_data(as_text=True)


def test_readonly_staff_cannot_import_and_other_tenants_import_is_404(app, client,
                                                                      make_tenant):
    tenant = make_tenant()
    login(client, tenant)
    page = upload(client, tenant).headers["Location"]
    job_id = page.rstrip("/").rsplit("/", 1)[1]
    other = make_tenant()
    other_client = app.test_client()
    login(other_client, other)
    assert other_client.get(f"/t/{other.slug}/imports/{job_id}").status_code == 404
    assert other_client.get(f"/t/{other.slug}/imports/{job_id}/errors.csv").status_code == 404
    reader = app.test_client()
    login_as(app, reader, tenant, "readonly")
    assert reader.get(f"/t/{tenant.slug}/imports/").status_code == 403
    assert upload(reader, tenant).status_code == 403


def test_export_uses_the_list_filter(app, client, make_tenant):
    tenant = make_tenant()
    make_customer(app, tenant, name="@SUM(A1)", tags=["vip"])
    make_customer(app, tenant, name="Plain", tags=["other"])
    login(client, tenant)
    r = client.get(f"/t/{tenant.slug}/imports/export?tags=vip&format=csv")
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert "'@SUM(A1)" in body and "Plain" not in body
    r = client.get(f"/t/{tenant.slug}/imports/export?colour=red")
    assert r.status_code == 303


def test_duplicates_queue_compare_and_merge(app, client, make_tenant):
    tenant = make_tenant()
    a = make_customer(app, tenant, name="Zhou", phones=["13800138000"], industry="Tea")
    b = make_customer(app, tenant, name="Zhou Jie", phones=["+86 13800138000"],
                      address="1 Road")
    login(client, tenant)
    html = client.get(f"/t/{tenant.slug}/duplicates/").get_data(as_text=True)
    assert "Same phone" in html and "+8613800138000" in html
    html = client.get(f"/t/{tenant.slug}/duplicates/compare?survivor={a}&merged={b}") \
        .get_data(as_text=True)
    assert re.search(r'name="choice-address" value="merged" checked', html)
    r = client.post(f"/t/{tenant.slug}/duplicates/merge", data={
        "survivor": str(a), "merged": str(b), "choice-name": "merged"})
    assert r.status_code == 303 and str(a) in r.headers["Location"]
    with app.app_context():
        tenant.bind()
        kept = customer_service.get_customer(db.session, a)
        assert (kept.name, kept.address, kept.industry) == ("Zhou Jie", "1 Road", "Tea")
        assert customer_service.get_customer(db.session, b).merged_into_id == a
        db.session.remove()
    html = client.get(f"/t/{tenant.slug}/duplicates/").get_data(as_text=True)
    assert "No likely duplicates found." in html


def test_dismiss_and_cross_tenant_compare(app, client, make_tenant):
    tenant = make_tenant()
    a = make_customer(app, tenant, name="A", emails=["s@x.com"])
    b = make_customer(app, tenant, name="B", emails=["S@x.com"])
    login(client, tenant)
    r = client.post(f"/t/{tenant.slug}/duplicates/dismiss",
                    data={"survivor": str(a), "merged": str(b)})
    assert r.status_code == 303
    assert "No likely duplicates" in client.get(f"/t/{tenant.slug}/duplicates/") \
        .get_data(as_text=True)
    other = make_tenant()
    c = make_customer(app, other, name="C")
    assert client.get(f"/t/{tenant.slug}/duplicates/compare?survivor={a}&merged={c}") \
        .status_code == 404
    assert client.post(f"/t/{tenant.slug}/duplicates/merge",
                       data={"survivor": str(a), "merged": str(c)}).status_code == 404


def test_customer_list_links_to_the_export_of_its_filter(app, client, make_tenant):
    tenant = make_tenant()
    make_customer(app, tenant, name="Kept", tags=["vip"])
    make_customer(app, tenant, name="Other")
    login(client, tenant)
    html = client.get(f"/t/{tenant.slug}/customers/?tags=vip").get_data(as_text=True)
    link = re.search(r'href="([^"]*/imports/export[^"]*)"', html).group(1).replace("&amp;", "&")
    assert "tags=vip" in link and "format=csv" in link
    body = client.get(link).get_data(as_text=True)
    assert "Kept" in body and "Other" not in body


def test_a_file_over_the_import_limit_gets_a_413_page_stating_it(app, client, make_tenant,
                                                                 tmp_path):
    tenant = make_tenant()
    login(client, tenant)
    big = tmp_path / "big.csv"
    with big.open("wb") as f:
        f.truncate(129 * 1024 * 1024)  # over IMPORT_MAX_BYTES
    with big.open("rb") as body:
        r = client.post(f"/t/{tenant.slug}/imports/", input_stream=body, headers={
            "Content-Type": "multipart/form-data; boundary=x"})
        assert body.tell() == 0
    assert r.status_code == 413
    assert "Files are limited to 128 MB here." in r.get_data(as_text=True)
