"""In a real browser: import a CSV with bad rows, download the error report, open the
imported customer's 360 page and log a call."""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import log_in, open_menu

CSV = ("姓名,手机,邮箱,备注\n"
       "王芳 🌸,138 0013 8000,wangfang@example.cn,\"likes \"\"green\"\" tea\nand calls\"\n"
       "Bad Phone,12345,bad@example.cn,\n"
       "Bad Email,13900139000,not-an-email,\n")


@pytest.mark.browser
def test_import_with_bad_rows_then_log_a_call(page, live_server, make_tenant, tmp_path):
    tenant = make_tenant()
    log_in(page, tenant)
    open_menu(page, "Import")

    page.get_by_label("What the file holds").select_option("customers")
    page.get_by_label("CSV or XLSX file").set_input_files(files=[{
        "name": "people.csv", "mimeType": "text/csv", "buffer": CSV.encode("utf-8")}])
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("heading", name="Map the columns")).to_be_visible()
    expect(page.get_by_label("手机")).to_have_value("phones")

    page.get_by_role("button", name="Preview (dry run)").click()
    preview = page.locator("#preview")
    expect(preview).to_contain_text("'12345' is not a valid phone number.")
    expect(preview.locator("tr.preview-created")).to_have_count(1)

    page.get_by_role("button", name="Start import").click()
    expect(page.locator("#import-status")).to_have_text("Done")
    expect(page.locator('[data-count="created"]')).to_have_text("1")
    expect(page.locator('[data-count="errors"]')).to_have_text("2")

    with page.expect_download() as info:
        page.locator("#error-report").click()
    path = tmp_path / "errors.csv"
    info.value.save_as(path)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert rows == [["row", "column", "value", "message"],
                    ["3", "手机", "12345", "'12345' is not a valid phone number."],
                    ["4", "邮箱", "not-an-email",
                     "'not-an-email' is not a valid email address."]]

    open_menu(page, "Customers")
    page.get_by_role("link", name="王芳 🌸").click()
    expect(page).to_have_url(re.compile(r"/customers/[0-9a-f-]{36}$"))
    log = page.locator("#log-interaction")
    log.get_by_label("Channel").select_option("phone")
    log.get_by_label("Summary").fill("Called about the imported order history")
    log.get_by_role("button", name="Log it").click()
    expect(page.locator(".alert-success")).to_contain_text("Interaction logged.")
    expect(page.locator(".timeline")).to_contain_text("Called about the imported order history")
