"""The campaigns demo generator: a finished A/B campaign with results per variant and a
survey with answers over time, made once."""

from __future__ import annotations

from sqlalchemy import func, select

from saas import demo
from saas.extensions import db
from saas.models.campaigns import Campaign
from saas.models.surveys import Survey, SurveyAnswer
from saas.services import campaign_results, survey_results


def test_generator_makes_a_finished_campaign_with_results_and_a_survey_once(app):
    names = ("staff", "customers", "loyalty", "service_desk", "campaigns")
    gens = [g for g in demo.generators() if g.name in names]
    assert [g.name for g in gens] == list(names)
    with app.app_context():
        demo.run(db.session, slug="demo-camp", size=12, only=gens)
        s = db.session
        campaign = s.scalars(select(Campaign)).one()
        assert campaign.status == "completed" and campaign.winner_variant_id is not None
        res = campaign_results.results(s, campaign.id)
        assert set(res["variants"]) == {"A", "B"}
        total = res["total"]
        assert total["sent"] == campaign.audience_size > 0
        assert total["delivered"] + total["failed"] == total["sent"]
        assert total["clicks"] > 0
        survey = s.scalars(select(Survey).where(Survey.trigger == "visit.recorded")).one()
        answers = s.scalar(select(func.count()).select_from(SurveyAnswer).where(
            SurveyAnswer.survey_id == survey.id))
        assert answers == 8
        out = survey_results.results(s, survey.id)
        assert out["overall"]["nps"] is not None and {"loyalty", "service", "punctuality"} \
            <= set(out["by_dimension"])
        demo.run(db.session, slug="demo-camp", size=12, only=gens)
        assert s.scalar(select(func.count()).select_from(Campaign)) == 1
        db.session.remove()
