"""Customer import: mapping, dry run, per-row errors, upsert on re-import, bad files.

Runs the Python path on SQLite and the COPY fast path on PostgreSQL; both must agree.
"""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from saas.extensions import db
from saas.models import AuditEntry
from saas.models.customers import Customer, CustomerLookup
from saas.models.imports import ImportJob, ImportMapping
from saas.services import custom_fields, imports
from saas.services import customers as customer_service
from saas.services.errors import Conflict, InvalidInput, NotFound
from saas.services.identifiers import lookup_value


def run(actor, text: str | bytes, mapping=None, entity="customers", filename="c.csv"):
    data = text.encode("utf-8") if isinstance(text, str) else text
    job = imports.upload(db.session, actor, entity, filename, io.BytesIO(data))
    if mapping is not None:
        imports.set_mapping(db.session, actor, job.id, mapping)
    db.session.commit()
    for _ in imports.process(db.session, actor, job.id):
        db.session.commit()
    return imports.get_job(db.session, job.id)


def report(job) -> list[list[str]]:
    import csv

    text = "".join(imports.error_report(db.session, job.id)).lstrip("\ufeff")
    return list(csv.reader(io.StringIO(text)))[1:]


def names() -> list[str]:
    return sorted(db.session.scalars(select(Customer.name)))


def test_upload_reads_header_counts_rows_and_suggests_a_mapping(world):
    _t, actor = world
    job = imports.upload(db.session, actor, "customers", "c.csv", io.BytesIO(
        "姓名,手机,Email,Notes\nA,13800138000,a@x.com,n\n\n,,,\nB,,,\n".encode()))
    assert job.columns == ["姓名", "手机", "Email", "Notes"]
    assert job.total_rows == 2
    assert job.mapping == {"姓名": "name", "手机": "phones", "Email": "emails",
                           "Notes": "notes"}


def test_good_rows_are_kept_and_bad_rows_reported_by_row_column_and_value(world):
    _t, actor = world
    job = run(actor, "name,phone,email\n"
                     "Ann,13800138000,ann@example.com\n"
                     "Bob,12345,bob@example.com\n"
                     "Cat,13900139000,not-an-email\n"
                     "Dan,,dan@example.com\n")
    assert job.status == "done"
    assert (job.created_count, job.error_count) == (2, 2)
    assert names() == ["Ann", "Dan"]
    assert report(job) == [
        ["3", "phone", "12345", "'12345' is not a valid phone number."],
        ["4", "email", "not-an-email", "'not-an-email' is not a valid email address."]]


def test_reimport_updates_by_email_phone_and_external_id_instead_of_duplicating(world):
    _t, actor = world
    run(actor, "name,phone,email,external_id\nAnn,13800138000,ann@x.com,\n"
               "Bob,13900139000,,\nCat,,,C-1\n")
    job = run(actor, "name,phone,email,external_id\nAnn Li,,ANN@X.COM,\n"
                     "Bob Wu,139 0013 9000,,\nCat Ma,,,C-1\nDee,,dee@x.com,\n")
    assert (job.created_count, job.updated_count, job.error_count) == (1, 3, 0)
    assert names() == ["Ann Li", "Bob Wu", "Cat Ma", "Dee"]
    ann = customer_service.find_by_email(db.session, "ann@x.com")[0]
    assert ann.phones == ["+8613800138000"], "an empty cell must not blank a stored value"


def test_custom_fields_are_validated_and_unknown_ones_refused_in_the_mapping(world):
    _t, actor = world
    custom_fields.create_definition(db.session, actor, "score", "Score", "number")
    db.session.commit()
    job = run(actor, "name,score\nAnn,12\nBob,lots\n",
              mapping={"name": "name", "score": "cf.score"})
    assert (job.created_count, job.error_count) == (1, 1)
    assert report(job) == [["3", "score", "lots", "Enter a number."]]
    ann = db.session.scalars(select(Customer).where(Customer.name == "Ann")).one()
    assert ann.custom_fields == {"score": 12}
    bad = imports.upload(db.session, actor, "customers", "c.csv",
                         io.BytesIO(b"name,tier\nA,gold\n"))
    with pytest.raises(InvalidInput) as exc:
        imports.set_mapping(db.session, actor, bad.id, {"name": "name", "tier": "cf.tier"})
    assert exc.value.errors == {"mapping.tier": ["Unknown custom field."]}


def test_gbk_and_utf8_bom_files_are_both_read(world):
    _t, actor = world
    gbk = run(actor, "姓名,手机\n张伟,13800138000\n".encode("gbk"))
    bom = run(actor, "\ufeff姓名,邮箱\n李娜,li@x.com\n".encode())
    assert gbk.encoding == "gb18030" and bom.encoding == "utf-8-sig"
    assert (gbk.created_count, bom.created_count) == (1, 1)
    assert names() == ["张伟", "李娜"]


def test_quotes_newlines_emoji_and_cjk_survive(world):
    _t, actor = world
    run(actor, 'name,notes\n"王 ""小"" 明 🎉","line one\nline two, with comma"\n')
    c = db.session.scalars(select(Customer)).one()
    assert c.name == '王 "小" 明 🎉'
    assert c.notes == "line one\nline two, with comma"


def test_duplicate_rows_in_one_file_are_reported_and_imported_once(world):
    _t, actor = world
    job = run(actor, "name,email\nAnn,ann@x.com\nBob,bob@x.com\nAnn,ann@x.com\n"
                     "Ann Other,ANN@x.com\n")
    assert names() == ["Ann", "Bob"]
    assert (job.created_count, job.skipped_count, job.error_count) == (2, 1, 1)
    assert report(job) == [
        ["4", "", "", "Same as row 2; skipped."],
        ["5", "email", "ANN@x.com", "Row 2 of this file has the same value; only that row "
                                    "was imported."]]


def test_a_row_wider_than_the_header_is_reported_alone(world):
    _t, actor = world
    job = run(actor, "name,email\nAnn,a@x.com\nBob,b@x.com,surprise\n")
    assert names() == ["Ann"]
    assert report(job) == [["3", "", "surprise",
                            "This row has more cells than the header has columns (2)."]]


@pytest.mark.parametrize(("content", "message"), [
    (b"", "The file is empty: the first row must name the columns."),
    (b"13800138000,ann@x.com\n", "The first row looks like data ('13800138000'), not "
                                 "column names: add a header row."),
    (b"name,,email\nA,,a@x.com\n", "Column 2 has no name in the header row."),
    (b"name,Name\nA,B\n", "Column names must be unique: 'Name' appears twice."),
    (b"\x89PNG\r\n\x1a\n\x00\x00binary", "This does not look like a text CSV file."),
])
def test_unreadable_files_are_refused_with_a_precise_message(world, content, message):
    _t, actor = world
    with pytest.raises(InvalidInput) as exc:
        imports.upload(db.session, actor, "customers", "c.csv", io.BytesIO(content))
    assert exc.value.errors == {"file": [message]}


def test_a_fake_xlsx_is_refused(world):
    _t, actor = world
    with pytest.raises(InvalidInput) as exc:
        imports.upload(db.session, actor, "customers", "c.xlsx", io.BytesIO(b"PK\x03\x04junk"))
    assert exc.value.errors == {"file": ["This is not a valid XLSX file."]}


def test_xlsx_numbers_dates_and_text_are_imported(world):
    import openpyxl

    _t, actor = world
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Name", "Phone", "Birthday"])
    sheet.append(["周杰", 13800138000, __import__("datetime").datetime(1990, 5, 17)])
    out = io.BytesIO()
    book.save(out)
    job = run(actor, out.getvalue(), filename="c.xlsx")
    assert job.file_format == "xlsx" and job.created_count == 1
    c = db.session.scalars(select(Customer)).one()
    assert (c.name, c.phones, str(c.birthday)) == ("周杰", ["+8613800138000"], "1990-05-17")


def test_mapping_is_checked_and_saved_for_the_next_upload(world):
    _t, actor = world
    job = imports.upload(db.session, actor, "customers", "c.csv",
                         io.BytesIO(b"Full,Mob,Extra\nA,13800138000,x\n"))
    with pytest.raises(InvalidInput) as exc:
        imports.set_mapping(db.session, actor, job.id, {"Mob": "phones", "Extra": "nope"})
    assert exc.value.errors == {"mapping.Extra": ["Unknown field for this import."],
                                "mapping.name": ["Map a column to name."]}
    imports.set_mapping(db.session, actor, job.id, {"Full": "name", "Mob": "phones",
                                                    "Extra": ""})
    db.session.commit()
    assert db.session.scalars(select(ImportMapping)).one().mapping == {
        "Full": "name", "Mob": "phones"}
    again = imports.upload(db.session, actor, "customers", "d.csv",
                           io.BytesIO(b"Full,Mob\nB,13900139000\n"))
    assert again.mapping == {"Full": "name", "Mob": "phones"}


def test_preview_shows_each_rows_outcome_and_writes_nothing(world):
    _t, actor = world
    run(actor, "name,email\nAnn,ann@x.com\n")
    job = imports.upload(db.session, actor, "customers", "c.csv", io.BytesIO(
        b"name,email\nAnn B,ann@x.com\nBob,bob@x.com\nCat,bad\n"))
    db.session.commit()
    result = imports.preview(db.session, actor, job.id)
    assert [(r["row"], r["status"]) for r in result["rows"]] == [
        (2, "updated"), (3, "created"), (4, "error")]
    assert result["rows"][2]["errors"] == [{"column": "email", "value": "bad", "message":
                                            "'bad' is not a valid email address."}]
    db.session.commit()
    assert names() == ["Ann"]
    assert imports.get_job(db.session, job.id).status == "uploaded"


def test_started_import_cannot_be_remapped_and_rerun_does_nothing(world):
    _t, actor = world
    job = run(actor, "name\nAnn\n")
    with pytest.raises(Conflict):
        imports.set_mapping(db.session, actor, job.id, {"name": "name"})
    assert list(imports.process(db.session, actor, job.id)) == []
    assert names() == ["Ann"]


def test_lookups_and_audit_follow_the_import(world):
    _t, actor = world
    run(actor, "name,phone,email\nAnn,13800138000,a@x.com\n")
    run(actor, "name,phone\nAnn,13900139000\n")
    values = sorted(db.session.scalars(select(CustomerLookup.value)))
    assert values == sorted(lookup_value(v) for v in ("+8613800138000", "+8613900139000",
                                                      "a@x.com"))
    assert names() == ["Ann", "Ann"], "a row with no known key is a new customer"
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"import.uploaded", "import.finished"} <= actions


def test_plan_limit_imports_up_to_the_limit_and_refuses_the_rest(world, monkeypatch):
    _t, actor = world
    monkeypatch.setattr("saas.services.limits.headroom", lambda *a, **k: 2)
    job = run(actor, "name\nA\nB\nC\nD\n")
    assert (job.created_count, job.error_count) == (2, 2)
    assert [r[0] for r in report(job)] == ["4", "5"]
    assert db.session.scalar(select(func.count()).select_from(Customer)) == 2


def test_another_tenants_import_is_not_found(world, make_tenant, app):
    _t, actor = world
    job_id = imports.upload(db.session, actor, "customers", "c.csv",
                            io.BytesIO(b"name\nA\n")).id
    db.session.commit()
    other = make_tenant()
    other.bind()
    with pytest.raises(NotFound):
        imports.get_job(db.session, job_id)
    with pytest.raises(NotFound):
        imports.preview(db.session, other.owner_actor(), job_id)
    assert db.session.scalar(select(func.count()).select_from(ImportJob)) == 0


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.from_regex(r"\A(\+86)?1[0-9]{10}\Z"),
    st.from_regex(r"\A[+0-9 ()-]{0,16}\Z"),
    st.text(max_size=20)))
def test_the_import_phone_shortcut_agrees_with_the_customer_service(raw):
    from saas.services.identifiers import normalise_phone
    from saas.services.import_copy import fast_phone

    assert fast_phone(raw) == normalise_phone(raw)
