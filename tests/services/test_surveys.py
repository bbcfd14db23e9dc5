"""Surveys: NPS/CSAT arithmetic, signed one-time links, field errors, follow-ups."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from saas.extensions import db
from saas.models import OutboxEvent
from saas.models.base import utcnow
from saas.services import customers, survey_results, surveys
from saas.services.errors import InvalidInput, NotFound


@pytest.mark.parametrize(("scores", "expected"), [
    ([10, 9, 8, 7, 6, 0], 0.0),          # 2 promoters, 2 detractors of 6
    ([10, 10, 10, 3], 50.0),             # 75% − 25%
    ([6, 5, 0], -100.0),
    ([9, 8], 50.0),
    ([], None),
])
def test_nps_is_promoters_minus_detractors(scores, expected):
    assert survey_results.nps(scores) == expected


def test_csat_is_the_share_of_4_and_5():
    assert survey_results.csat([5, 4, 3, 1]) == 50.0
    assert survey_results.csat([5, 5, 5]) == 100.0
    assert survey_results.csat([]) is None


@pytest.fixture
def world(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        yield tenant, actor
        db.session.rollback()


def _survey(actor):
    return surveys.create_survey(db.session, actor, {"name": "After ticket", "kind": "custom",
                                                    "questions": [
        {"id": "nps", "text": "Recommend us?", "kind": "nps", "dimension": "overall"},
        {"id": "speed", "text": "Response speed", "kind": "rating",
         "dimension": "response_speed"},
        {"id": "solved", "text": "Solved?", "kind": "single", "choices": ["yes", "no"],
         "dimension": "problem_solved"},
        {"id": "note", "text": "Anything else?", "kind": "text", "required": False}]})


def test_an_answer_counts_once_and_feeds_the_results(world):
    tenant, actor = world
    s = _survey(actor)
    scores = [(10, 5), (9, 4), (7, 3), (3, 1)]
    tokens = []
    for i in range(len(scores)):
        c = customers.create_customer(db.session, actor, {"name": f"C{i}"})
        tokens.append(surveys.invite(db.session, s.id, c.id).token)
    for token, (n, speed) in zip(tokens, scores, strict=True):
        surveys.answer(db.session, token, {"nps": n, "speed": str(speed), "solved": "yes",
                                           "note": "quick" if n == 10 else ""})
    db.session.commit()
    with pytest.raises(surveys.AlreadyAnswered):
        surveys.answer(db.session, tokens[0], {"nps": 1, "speed": 1, "solved": "no"})
    res = survey_results.results(db.session, s.id)
    assert res["by_dimension"]["overall"]["nps"] == 25.0          # 2 promoters, 1 detractor
    assert res["by_dimension"]["response_speed"]["csat"] == 50.0  # 5 and 4 of four
    assert res["texts"] == [{"question": "note", "text": "quick",
                             "at": res["texts"][0]["at"]}]
    low = db.session.scalars(select(OutboxEvent).where(
        OutboxEvent.name == "survey.low_score")).all()
    assert len(low) == 1  # the NPS 3 / speed 1 answer


def test_bad_scores_are_field_errors_and_nothing_is_recorded(world):
    tenant, actor = world
    s = _survey(actor)
    c = customers.create_customer(db.session, actor, {"name": "C"})
    token = surveys.invite(db.session, s.id, c.id).token
    with pytest.raises(InvalidInput) as err:
        surveys.answer(db.session, token, {"nps": 11, "speed": "abc", "solved": "maybe",
                                           "extra": 1})
    assert set(err.value.errors) == {"nps", "speed", "solved", "extra"}
    surveys.answer(db.session, token, {"nps": 0, "speed": 5, "solved": "no"})


def test_forged_foreign_and_expired_tokens_are_refused(world, make_tenant):
    tenant, actor = world
    s = _survey(actor)
    c = customers.create_customer(db.session, actor, {"name": "C"})
    token = surveys.invite(db.session, s.id, c.id).token
    with pytest.raises(NotFound):
        surveys.open_token(db.session, token[:-2] + "xx")
    with time_machine.travel(utcnow() + timedelta(days=15)), \
            pytest.raises(surveys.TokenExpired):
        surveys.open_token(db.session, token)
    db.session.commit()
    make_tenant().bind()
    with pytest.raises(NotFound):
        surveys.open_token(db.session, token)


def test_a_resolved_ticket_invites_the_customer_and_a_low_score_opens_a_follow_up(world):
    from saas.models.loyalty import PointsEntry
    from saas.models.surveys import SurveyInvitation
    from saas.models.tickets import Ticket
    from saas.services import tickets
    from saas.timeline import timeline

    tenant, actor = world
    s = surveys.create_survey(db.session, actor, {
        "name": "Ticket CSAT", "kind": "csat", "trigger": "ticket.resolved"})
    c = customers.create_customer(db.session, actor, {"name": "Ann"})
    t = tickets.create_ticket(db.session, actor, {"customer_id": str(c.id),
                                                  "subject": "Broken", "owner_id":
                                                  str(actor.staff_id)})
    db.session.commit()
    for status in ("open", "resolved"):
        tickets.change_status(db.session, actor, t.id, status)
        db.session.commit()  # the outbox event reaches the survey dispatcher (inline)
    inv = db.session.scalars(select(SurveyInvitation)).one()
    assert (inv.survey_id, inv.source_type, inv.source_id, inv.agent_id) == (
        s.id, "ticket", str(t.id), actor.staff_id)
    token = surveys.invite(db.session, s.id, c.id, "ticket", str(t.id)).token
    ans = surveys.answer(db.session, token, {"q1": 1})
    db.session.commit()
    follow = db.session.scalars(select(Ticket).where(Ticket.id != t.id)).one()
    assert follow.subject.startswith("Low survey score") and follow.customer_id == c.id
    bonus = db.session.scalars(select(PointsEntry).where(
        PointsEntry.source_type == "survey_answered")).all()
    assert [b.points for b in bonus] == [20]  # the retail template's survey bonus
    items = timeline(db.session, c.id, limit=50)
    assert any(i.kind == "survey" and i.entity_id == str(ans.id) for i in items)
    res = survey_results.results(db.session, s.id)
    assert res["by_agent"][str(actor.staff_id)]["csat"] == 0.0
