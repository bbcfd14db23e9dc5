"""Survey results: NPS and CSAT overall, by dimension, agent, tier and month.

NPS = % promoters (9-10) − % detractors (0-6) of NPS answers, from −100 to 100.
CSAT = % of CSAT/rating answers that are 4 or 5 ("satisfied"), plus the mean score.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from saas.models.surveys import SurveyAnswer, SurveyAnswerItem
from saas.services.surveys import get_survey


def nps(scores: Iterable[int]) -> float | None:
    values = list(scores)
    if not values:
        return None
    promoters = sum(1 for s in values if s >= 9)
    detractors = sum(1 for s in values if s <= 6)
    return round((promoters - detractors) * 100 / len(values), 1)


def csat(scores: Iterable[int]) -> float | None:
    values = list(scores)
    if not values:
        return None
    return round(sum(1 for s in values if s >= 4) * 100 / len(values), 1)


def _summary(kind_scores: dict[str, list[int]]) -> dict[str, Any]:
    nps_scores = kind_scores.get("nps", [])
    sat = kind_scores.get("csat", []) + kind_scores.get("rating", [])
    return {"responses": len(nps_scores) + len(sat), "nps": nps(nps_scores),
            "csat": csat(sat),
            "mean": round(sum(sat) / len(sat), 2) if sat else None}


def results(session: Session, survey_id: Any) -> dict[str, Any]:
    survey = get_survey(session, survey_id)
    rows = session.execute(select(
        SurveyAnswerItem.kind, SurveyAnswerItem.dimension, SurveyAnswerItem.score,
        SurveyAnswerItem.text, SurveyAnswerItem.question, SurveyAnswer.agent_id,
        SurveyAnswer.tier, SurveyAnswer.answered_at).join(
        SurveyAnswer, and_(SurveyAnswer.tenant_id == SurveyAnswerItem.tenant_id,
                           SurveyAnswer.id == SurveyAnswerItem.answer_id)).where(
        SurveyAnswerItem.survey_id == survey.id).order_by(SurveyAnswer.answered_at)).all()
    groups: dict[str, dict[str, dict[str, list[int]]]] = {
        k: defaultdict(lambda: defaultdict(list)) for k in
        ("overall", "dimension", "agent", "tier", "month")}
    texts = []
    for kind, dimension, score, text, question, agent, tier, at in rows:
        if score is None:
            if kind == "text" and text:
                texts.append({"question": question, "text": text, "at": at.isoformat()})
            continue
        for group, key in (("overall", "all"), ("dimension", dimension),
                           ("agent", str(agent) if agent else "none"),
                           ("tier", tier or "none"), ("month", at.strftime("%Y-%m"))):
            groups[group][key][kind].append(score)
    out: dict[str, Any] = {"survey_id": str(survey.id), "kind": survey.kind,
                           "answers": len({r[7] for r in rows}), "texts": texts}
    for group, by_key in groups.items():
        out[f"by_{group}" if group != "overall" else "overall"] = {
            key: _summary(scores) for key, scores in sorted(by_key.items())}
    out["overall"] = out["overall"].get("all", _summary({}))
    return out
