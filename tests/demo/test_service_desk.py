"""The service-desk demo generator makes tickets, visit tasks and care rules once."""

from __future__ import annotations

from sqlalchemy import func, select

from saas import demo
from saas.extensions import db
from saas.models.care import CareRule
from saas.models.tickets import Ticket, TicketMessage
from saas.models.visits import VisitPlan, VisitTask


def test_generator_makes_tickets_visits_and_care_rules_once(app):
    names = ("staff", "customers", "loyalty", "service_desk")
    gens = [g for g in demo.generators() if g.name in names]
    assert [g.name for g in gens] == list(names)
    with app.app_context():
        demo.run(db.session, slug="demo-desk", size=8, only=gens)
        s = db.session

        def count(model, *where):
            return s.scalar(select(func.count()).select_from(model).where(*where))

        assert count(Ticket) == 4 and count(TicketMessage) >= 0
        assert count(VisitPlan) == 2 and count(VisitTask, VisitTask.status == "done") == 1
        assert count(CareRule) == 3
        demo.run(db.session, slug="demo-desk", size=8, only=gens)
        assert count(Ticket) == 4 and count(CareRule) == 3
        db.session.remove()
