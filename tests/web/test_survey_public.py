"""The public survey page: answer once without login, field errors, refused links."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import select

from saas.extensions import db
from saas.models.base import utcnow
from saas.models.surveys import SurveyAnswer
from saas.services import customers, surveys


def _link(app, tenant):
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        s = surveys.create_survey(db.session, actor, {"name": "CSAT", "kind": "custom",
                                                     "questions": [
            {"id": "overall", "text": "Overall satisfaction", "kind": "csat"},
            {"id": "solved", "text": "Solved?", "kind": "single", "choices": ["yes", "no"],
             "dimension": "problem_solved"}]})
        c = customers.create_customer(db.session, actor, {"name": "Ann"})
        inv = surveys.invite(db.session, s.id, c.id)
        db.session.commit()
        path = inv.url.split("://", 1)[1].split("/", 1)[1]
        db.session.remove()
    return "/" + path


def test_a_customer_answers_once_without_login(app, client, make_tenant):
    tenant = make_tenant()
    path = _link(app, tenant)
    page = client.get(path)
    assert page.status_code == 200 and b"Overall satisfaction" in page.data
    done = client.post(path, data={"overall": "5", "solved": "yes"})
    assert done.status_code == 200 and b"survey-thanks" in done.data
    again = client.post(path, data={"overall": "1", "solved": "no"})
    assert again.status_code == 409 and b"already answered" in again.data
    assert client.get(path).status_code == 409
    with app.app_context():
        tenant.bind()
        answers = db.session.scalars(select(SurveyAnswer)).all()
        assert [(a.score, a.answers["solved"]) for a in answers] == [(5, "yes")]


def test_out_of_range_scores_are_shown_next_to_the_question(app, client, make_tenant):
    tenant = make_tenant()
    path = _link(app, tenant)
    resp = client.post(path, data={"overall": "9", "solved": "maybe"})
    assert resp.status_code == 422
    assert b"Choose a score from 1 to 5." in resp.data
    assert b"Choose one of the options." in resp.data
    assert client.post(path, data={"overall": "4", "solved": "no"}).status_code == 200


def test_forged_expired_and_foreign_links_are_clear_4xx_pages(app, client, make_tenant):
    tenant = make_tenant()
    path = _link(app, tenant)
    forged = client.get(path[:-3] + "abc")
    assert forged.status_code == 404 and b"not valid" in forged.data
    other = make_tenant()
    foreign = client.get(path.replace(f"/t/{tenant.slug}/", f"/t/{other.slug}/"))
    assert foreign.status_code == 404
    with time_machine.travel(utcnow() + timedelta(days=30)):
        expired = client.get(path)
    assert expired.status_code == 410 and b"expired" in expired.data
