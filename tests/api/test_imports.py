"""Import API: upload → mapping → preview → start → progress → error report."""

from __future__ import annotations

import csv
import io
import uuid

import pytest

API = "/api/v1"
CSV = ("Name,Mobile,Email,VIP\n"
       "Ann,13800138000,ann@x.com,yes\n"
       "Bob,12345,bob@x.com,no\n"
       "Cat,,=HYPERLINK(\"http://evil\"),no\n"
       "Dan 🐉,13900139000,,maybe\n")


@pytest.fixture
def owner(api_client):
    return api_client()


def upload(c, content: bytes | str = CSV, entity="customers", name="people.csv"):
    data = content.encode() if isinstance(content, str) else content
    return c.post(f"{API}/imports", data={"entity": entity,
                                         "file": (io.BytesIO(data), name)},
                  content_type="multipart/form-data")


def define_vip(c):
    r = c.post(f"{API}/custom-fields", json={"key": "vip", "label": "VIP",
                                             "type": "boolean"})
    assert r.status_code == 201, r.get_json()


def test_full_flow_keeps_good_rows_and_reports_bad_ones(owner):
    define_vip(owner)
    r = upload(owner)
    assert r.status_code == 201, r.get_json()
    job = r.get_json()
    assert job["columns"] == ["Name", "Mobile", "Email", "VIP"]
    assert job["mapping"] == {"Name": "name", "Mobile": "phones", "Email": "emails",
                              "VIP": "cf.vip"}
    assert "cf.vip" in job["targets"] and job["total_rows"] == 4
    jid = job["id"]
    r = owner.put(f"{API}/imports/{jid}/mapping", json={"mapping": job["mapping"]})
    assert r.status_code == 200
    r = owner.post(f"{API}/imports/{jid}/preview?limit=2")
    assert [(x["row"], x["status"]) for x in r.get_json()["rows"]] == [
        (2, "created"), (3, "error")]
    r = owner.post(f"{API}/imports/{jid}/start")
    assert r.status_code == 202
    done = owner.get(f"{API}/imports/{jid}").get_json()
    assert done["status"] == "done" and done["progress"] == 100
    assert (done["created_count"], done["error_count"]) == (1, 3)
    r = owner.get(f"{API}/imports/{jid}/errors")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows == [
        ["row", "column", "value", "message"],
        ["3", "Mobile", "12345", "'12345' is not a valid phone number."],
        ["4", "Email", "'=HYPERLINK(\"http://evil\")",
         "'=HYPERLINK(\"http://evil\")' is not a valid email address."],
        ["5", "VIP", "maybe", "Enter true or false."]]
    names = [c["name"] for c in owner.get(f"{API}/customers").get_json()["items"]]
    assert names == ["Ann"]


def test_upload_errors_name_the_field(owner):
    r = upload(owner, "")
    assert r.status_code == 422 and "file" in r.get_json()["errors"]
    r = upload(owner, "a@b.com,x\n")
    assert r.status_code == 422
    assert "header" in r.get_json()["errors"]["file"][0]
    r = upload(owner, entity="tickets")
    assert r.status_code == 422 and "entity" in r.get_json()["errors"]
    r = owner.post(f"{API}/imports", data={"entity": "customers"},
                   content_type="multipart/form-data")
    assert r.status_code == 422 and "file" in r.get_json()["errors"]


def test_a_file_over_the_import_limit_is_refused_before_it_is_read(owner, tmp_path):
    big = tmp_path / "big.csv"
    with big.open("wb") as f:
        f.truncate(129 * 1024 * 1024)  # over IMPORT_MAX_BYTES
    with big.open("rb") as body:
        r = owner.post(f"{API}/imports", input_stream=body, headers={
            "Content-Type": "multipart/form-data; boundary=x"})
        assert body.tell() == 0, "nothing of the body was read"
    assert r.status_code == 413
    assert r.get_json()["message"] == "The request body is larger than 128 MB."


def test_bad_mapping_is_422_per_column_and_start_needs_nothing_else(owner):
    jid = upload(owner).get_json()["id"]
    r = owner.put(f"{API}/imports/{jid}/mapping",
                  json={"mapping": {"Mobile": "phones", "VIP": "cf.nope", "Ghost": "name"}})
    assert r.status_code == 422
    assert r.get_json()["errors"] == {
        "mapping.VIP": ["Unknown custom field."],
        "mapping.Ghost": ["The file has no such column."],
        "mapping.name": ["Map a column to name."]}
    r = owner.put(f"{API}/imports/{jid}/mapping", json={"map": {}})
    assert r.status_code == 422 and "map" in r.get_json()["errors"]


def test_started_import_cannot_start_again(owner):
    jid = upload(owner, "name\nA\n").get_json()["id"]
    assert owner.post(f"{API}/imports/{jid}/start").status_code == 202
    assert owner.post(f"{API}/imports/{jid}/start").status_code == 409
    listed = owner.get(f"{API}/imports").get_json()["items"]
    assert [j["id"] for j in listed] == [jid]


def test_other_tenants_import_is_404_everywhere(owner, api_client):
    jid = upload(owner).get_json()["id"]
    stranger = api_client()
    assert stranger.get(f"{API}/imports/{jid}").status_code == 404
    assert stranger.put(f"{API}/imports/{jid}/mapping",
                        json={"mapping": {"Name": "name"}}).status_code == 404
    assert stranger.post(f"{API}/imports/{jid}/preview").status_code == 404
    assert stranger.post(f"{API}/imports/{jid}/start").status_code == 404
    assert stranger.get(f"{API}/imports/{jid}/errors").status_code == 404
    assert stranger.get(f"{API}/imports/{uuid.uuid4()}").status_code == 404
    assert stranger.get(f"{API}/imports").get_json()["items"] == []


def test_readonly_role_and_read_token_cannot_import(owner, api_client):
    readonly = api_client(role="readonly", tenant=owner.tenant)
    assert upload(readonly).status_code == 403
    reader = api_client(scope="read", tenant=owner.tenant)
    assert upload(reader).status_code == 403
