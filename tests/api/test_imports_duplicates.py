"""Duplicates and merge API (and the export endpoint): pairs, merge, dismiss, isolation."""

from __future__ import annotations

import csv
import io
import uuid

import openpyxl
import pytest

API = "/api/v1"


@pytest.fixture
def owner(api_client):
    return api_client()


def make(c, **data):
    r = c.post(f"{API}/customers", json=data)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def test_pairs_are_listed_with_reasons_and_merge_moves_everything(owner):
    a = make(owner, name="Ann", phones=["13800138000"])
    b = make(owner, name="Ann Lee", phones=["+86 138 0013 8000"], emails=["ann@x.com"])
    r = owner.post(f"{API}/customers/{b}/interactions", json={
        "channel": "phone", "summary": "asked for a quote"})
    assert r.status_code == 201, r.get_json()
    items = owner.get(f"{API}/duplicates").get_json()["items"]
    assert len(items) == 1 and items[0]["reasons"] == ["same_phone"]
    assert items[0]["detail"] == ["+8613800138000"]
    r = owner.post(f"{API}/duplicates/merge", json={
        "survivor_id": a, "merged_id": b, "choices": {"name": "merged"}})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["moved"]["interactions.customer_id"] == 1
    survivor = owner.get(f"{API}/customers/{a}").get_json()
    assert survivor["name"] == "Ann Lee" and survivor["emails"] == ["ann@x.com"]
    assert owner.get(f"{API}/customers/{b}").get_json()["merged_into_id"] == a
    assert owner.get(f"{API}/duplicates").get_json()["items"] == []
    again = owner.post(f"{API}/duplicates/merge", json={"survivor_id": a, "merged_id": b})
    assert again.status_code == 409


def test_merge_input_errors(owner):
    a, b = make(owner, name="A"), make(owner, name="B")
    r = owner.post(f"{API}/duplicates/merge", json={"survivor_id": a, "merged_id": b,
                                                    "choices": {"name": "both"}})
    assert r.status_code == 422 and "choices" in str(r.get_json()["errors"])
    r = owner.post(f"{API}/duplicates/merge", json={"survivor_id": a, "merged_id": a})
    assert r.status_code == 422 and "merged_id" in r.get_json()["errors"]
    r = owner.post(f"{API}/duplicates/merge", json={"survivor_id": a})
    assert r.status_code == 422 and "merged_id" in r.get_json()["errors"]
    r = owner.get(f"{API}/duplicates?reason=vibes")
    assert r.status_code == 422 and "reason" in r.get_json()["errors"]


def test_other_tenants_customers_cannot_be_merged_or_dismissed(owner, api_client):
    mine = make(owner, name="Mine")
    stranger = api_client()
    theirs = make(stranger, name="Theirs")
    for body in ({"survivor_id": theirs, "merged_id": mine},
                 {"survivor_id": mine, "merged_id": theirs},
                 {"survivor_id": theirs, "merged_id": str(uuid.uuid4())}):
        assert stranger.post(f"{API}/duplicates/merge", json=body).status_code == 404
    r = stranger.post(f"{API}/duplicates/dismiss", json={"first_id": theirs,
                                                        "second_id": mine})
    assert r.status_code == 404
    assert owner.get(f"{API}/customers/{mine}").get_json()["merged_into_id"] is None


def test_dismissed_pair_disappears(owner):
    a = make(owner, name="A", emails=["x@x.com"])
    b = make(owner, name="B", emails=["X@x.com"])
    r = owner.post(f"{API}/duplicates/dismiss", json={"first_id": b, "second_id": a})
    assert r.status_code == 204
    assert owner.get(f"{API}/duplicates").get_json()["items"] == []


def test_roles_and_scopes(owner, api_client):
    a, b = make(owner, name="A"), make(owner, name="B")
    readonly = api_client(role="readonly", tenant=owner.tenant)
    assert readonly.get(f"{API}/duplicates").status_code == 200
    assert readonly.post(f"{API}/duplicates/merge",
                         json={"survivor_id": a, "merged_id": b}).status_code == 403
    reader = api_client(scope="read", tenant=owner.tenant)
    assert reader.post(f"{API}/duplicates/dismiss",
                       json={"first_id": a, "second_id": b}).status_code == 403


def test_export_streams_the_filtered_list_with_formulas_neutralised(owner):
    make(owner, name="=cmd|' /C calc'!A0", tags=["vip"], notes="+1 for them")
    make(owner, name="张三 🐼", tags=["vip"])
    make(owner, name="Not exported", tags=["other"])
    r = owner.get(f"{API}/exports/customers?tags=vip&sort=name")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    header = rows[0]
    names = [row[header.index("name")] for row in rows[1:]]
    assert names == ["'=cmd|' /C calc'!A0", "张三 🐼"]
    assert rows[1][header.index("notes")] == "'+1 for them"
    r = owner.get(f"{API}/exports/customers?format=xlsx&tags=vip")
    assert r.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(r.data), read_only=True).active
    cells = [row for row in sheet.iter_rows(values_only=True)]
    assert len(cells) == 3 and "'=cmd|' /C calc'!A0" in cells[1] + cells[2]


def test_export_bad_filter_or_format_is_422_and_readonly_can_export(owner, api_client):
    assert owner.get(f"{API}/exports/customers?colour=red").status_code == 422
    r = owner.get(f"{API}/exports/customers?format=pdf")
    assert r.status_code == 422 and "format" in r.get_json()["errors"]
    make(owner, name="Z")
    readonly = api_client(role="readonly", tenant=owner.tenant)
    assert readonly.get(f"{API}/exports/customers").status_code == 200
    stranger = api_client()
    body = stranger.get(f"{API}/exports/customers").get_data(as_text=True)
    assert "Z" not in body.splitlines()[1:]
    assert len(body.splitlines()) == 1
