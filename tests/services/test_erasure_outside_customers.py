"""Erasure reaches personal data outside the customers table (issue 11): the address a
campaign used, free-text survey answers and the reason of a points adjustment (with its
audit and event copies) go; ledgers, scores and campaign counts stay, so aggregates still
add up. Another customer's rows are untouched."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from saas.extensions import db
from saas.models import AuditEntry
from saas.models.campaigns import CampaignRecipient
from saas.models.loyalty import PointsEntry
from saas.models.outbox import OutboxEvent
from saas.models.surveys import SurveyAnswer, SurveyAnswerItem
from saas.services import campaigns, loyalty, segments, subject_requests, surveys
from saas.services import customers as customer_service
from saas.services.errors import InvalidInput, NotFound
from saas.services.subject_requests import ERASED
from tests.hooks.support import GOOD_SETTINGS, EchoPlugin, configure, registered

QUESTIONS = [{"id": "q1", "text": "Score?", "kind": "csat"},
             {"id": "q2", "text": "Why?", "kind": "text"},
             {"id": "q3", "text": "Which?", "kind": "single",
              "choices": ["Tea", "Cake"]}]


def _customer(actor, name: str, phone: str):
    return customer_service.create_customer(db.session, actor, {
        "name": name, "phones": [phone], "tags": ["promo"],
        "emails": [f"{name.split()[0].lower()}@example.com"]})


def _raw(table: str) -> str:
    return " ".join(str(v) for row in db.session.execute(text(
        f'SELECT * FROM "{table}"')) for v in row)  # noqa: S608


def test_erasure_removes_free_text_survey_answers_and_keeps_the_scores(world):
    _tenant, actor = world
    survey = surveys.create_survey(db.session, actor, {
        "name": "Feedback", "kind": "csat", "questions": QUESTIONS})
    answers = {}
    for name, phone in (("Annabel Zhou", "13800138000"), ("Bo Li", "13900139000")):
        c = _customer(actor, name, phone)
        invitation = surveys.invite(db.session, survey.id, c.id, "manual", "x")
        surveys.answer(db.session, invitation.token, {
            "q1": 4, "q2": f"{name} here, call {phone}", "q3": "Tea"})
        answers[name] = c.id
    db.session.commit()
    subject_requests.erase_customer(db.session, actor, answers["Annabel Zhou"])
    db.session.commit()
    db.session.expire_all()
    mine, other = (db.session.scalars(select(SurveyAnswer).where(
        SurveyAnswer.customer_id == answers[n])).one() for n in ("Annabel Zhou", "Bo Li"))
    assert mine.answers == {"q1": 4, "q2": ERASED, "q3": "Tea"}
    assert mine.score == other.score
    items = {(i.answer_id, i.question): (i.score, i.text)
             for i in db.session.scalars(select(SurveyAnswerItem))}
    assert items[(mine.id, "q1")] == (4, None)
    assert items[(mine.id, "q2")] == (None, ERASED)
    assert items[(mine.id, "q3")] == (None, "Tea")
    assert items[(other.id, "q2")] == (None, "Bo Li here, call 13900139000")
    assert other.answers["q2"] == "Bo Li here, call 13900139000"
    for table in ("survey_answers", "survey_answer_items"):
        assert "Annabel" not in _raw(table) and "13800138000" not in _raw(table)


def test_erasure_removes_the_points_reason_and_its_copies_and_keeps_the_ledger(world):
    _tenant, actor = world
    ann = _customer(actor, "Annabel Zhou", "13800138000")
    bo = _customer(actor, "Bo Li", "13900139000")
    loyalty.adjust(db.session, actor, ann.id, 10, "Goodwill for Annabel Zhou 13800138000")
    loyalty.adjust(db.session, actor, ann.id, -3, "Correction, Annabel called")
    loyalty.adjust(db.session, actor, bo.id, 5, "Goodwill for Bo Li")
    db.session.commit()
    subject_requests.erase_customer(db.session, actor, ann.id)
    db.session.commit()
    db.session.expire_all()
    ledger = {(e.customer_id, e.points, e.balance_after, e.reason)
              for e in db.session.scalars(select(PointsEntry))}
    assert ledger == {(ann.id, 10, 10, ERASED), (ann.id, -3, 7, ERASED),
                      (bo.id, 5, 5, "Goodwill for Bo Li")}
    assert loyalty.balance(db.session, ann.id) == 7
    audits = {(e.entity_id, e.changes["points"], e.changes["reason"])
              for e in db.session.scalars(select(AuditEntry).where(
                  AuditEntry.action == "points.adjusted"))}
    assert audits == {(str(ann.id), 10, ERASED), (str(ann.id), -3, ERASED),
                      (str(bo.id), 5, "Goodwill for Bo Li")}
    reasons = {(e.entity_id, e.payload["points"], e.payload["reason"])
               for e in db.session.scalars(select(OutboxEvent).where(
                   OutboxEvent.name == "points.adjusted"))}
    assert reasons == {(str(ann.id), 10, ERASED), (str(ann.id), -3, ERASED),
                       (str(bo.id), 5, "Goodwill for Bo Li")}
    for table in ("points_entries", "audit_entries", "outbox_events"):
        assert "Annabel" not in _raw(table), table


def test_erasure_removes_the_address_a_campaign_used_and_keeps_its_counts(app, world):
    tenant, actor = world
    plugin = EchoPlugin()
    with registered(app, plugin, "echo"):
        configure(app, tenant, "echo", GOOD_SETTINGS)
        tenant.bind()
        ann = _customer(actor, "Annabel Zhou", "13800138000")
        bo = _customer(actor, "Bo Li", "13900139000")
        segment = segments.create_segment(db.session, actor, {
            "name": "Promo", "rule": {"all": [{"tag": "promo"}]}})
        campaign = campaigns.create_campaign(db.session, actor, {
            "name": "Spring", "segment_id": str(segment.id), "channel": "echo",
            "variants": [{"name": "A", "body": "Hi"}]})
        db.session.commit()
        campaigns.launch(db.session, actor, campaign.id)
        db.session.commit()
        tenant.bind()
        before = {r.customer_id: r.address for r in db.session.scalars(
            select(CampaignRecipient))}
        assert before[ann.id] and before[bo.id]
        subject_requests.erase_customer(db.session, actor, ann.id)
        db.session.commit()
        db.session.expire_all()
        rows = {r.customer_id: (r.status, r.address)
                for r in db.session.scalars(select(CampaignRecipient))}
    assert rows == {ann.id: ("sent", None), bo.id: ("sent", before[bo.id])}
    assert campaigns.progress(db.session, campaign.id).as_dict()["sent"] == 2
    record = subject_requests.erasures(db.session)[0]
    assert record.summary["campaign_recipients"] == 1
    assert record.summary["points_entries"] == 0 and record.summary["survey_answers"] == 0


def test_erasing_another_tenants_customer_or_a_merged_one_is_refused(world, app,
                                                                     make_tenant):
    _tenant, actor = world
    ann_id = _customer(actor, "Annabel Zhou", "13800138000").id
    loyalty.adjust(db.session, actor, ann_id, 10, "Goodwill for Annabel")
    db.session.commit()
    other = make_tenant(slug="other-shop")
    other.bind()
    with pytest.raises(NotFound):
        subject_requests.erase_customer(db.session, other.owner_actor(), ann_id)
    db.session.rollback()
    _tenant.bind()
    with pytest.raises(InvalidInput):
        subject_requests.erase_customer(db.session, actor, ann_id, "x" * 201)
    db.session.rollback()
    assert json.dumps([e.reason for e in db.session.scalars(select(PointsEntry))]) == \
        '["Goodwill for Annabel"]'
