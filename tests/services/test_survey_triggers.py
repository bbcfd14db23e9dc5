"""Surveys sent automatically after a recorded visit (the agent is the visit's assignee),
results by dimension, agent, tier and month, and the public page in Chinese."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update

from saas.extensions import db
from saas.models.surveys import SurveyAnswer, SurveyInvitation
from saas.services import customers, survey_results, surveys, tiers, visits


def test_a_recorded_visit_invites_the_customer_with_the_visiting_agent(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        by_name = {t.name: t for t in tiers.list_tiers(db.session)}
        s = surveys.create_survey(db.session, actor, {
            "name": "After visit", "kind": "csat", "trigger": "visit.recorded"})
        c = customers.create_customer(db.session, actor, {
            "name": "Li Lei", "owner_id": str(actor.staff_id)})
        tiers.override(db.session, actor, c.id, by_name["A"].id, None)
        db.session.commit()
        visits.generate(db.session)
        [task] = visits.my_visits(db.session, actor.staff_id)["today"]
        visits.record_visit(db.session, actor, task.id, {"outcome": "Fine", "rating": 4})
        db.session.commit()  # the outbox event reaches the survey dispatcher (inline)
        inv = db.session.scalars(select(SurveyInvitation)).one()
        assert (inv.survey_id, inv.customer_id, inv.source_type, inv.source_id,
                inv.agent_id) == (s.id, c.id, "visit", str(task.id), actor.staff_id)
        token = surveys.invite(db.session, s.id, c.id, "visit", str(task.id)).token
        surveys.answer(db.session, token, {"q1": "5"})
        db.session.commit()
        res = survey_results.results(db.session, s.id)
        assert res["by_agent"][str(actor.staff_id)]["csat"] == 100.0
        assert res["by_tier"]["A"]["responses"] == 1
        db.session.remove()


def test_results_group_by_dimension_tier_and_month(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        s = surveys.create_survey(db.session, actor, {"name": "Mixed", "kind": "custom",
                                                     "questions": [
            {"id": "n", "text": "Recommend?", "kind": "nps", "dimension": "loyalty"},
            {"id": "d", "text": "Delivery?", "kind": "rating", "dimension": "delivery"}]})
        given = [("2026-09-10", 10, 5), ("2026-09-20", 6, 2), ("2026-10-05", 9, 4)]
        for i, (day, n, d) in enumerate(given):
            cust = customers.create_customer(db.session, actor, {"name": f"P{i}"})
            inv = surveys.invite(db.session, s.id, cust.id)
            ans = surveys.answer(db.session, inv.token, {"n": n, "d": d})
            db.session.execute(update(SurveyAnswer).where(SurveyAnswer.id == ans.id).values(
                answered_at=datetime.fromisoformat(day).replace(tzinfo=UTC)))
        db.session.commit()
        res = survey_results.results(db.session, s.id)
        db.session.remove()
    assert res["by_dimension"]["loyalty"]["nps"] == 33.3       # (2 - 1) / 3
    assert res["by_dimension"]["delivery"]["csat"] == 66.7     # 5 and 4 of 5, 4, 2
    assert res["by_dimension"]["delivery"]["mean"] == 3.67
    assert res["by_month"]["2026-09"]["nps"] == 0.0            # 10 and 6
    assert res["by_month"]["2026-10"]["nps"] == 100.0
    assert res["by_tier"]["none"]["responses"] == 6            # 3 answers x 2 questions


def test_public_page_speaks_chinese_for_a_chinese_tenant(app, client, make_tenant):
    tenant = make_tenant(locale="zh_CN")
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        s = surveys.create_survey(db.session, actor, {"name": "CSAT", "kind": "csat"})
        c = customers.create_customer(db.session, actor, {"name": "王芳"})
        url = surveys.invite(db.session, s.id, c.id).url
        db.session.commit()
        db.session.remove()
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]
    page = client.get(path).get_data(as_text=True)
    assert 'lang="zh' in page and 'name="viewport"' in page
    bad = client.post(path, data={"q1": "9"})
    assert bad.status_code == 422
    done = client.post(path, data={"q1": "5"})
    assert done.status_code == 200 and "谢谢" in done.get_data(as_text=True)
