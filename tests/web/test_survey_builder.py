"""The survey builder and results pages: create/edit with questions (kind, choices,
dimension, order, trigger), field messages for bad input with nothing saved, results by
dimension/agent/tier/month with text answers, 404 for other tenants, 403 by role."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from saas.extensions import db
from saas.models.surveys import Survey
from saas.services import customers, surveys
from tests.web.helpers import field_errors, login, login_as, use_cheap_password_hashing


@pytest.fixture(autouse=True)
def _cheap(monkeypatch):
    use_cheap_password_hashing(monkeypatch)


def _form(**over) -> dict:
    data = {"name": "After visit", "kind": "custom", "trigger": "visit.recorded",
            "channel": "", "expiry_days": "10", "active": "y"}
    for i in range(6):
        data.update({f"questions-{i}-id": "", f"questions-{i}-order": "",
                     f"questions-{i}-text": "", f"questions-{i}-kind": "rating",
                     f"questions-{i}-dimension": "", f"questions-{i}-choices": ""})
    data.update({
        "questions-0-text": "How was the visit?", "questions-0-kind": "csat",
        "questions-0-dimension": "service", "questions-0-order": "2",
        "questions-0-required": "y",
        "questions-1-text": "What did we do well?", "questions-1-kind": "multiple",
        "questions-1-choices": "Punctual\nFriendly\n\nExpert",
        "questions-1-dimension": "service", "questions-1-order": "3",
        "questions-2-text": "Would you recommend us?", "questions-2-kind": "nps",
        "questions-2-order": "1", "questions-2-required": "y",
        "questions-3-text": "Anything else?", "questions-3-kind": "text",
        "questions-3-order": "4"})
    data.update(over)
    return data


def _surveys(app, tenant) -> list[Survey]:
    with app.app_context():
        tenant.bind()
        out = list(db.session.scalars(select(Survey)))
        for s in out:
            db.session.expunge(s)
        db.session.remove()
    return out


def _count(app, tenant) -> int:
    with app.app_context():
        tenant.bind()
        n = db.session.scalar(select(func.count()).select_from(Survey))
        db.session.remove()
    return n


def test_build_a_multi_question_survey_with_trigger_and_order(client, app, make_tenant):
    tenant = make_tenant()
    before = _count(app, tenant)  # the tenant template may install some
    login(client, tenant)
    assert client.get(f"/t/{tenant.slug}/surveys/new").status_code == 200
    resp = client.post(f"/t/{tenant.slug}/surveys/new", data=_form())
    assert resp.status_code == 303, resp.get_data(as_text=True)[:3000]
    assert _count(app, tenant) == before + 1
    s = next(x for x in _surveys(app, tenant) if x.name == "After visit")
    assert (s.kind, s.trigger, s.expiry_days, s.active) == ("custom", "visit.recorded", 10,
                                                            True)
    assert [(q["kind"], q["dimension"], q["required"]) for q in s.questions] == [
        ("nps", "overall", True), ("csat", "service", True),
        ("multiple", "service", False), ("text", "overall", False)]
    assert s.questions[2]["choices"] == ["Punctual", "Friendly", "Expert"]
    assert len({q["id"] for q in s.questions}) == 4
    listing = client.get(f"/t/{tenant.slug}/surveys/").get_data(as_text=True)
    assert "After visit" in listing and "A visit is recorded" in listing


def test_nps_survey_without_questions_gets_the_standard_question(client, app, make_tenant):
    tenant = make_tenant()
    login(client, tenant)
    data = _form(name="Quick NPS", kind="nps", trigger="ticket.resolved")
    for i in range(4):
        data[f"questions-{i}-text"] = ""
    resp = client.post(f"/t/{tenant.slug}/surveys/new", data=data)
    assert resp.status_code == 303
    s = next(x for x in _surveys(app, tenant) if x.name == "Quick NPS")
    assert [q["kind"] for q in s.questions] == ["nps"]


@pytest.mark.parametrize(("over", "field", "text"), [
    ({"name": ""}, "name", "1-200"),
    ({"expiry_days": "0"}, "expiry_days", "1 to 365"),
    ({"expiry_days": "soon"}, "expiry_days", "1 to 365"),
    ({"questions-1-choices": "Only one"}, "questions-1-choices", "two choices"),
    ({"questions-0-order": "first"}, "questions-0-order", "whole number"),
    ({"channel": "carrier-pigeon"}, "channel", "Not a valid choice"),
    ({"questions-0-text": "", "questions-1-text": "", "questions-2-text": "",
      "questions-3-text": ""}, "questions", "1-30 questions"),
])
def test_bad_survey_input_is_422_with_the_field_message(client, app, make_tenant, over,
                                                         field, text):
    tenant = make_tenant()
    before = _count(app, tenant)
    login(client, tenant)
    resp = client.post(f"/t/{tenant.slug}/surveys/new", data=_form(**over))
    assert resp.status_code == 422
    assert text in field_errors(resp.get_data(as_text=True), field)
    assert _count(app, tenant) == before


def test_edit_keeps_question_ids_and_rejects_a_duplicate_name(client, app, make_tenant):
    tenant = make_tenant()
    login(client, tenant)
    assert client.post(f"/t/{tenant.slug}/surveys/new", data=_form()).status_code == 303
    assert client.post(f"/t/{tenant.slug}/surveys/new",
                       data=_form(name="Other")).status_code == 303
    s = next(x for x in _surveys(app, tenant) if x.name == "After visit")
    page = client.get(f"/t/{tenant.slug}/surveys/{s.id}/edit")
    assert page.status_code == 200 and b"How was the visit?" in page.data
    data = _form(name="Other")
    clash = client.post(f"/t/{tenant.slug}/surveys/{s.id}/edit", data=data)
    assert clash.status_code == 422 and "exists" in field_errors(clash.get_data(as_text=True),
                                                                 "name")
    data = _form(name="After visit (v2)", trigger="")
    for i, q in enumerate(s.questions):
        data.update({f"questions-{i}-id": q["id"], f"questions-{i}-text": q["text"],
                     f"questions-{i}-kind": q["kind"], f"questions-{i}-order": str(i + 1),
                     f"questions-{i}-dimension": q["dimension"],
                     f"questions-{i}-choices": "\n".join(q["choices"])})
    data["questions-3-text"] = "Anything else to tell us?"
    assert client.post(f"/t/{tenant.slug}/surveys/{s.id}/edit", data=data).status_code == 303
    after = next(x for x in _surveys(app, tenant) if x.id == s.id)
    assert after.name == "After visit (v2)" and after.trigger is None
    assert [q["id"] for q in after.questions] == [q["id"] for q in s.questions]
    assert after.questions[3]["text"] == "Anything else to tell us?"


def test_results_page_shows_scores_by_group_and_text_answers(client, app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        s = surveys.create_survey(db.session, actor, {"name": "Mixed", "kind": "custom",
                                                     "questions": [
            {"id": "n", "text": "Recommend?", "kind": "nps"},
            {"id": "c", "text": "Service?", "kind": "csat", "dimension": "service"},
            {"id": "t", "text": "Comments", "kind": "text", "required": False}]})
        for i, (n, c, t) in enumerate([(10, 5, "Great staff"), (9, 4, ""), (3, 1, "Slow")]):
            cust = customers.create_customer(db.session, actor, {"name": f"P{i}"})
            inv = surveys.invite(db.session, s.id, cust.id, agent_id=tenant.owner_id)
            surveys.answer(db.session, inv.token, {"n": str(n), "c": str(c), "t": t})
        db.session.commit()
        sid = s.id
        db.session.remove()
    login(client, tenant)
    html = client.get(f"/t/{tenant.slug}/surveys/{sid}").get_data(as_text=True)
    assert '<strong id="answer-count">3</strong>' in html
    assert '<strong id="overall-nps">33.3</strong>' in html  # (2 - 1) / 3
    assert '<strong id="overall-csat">66.7</strong>' in html
    for chart in ("chart-month", "chart-dimension", "chart-agent", "chart-tier"):
        assert f'id="{chart}"' in html
    assert "Olivia Owner" in html and "service" in html
    assert "Great staff" in html and "Slow" in html and "Comments" in html


def test_other_tenants_survey_is_404(client, app, make_tenant):
    a, b = make_tenant(), make_tenant()
    login(client, a)
    assert client.post(f"/t/{a.slug}/surveys/new", data=_form()).status_code == 303
    sid = next(x for x in _surveys(app, a) if x.name == "After visit").id
    client.post(f"/t/{a.slug}/logout")
    login(client, b)
    assert client.get(f"/t/{b.slug}/surveys/{sid}").status_code == 404
    assert client.get(f"/t/{b.slug}/surveys/{sid}/edit").status_code == 404
    assert client.post(f"/t/{b.slug}/surveys/{sid}/edit",
                       data=_form(name="Hijack")).status_code == 404
    assert next(x for x in _surveys(app, a) if x.id == sid).name == "After visit"


@pytest.mark.parametrize(("role", "read", "write"), [
    ("agent", 403, 403), ("readonly", 200, 403), ("manager", 200, 200)])
def test_survey_pages_follow_the_role_permissions(client, app, make_tenant, role, read,
                                                  write):
    tenant = make_tenant()
    before = _count(app, tenant)
    login_as(app, client, tenant, role)
    assert client.get(f"/t/{tenant.slug}/surveys/").status_code == read
    assert client.get(f"/t/{tenant.slug}/surveys/new").status_code == write
    resp = client.post(f"/t/{tenant.slug}/surveys/new", data=_form())
    assert resp.status_code == (303 if write == 200 else 403)
    assert _count(app, tenant) == before + (1 if write == 200 else 0)
