"""Consent columns in a customer import: each grant or withdrawal lands in the consent
history with source "import"; a word that is neither is an error of that row."""

from __future__ import annotations

from sqlalchemy import select

from saas.extensions import db
from saas.models.customers import Customer
from saas.services import consent
from tests.services.test_imports import report, run

CSV = ("Name,Email,Email consent,短信同意\n"
       "Ann,ann@example.com,yes,退订\n"
       "Bob,bob@example.com,opt-out,\n"
       "Cat,cat@example.com,maybe,同意\n")


def by_name(name: str) -> Customer:
    return db.session.scalars(select(Customer).where(Customer.name == name)).one()


def test_consent_columns_are_suggested_and_imported_with_history(world):
    _t, actor = world
    job = run(actor, CSV)
    assert job.mapping["Email consent"] == "consent.email"
    assert job.mapping["短信同意"] == "consent.sms"
    ann, bob = by_name("Ann"), by_name("Bob")
    assert consent.current_status(db.session, ann, "email") == "granted"
    assert consent.current_status(db.session, ann, "sms") == "withdrawn"
    assert consent.current_status(db.session, bob, "email") == "withdrawn"
    events = consent.history(db.session, ann.id)
    assert sorted((e.channel, e.status, e.source) for e in events) == [
        ("email", "granted", "import"), ("sms", "withdrawn", "import")]


def test_a_word_that_is_not_consent_fails_its_row_naming_the_column(world):
    _t, actor = world
    job = run(actor, CSV)
    assert [r[:3] for r in report(job)] == [["4", "Email consent", "maybe"]]
    assert db.session.scalars(select(Customer).where(Customer.name == "Cat")).first() is None


def test_reimporting_the_same_consent_adds_no_history(world):
    _t, actor = world
    run(actor, CSV)
    before = len(consent.history(db.session, by_name("Ann").id))
    job = run(actor, CSV)
    assert job.updated_count + job.skipped_count >= 2
    assert len(consent.history(db.session, by_name("Ann").id)) == before
