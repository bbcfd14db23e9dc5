"""In a real browser, on a phone-sized screen: a customer opens a survey link, gets a
field error for a missing answer, answers, sees the thank-you page, and cannot answer
twice."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from saas.extensions import db
from saas.models.surveys import SurveyAnswer
from saas.services import customers, surveys


@pytest.mark.browser
def test_customer_answers_a_survey_on_the_public_page(page, live_server, make_tenant, app):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        s = surveys.create_survey(db.session, actor, {"name": "After your visit",
                                                     "kind": "custom", "questions": [
            {"id": "nps", "text": "Would you recommend us?", "kind": "nps"},
            {"id": "solved", "text": "Was your problem solved?", "kind": "single",
             "choices": ["yes", "partly", "no"], "dimension": "problem_solved"},
            {"id": "note", "text": "Anything else?", "kind": "text", "required": False}]})
        c = customers.create_customer(db.session, actor, {"name": "Mia"})
        path = "/" + surveys.invite(db.session, s.id, c.id).url.split("://", 1)[1].split(
            "/", 1)[1]
        db.session.commit()
        db.session.remove()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(path)
    expect(page.get_by_role("heading", name="After your visit")).to_be_visible()
    page.locator("#q-nps").get_by_text("9", exact=True).click()
    page.get_by_role("button", name="Send my answers").click()
    expect(page.locator("#q-solved")).to_contain_text("Please answer this question.")
    page.get_by_label("partly").check()
    page.locator("textarea[name=note]").fill("Friendly staff")
    page.get_by_role("button", name="Send my answers").click()
    expect(page.locator("#survey-thanks")).to_contain_text("Thank you for your feedback!")
    page.goto(path)
    expect(page.locator("#survey-error")).to_contain_text("already answered")
    with app.app_context():
        tenant.bind()
        answers = db.session.scalars(select(SurveyAnswer)).all()
        assert [(a.score, a.answers) for a in answers] == [
            (9, {"nps": 9, "solved": "partly", "note": "Friendly staff"})]
        db.session.remove()
