"""Surveys: definitions, signed invitation links, answers (one per link), follow-ups.

A link carries a signed invitation id (Flask's `SECRET_KEY`, its own salt); the
invitation row holds the expiry and `answered_at`, so a forged token is a bad signature,
an old one is past `expires_at`, and a reused one finds `answered_at` set — each a
distinct 4xx. The answer is claimed with a conditional UPDATE of `answered_at`, so two
concurrent submits cannot both count.

An answer earns the loyalty `survey_answered` bonus, shows on the customer's timeline,
and a low score (CSAT ≤ 2, NPS ≤ 6) opens a follow-up ticket for the customer's owner
through the ticket service, or — where there is none — emits `survey.low_score`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from saas.models.base import new_id, utcnow
from saas.models.customers import Customer
from saas.models.surveys import (
    QUESTION_KINDS,
    SURVEY_KINDS,
    TRIGGERS,
    Survey,
    SurveyAnswer,
    SurveyAnswerItem,
    SurveyInvitation,
)
from saas.services import audit, outbox
from saas.services.context import Actor
from saas.services.customers import parse_id
from saas.services.errors import Conflict, InvalidInput, NotFound, ServiceError
from saas.timeline import TimelineItem, timeline_source

TOKEN_SALT = "saas.survey"  # noqa: S105 - a salt, not a secret
RANGES = {"nps": (0, 10), "csat": (1, 5), "rating": (1, 5)}
LOW = {"nps": 6, "csat": 2, "rating": 2}


class TokenExpired(ServiceError):
    status = 410
    code = "expired"


class AlreadyAnswered(Conflict):
    """This link was used already: one answer per link."""


# -- definitions --------------------------------------------------------------------


def get_survey(session: Session, survey_id: Any) -> Survey:
    found = session.scalars(select(Survey).where(
        Survey.id == parse_id(survey_id, "survey"))).first()
    if found is None:
        raise NotFound("No such survey.")
    return found


def list_surveys(session: Session) -> list[Survey]:
    return list(session.scalars(select(Survey).order_by(Survey.name)))


def _clean_questions(raw: Any, errors: dict) -> list[dict]:
    if not isinstance(raw, list) or not raw or len(raw) > 30:
        errors["questions"] = ["Add 1-30 questions."]
        return []
    out = []
    for i, q in enumerate(raw):
        key = f"questions.{i}"
        if not isinstance(q, Mapping):
            errors[key] = ["Send an object."]
            continue
        for extra in set(q) - {"id", "text", "kind", "dimension", "choices", "required"}:
            errors[f"{key}.{extra}"] = ["Unknown field."]
        text = q.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > 500:
            errors[f"{key}.text"] = ["Enter the question (1-500 characters)."]
        kind = q.get("kind")
        if kind not in QUESTION_KINDS:
            errors[f"{key}.kind"] = [f"Choose from: {', '.join(QUESTION_KINDS)}."]
        choices = q.get("choices") or []
        if kind in ("single", "multiple") and (
                not isinstance(choices, list) or len(choices) < 2
                or not all(isinstance(c, str) and c.strip() for c in choices)):
            errors[f"{key}.choices"] = ["Give at least two choices."]
        dimension = str(q.get("dimension") or "overall").strip()[:60] or "overall"
        out.append({"id": str(q.get("id") or f"q{i + 1}")[:20],
                    "text": (text or "").strip(), "kind": kind, "dimension": dimension,
                    "choices": [c.strip() for c in choices] if isinstance(choices, list)
                    else [], "required": bool(q.get("required", kind != "text"))})
    ids = [q["id"] for q in out]
    if len(set(ids)) != len(ids):
        errors["questions"] = ["Question ids must differ."]
    return out


SURVEY_FIELDS = {"name", "kind", "questions", "trigger", "channel", "expiry_days", "active"}


def _clean_survey(session: Session, data: Mapping[str, Any], survey: Survey | None
                  ) -> dict[str, Any]:
    """Validated values of a new survey (all fields) or of a change (given fields only)."""
    if not isinstance(data, Mapping):
        raise InvalidInput("Send the survey as an object.")
    errors: dict[str, list[str]] = {k: ["Unknown field."] for k in set(data) - SURVEY_FIELDS}
    values: dict[str, Any] = {}
    creating = survey is None
    if creating or "name" in data:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            errors["name"] = ["Enter a name of 1-200 characters."]
        else:
            values["name"] = name.strip()
            clash = session.scalar(select(Survey.id).where(Survey.name == values["name"]))
            if clash is not None and (creating or clash != survey.id):
                errors["name"] = ["A survey with this name exists."]
    kind = (data.get("kind") or "custom") if creating or "kind" in data else survey.kind
    if kind not in SURVEY_KINDS:
        errors["kind"] = [f"Choose from: {', '.join(SURVEY_KINDS)}."]
    values["kind"] = kind
    if creating or "questions" in data:
        questions = data.get("questions")
        if questions is None and kind in ("nps", "csat"):
            questions = [{"text": "How likely are you to recommend us?" if kind == "nps"
                          else "How satisfied are you overall?", "kind": kind,
                          "dimension": "overall"}]
        values["questions"] = _clean_questions(questions, errors)
    if creating or "trigger" in data:
        trigger = data.get("trigger") or None
        if trigger is not None and trigger not in TRIGGERS:
            errors["trigger"] = [f"Choose from: {', '.join(TRIGGERS)}."]
        values["trigger"] = trigger
    if creating or "channel" in data:
        from saas.services.plugins import available_channels

        values["channel"] = data.get("channel") or None
        if values["channel"] is not None and values["channel"] not in available_channels(
                session):
            errors["channel"] = ["Choose a channel an enabled plugin offers."]
    if creating or "expiry_days" in data:
        expiry = data.get("expiry_days", 14)
        if not isinstance(expiry, int) or isinstance(expiry, bool) or not 1 <= expiry <= 365:
            errors["expiry_days"] = ["Enter a number from 1 to 365."]
        values["expiry_days"] = expiry
    if creating or "active" in data:
        values["active"] = bool(data.get("active", True))
    if errors:
        first = next(iter(errors.items()))
        raise InvalidInput(f"The survey has errors ({first[0]}: {first[1][0]})", errors)
    return values


def create_survey(session: Session, actor: Actor, data: Mapping[str, Any]) -> Survey:
    values = _clean_survey(session, data, None)
    survey = Survey(id=new_id(), **values)
    session.add(survey)
    session.flush()
    audit.record(session, actor, "survey.created", "survey", survey.id, {"name": survey.name})
    return survey


def update_survey(session: Session, actor: Actor, survey_id: Any,
                  data: Mapping[str, Any]) -> Survey:
    """Change a survey; answers already given keep the questions they answered (their
    items carry question id, kind and dimension), so results stay as they were."""
    survey = get_survey(session, survey_id)
    values = _clean_survey(session, data, survey)
    changes = audit.apply_changes(survey, values)
    session.flush()
    audit.record(session, actor, "survey.updated", "survey", survey.id, changes)
    return survey


def install_template_surveys(session: Session, actor: Actor, template: str) -> list[Survey]:
    """The surveys of the tenant template (e.g. "Ticket CSAT"), unless already there."""
    from saas.tenant_templates import load_template

    out = []
    for spec in load_template(template).get("surveys", []):
        if session.scalar(select(Survey.id).where(Survey.name == spec["name"])):
            continue
        out.append(create_survey(session, actor, {
            "name": spec["name"], "kind": spec["kind"],
            "questions": [dict(q) for q in spec["questions"]]}))
    return out


# -- invitations and tokens ---------------------------------------------------------


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=TOKEN_SALT)


@dataclass(frozen=True)
class Invitation:
    row: SurveyInvitation
    token: str
    url: str


def invite(session: Session, survey_id: Any, customer_id: Any, source_type: str = "manual",
           source_id: str = "", agent_id: uuid.UUID | None = None) -> Invitation:
    """The (single) invitation of a customer to a survey for one context, with its link."""
    from saas.services.customers import get_customer
    from saas.services.plugins import bound_tenant

    survey = get_survey(session, survey_id)
    cid = get_customer(session, customer_id).id
    row = session.scalars(select(SurveyInvitation).where(
        SurveyInvitation.survey_id == survey.id, SurveyInvitation.customer_id == cid,
        SurveyInvitation.source_type == source_type,
        SurveyInvitation.source_id == source_id)).first()
    if row is None:
        row = SurveyInvitation(id=new_id(), survey_id=survey.id, customer_id=cid,
                               source_type=source_type, source_id=source_id,
                               agent_id=agent_id,
                               expires_at=utcnow() + timedelta(days=survey.expiry_days))
        session.add(row)
        session.flush()
    tenant = bound_tenant(session)
    token = _serializer().dumps({"t": tenant.id.hex, "i": row.id.hex})
    base = current_app.config.get("BASE_URL", "").rstrip("/")
    return Invitation(row, token, f"{base}/t/{tenant.slug}/s/{token}")


def open_token(session: Session, token: str, now: datetime | None = None
               ) -> tuple[Survey, SurveyInvitation]:
    """The survey and invitation a link names; 404 forged, 410 expired, 409 answered."""
    from saas.tenancy import current_tenant_id

    try:
        data = _serializer().loads(token)
        iid = uuid.UUID(hex=data["i"])
        tenant_hex = data["t"]
    except (BadSignature, KeyError, TypeError, ValueError) as exc:
        raise NotFound("This survey link is not valid.") from exc
    tenant_id = current_tenant_id(session)
    if tenant_id is None or tenant_hex != tenant_id.hex:
        raise NotFound("This survey link is not valid.")
    row = session.scalars(select(SurveyInvitation).where(SurveyInvitation.id == iid)).first()
    if row is None:
        raise NotFound("This survey link is not valid.")
    if row.answered_at is not None:
        raise AlreadyAnswered("This survey was already answered. Thank you!")
    if row.expires_at <= (now or utcnow()):
        raise TokenExpired("This survey link has expired.")
    return get_survey(session, row.survey_id), row


# -- answering ----------------------------------------------------------------------


def _clean_answers(survey: Survey, raw: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    known = {q["id"] for q in survey.questions}
    for key in set(raw) - known:
        errors[key] = ["Unknown question."]
    out: dict[str, Any] = {}
    for q in survey.questions:
        value = raw.get(q["id"])
        empty = value in (None, "", [])
        if empty:
            if q.get("required", True):
                errors[q["id"]] = ["Please answer this question."]
            continue
        kind = q["kind"]
        if kind in RANGES:
            low, high = RANGES[kind]
            try:
                number = int(value)
                if isinstance(value, bool) or str(number) != str(value).strip():
                    raise ValueError
            except (TypeError, ValueError):
                errors[q["id"]] = [f"Choose a score from {low} to {high}."]
                continue
            if not low <= number <= high:
                errors[q["id"]] = [f"Choose a score from {low} to {high}."]
                continue
            out[q["id"]] = number
        elif kind == "single":
            if value not in q["choices"]:
                errors[q["id"]] = ["Choose one of the options."]
                continue
            out[q["id"]] = value
        elif kind == "multiple":
            values = value if isinstance(value, list) else [value]
            if not all(v in q["choices"] for v in values):
                errors[q["id"]] = ["Choose among the options."]
                continue
            out[q["id"]] = list(dict.fromkeys(values))
        else:
            text = str(value).strip()
            if len(text) > 5000:
                errors[q["id"]] = ["Use at most 5000 characters."]
                continue
            out[q["id"]] = text
    if errors:
        raise InvalidInput("Some answers need a look.", errors)
    return out


def _tier_name(session: Session, customer_id: uuid.UUID) -> str | None:
    try:
        from saas.models.tiers import CustomerTier, Tier
    except ImportError:
        return None
    return session.scalar(select(Tier.name).join(
        CustomerTier, (CustomerTier.tenant_id == Tier.tenant_id)
        & (CustomerTier.tier_id == Tier.id)).where(CustomerTier.id == customer_id))


def answer(session: Session, token: str, raw: Mapping[str, Any]) -> SurveyAnswer:
    """Record the answer of a link (once), with its follow-ups."""
    survey, inv = open_token(session, token)
    if not isinstance(raw, Mapping):
        raise InvalidInput("Send the answers as an object.")
    values = _clean_answers(survey, raw)
    now = utcnow()
    claimed = session.execute(update(SurveyInvitation).where(
        SurveyInvitation.id == inv.id, SurveyInvitation.answered_at.is_(None)).values(
        answered_at=now))
    if not claimed.rowcount:
        raise AlreadyAnswered("This survey was already answered. Thank you!")
    primary = next((q for q in survey.questions if q["kind"] in ("nps", "csat")
                    and q["id"] in values), None)
    ans = SurveyAnswer(id=new_id(), survey_id=survey.id, invitation_id=inv.id,
                       customer_id=inv.customer_id, agent_id=inv.agent_id,
                       tier=_tier_name(session, inv.customer_id),
                       score=values[primary["id"]] if primary else None,
                       answers=values, answered_at=now)
    session.add(ans)
    session.flush()
    for q in survey.questions:
        if q["id"] not in values:
            continue
        value = values[q["id"]]
        session.add(SurveyAnswerItem(
            answer_id=ans.id, survey_id=survey.id, question=q["id"], kind=q["kind"],
            dimension=q["dimension"], score=value if q["kind"] in RANGES else None,
            text=None if q["kind"] in RANGES else (
                ", ".join(value) if isinstance(value, list) else str(value))))
    session.flush()
    actor = Actor.system("survey")
    audit.record(session, actor, "survey.answered", "survey", survey.id,
                 {"answer_id": str(ans.id), "score": ans.score})
    outbox.emit(session, "survey.answered", "customer", inv.customer_id,
                {"survey_id": str(survey.id), "answer_id": str(ans.id), "score": ans.score,
                 "source_type": inv.source_type, "source_id": inv.source_id})
    from saas.services import loyalty

    loyalty.award_bonus(session, actor, inv.customer_id, "survey_answered", str(ans.id))
    low = [q for q in survey.questions if q["kind"] in LOW and q["id"] in values
           and values[q["id"]] <= LOW[q["kind"]]]
    if low:
        _follow_up(session, survey, inv, ans, low, values)
    return ans


def _follow_up(session: Session, survey: Survey, inv: SurveyInvitation, ans: SurveyAnswer,
               low: list[dict], values: dict) -> None:
    """A ticket for the customer's owner about the low score; the event either way."""
    scores = ", ".join(f"{q['text']}: {values[q['id']]}" for q in low)
    ticket_id = None
    try:
        from saas.services import tickets
    except ImportError:
        tickets = None
    if tickets is not None and hasattr(tickets, "create_ticket"):
        customer = session.scalars(select(Customer).where(
            Customer.id == inv.customer_id)).first()
        ticket = tickets.create_ticket(session, Actor.system("survey"), {
            "customer_id": str(inv.customer_id), "type": "complaint", "priority": "high",
            "subject": f"Low survey score: {survey.name}"[:200],
            "description": f"{scores}\nSurvey answer {ans.id}.",
            **({"owner_id": str(customer.owner_id)} if customer and customer.owner_id
               else {})})
        ticket_id = str(ticket.id)
    outbox.emit(session, "survey.low_score", "customer", inv.customer_id,
                {"survey_id": str(survey.id), "answer_id": str(ans.id), "scores": scores,
                 "ticket_id": ticket_id})


# -- automatic invitations ----------------------------------------------------------


def on_trigger(session: Session, event_name: str, customer_id: Any, source_type: str,
               source_id: str, agent_id: Any = None) -> list[Invitation]:
    """Invite the customer to every active survey triggered by `event_name`, and send the
    link through the survey's channel when it has one (idempotent per source)."""
    from saas.services.plugins import ConsentWithdrawn, bound_tenant, send_via_channel

    out = []
    agent = parse_id(agent_id, "staff") if agent_id else None
    for survey in session.scalars(select(Survey).where(Survey.trigger == event_name,
                                                       Survey.active.is_(True))):
        inv = invite(session, survey.id, customer_id, source_type, source_id, agent)
        out.append(inv)
        customer = session.scalars(select(Customer).where(
            Customer.id == inv.row.customer_id)).first()
        address = customer and (customer.email if survey.channel == "email"
                                else customer.phone)
        if survey.channel and address and inv.row.sent_at is None:
            try:
                send_via_channel(session, bound_tenant(session), survey.channel, {
                    "to": address, "subject": survey.name, "customer_id": str(customer.id),
                    "body": f"{survey.name}: {inv.url}"},
                    key=f"survey:{survey.id}:{inv.row.id}")
                inv.row.sent_at = utcnow()
            except (ConsentWithdrawn, InvalidInput):
                pass  # no channel or no consent: the link stays available to staff
    return out


@timeline_source("surveys")
def survey_items(session: Session, customer_id: uuid.UUID, before: datetime | None,
                 limit: int) -> list[TimelineItem]:
    stmt = select(SurveyAnswer, Survey.name).join(
        Survey, (Survey.tenant_id == SurveyAnswer.tenant_id)
        & (Survey.id == SurveyAnswer.survey_id)).where(SurveyAnswer.customer_id == customer_id)
    if before is not None:
        stmt = stmt.where(SurveyAnswer.answered_at < before)
    stmt = stmt.order_by(SurveyAnswer.answered_at.desc()).limit(limit)
    return [TimelineItem(at=a.answered_at, kind="survey", title=f"Survey answered: {name}",
                         entity_type="survey_answer", entity_id=str(a.id),
                         body=None if a.score is None else f"Score {a.score}",
                         data={"score": a.score, "survey_id": str(a.survey_id)})
            for a, name in session.execute(stmt)]
