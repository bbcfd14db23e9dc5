"""The tenant's holiday calendar: template defaults, editing with validation, and its use
by SLA business hours and holiday greetings."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from saas.extensions import db
from saas.models import AuditEntry
from saas.models.holidays import TenantHoliday
from saas.models.plugins import Delivery
from saas.services import care, customers, holidays, sla, tickets
from saas.services.errors import InvalidInput, NotFound
from tests.hooks.support import configure

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def world(app, make_tenant):
    tenant = make_tenant()      # retail template
    with app.app_context():
        tenant.bind()
        yield tenant, tenant.owner_actor()
        db.session.rollback()
        db.session.remove()


def _tenant():
    return customers.bound_tenant(db.session)


def _names():
    return [(h.name, h.start.isoformat(), h.end.isoformat()) for h in
            holidays.calendar(_tenant())]


def test_calendar_starts_as_the_templates_list(world):
    names = _names()
    assert ("国庆节 National Day", "2026-10-01", "2026-10-01") in names
    assert ("Christmas", "2026-12-25", "2026-12-25") in names
    # Ids are stable while the list is the template's.
    assert [h.id for h in holidays.calendar(_tenant())] == [
        h.id for h in holidays.calendar(_tenant())]


def test_add_edit_and_remove_a_holiday_of_several_days(world):
    _t, actor = world
    golden = holidays.add_holiday(db.session, actor, {
        "name": "Golden Week", "start": "2027-10-01", "end": "2027-10-07", "greeting": False})
    assert ("Golden Week", "2027-10-01", "2027-10-07") in _names()
    assert {date(2027, 10, d) for d in range(1, 8)} <= holidays.closed_days(_tenant())
    assert golden not in holidays.greeting_holidays(_tenant())
    moved = holidays.update_holiday(db.session, actor, golden.id, {"end": "2027-10-03"})
    assert (moved.id, moved.end) == (golden.id, date(2027, 10, 3))
    assert date(2027, 10, 5) not in holidays.closed_days(_tenant())
    christmas = next(h for h in holidays.calendar(_tenant()) if h.name == "Christmas")
    holidays.remove_holiday(db.session, actor, christmas.id)
    assert "Christmas" not in [n for n, *_ in _names()]
    assert "国庆节 National Day" in [n for n, *_ in _names()]      # template ones kept
    actions = list(db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.action.like("holiday.%")).order_by(AuditEntry.created_at)))
    assert actions == ["holiday.created", "holiday.updated", "holiday.deleted"]
    with pytest.raises(NotFound):
        holidays.update_holiday(db.session, actor, christmas.id, {"name": "X"})


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"name": "Bad", "start": "2027-02-30"}, "start", "Enter a date as YYYY-MM-DD."),
    ({"name": "Bad", "start": ""}, "start", "Enter a date as YYYY-MM-DD."),
    ({"name": "Bad", "start": "2027-05-03", "end": "2027-05-01"}, "end",
     "The end is before the start."),
    ({"name": "Long", "start": "2027-01-01", "end": "2027-03-01"}, "end",
     "A holiday lasts at most 31 days."),
    ({"name": "", "start": "2027-05-01"}, "name",
     "Give the holiday a name (up to 100 characters)."),
    ({"name": "christmas", "start": "2026-12-25"}, "name",
     "This holiday is already in the calendar for these dates."),
    ({"name": "X", "start": "2027-05-01", "colour": "red"}, "colour", "Unknown field."),
    ({"name": "X", "start": "2027-05-01", "greeting": "yes"}, "greeting",
     "Give true or false."),
])
def test_bad_holidays_are_refused_by_field_and_nothing_is_saved(world, data, field, message):
    _t, actor = world
    before = _names()
    with pytest.raises(InvalidInput) as exc:
        holidays.add_holiday(db.session, actor, data)
    assert exc.value.errors[field] == [message]
    assert _names() == before
    assert "holidays_seeded" not in (_tenant().settings or {})
    assert db.session.scalar(select(func.count()).select_from(TenantHoliday)) == 0


def test_editing_into_a_duplicate_or_a_reversed_range_is_refused(world):
    _t, actor = world
    may_day = holidays.add_holiday(db.session, actor, {"name": "Labour Day",
                                                        "start": "2027-05-01"})
    with pytest.raises(InvalidInput) as exc:
        holidays.update_holiday(db.session, actor, may_day.id, {"end": "2027-04-30"})
    assert exc.value.errors == {"end": ["The end is before the start."]}
    with pytest.raises(InvalidInput) as exc:
        holidays.update_holiday(db.session, actor, may_day.id, {"name": "CHRISTMAS",
                                                                "start": "2026-12-24",
                                                                "end": "2026-12-26"})
    assert "name" in exc.value.errors
    # The same name in another year is a different holiday.
    holidays.add_holiday(db.session, actor, {"name": "Christmas", "start": "2027-12-25"})


def test_sla_deadline_skips_every_day_of_a_multi_day_holiday(world):
    _t, actor = world
    holidays.add_holiday(db.session, actor, {"name": "Golden Week", "start": "2027-10-01",
                                             "end": "2027-10-07"})
    c = customers.create_customer(db.session, actor, {"name": "Li"})
    # Thursday 30 Sep 2027 20:00 (open 09-21, Mon-Sat); high: 2 h first response -> 1 h
    # that day, then Fri 1 Oct .. Thu 7 Oct closed, Friday 8 Oct 10:00.
    with time_machine.travel(datetime(2027, 9, 30, 20, 0, tzinfo=SH), tick=False):
        ticket = tickets.create_ticket(db.session, actor, {"customer_id": c.id,
                                                           "subject": "x",
                                                           "priority": "high"})
    assert ticket.first_response_due_at == datetime(2027, 10, 8, 10, 0, tzinfo=SH)


def test_removed_holiday_is_a_working_day_again(world):
    _t, actor = world
    christmas = next(h for h in holidays.calendar(_tenant()) if h.name == "Christmas")
    assert date(2026, 12, 25) in sla.policy_for(_tenant()).calendar.holidays
    holidays.remove_holiday(db.session, actor, christmas.id)
    assert date(2026, 12, 25) not in sla.policy_for(_tenant()).calendar.holidays


def test_holiday_greetings_follow_the_edited_calendar(app, world):
    tenant, actor = world
    configure(app, tenant, "sms", {"gateway_url": "http://127.0.0.1:9/send",
                                   "auth_token": "token-123456"})
    tenant.bind()
    care.create_rule(db.session, actor, {"name": "Holiday", "kind": "holiday",
                                         "channel": "sms",
                                         "template": "{{ holiday }} greetings, {{ name }}"})
    customers.create_customer(db.session, actor, {"name": "Li", "phones": ["13800138000"]})
    shop = holidays.add_holiday(db.session, actor, {"name": "Shop anniversary",
                                                    "start": "2027-03-08",
                                                    "end": "2027-03-09"})
    holidays.add_holiday(db.session, actor, {"name": "Stocktaking", "start": "2027-03-15",
                                             "greeting": False})
    assert care.run(db.session, now=datetime(2027, 3, 9, 10, 0, tzinfo=SH)).sent == 0
    assert care.run(db.session, now=datetime(2027, 3, 15, 10, 0, tzinfo=SH)).sent == 0
    assert care.run(db.session, now=datetime(2027, 3, 8, 10, 0, tzinfo=SH)).sent == 1
    body = db.session.scalars(select(Delivery)).one().payload["body"]
    assert body == "Shop anniversary greetings, Li"
    national_day = next(h for h in holidays.calendar(_tenant())
                        if h.name == "国庆节 National Day")
    holidays.update_holiday(db.session, actor, national_day.id, {"greeting": False})
    assert care.run(db.session, now=datetime(2026, 10, 1, 10, 0, tzinfo=SH)).sent == 0
    assert shop in holidays.greeting_holidays(_tenant())


def test_en_template_calendar_has_western_holidays_and_greets_on_christmas(app, make_tenant):
    tenant = make_tenant(template="b2b", locale="en")
    configure(app, tenant, "sms", {"gateway_url": "http://127.0.0.1:9/send",
                                   "auth_token": "token-123456"})
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        names = {h.name for h in holidays.greeting_holidays(_tenant())}
        assert {"Christmas Day", "New Year's Day"} <= names
        care.create_rule(db.session, actor, {"name": "Seasons", "kind": "holiday",
                                             "channel": "sms",
                                             "template": "Happy {{ holiday }}, {{ name }}!"})
        customers.create_customer(db.session, actor, {"name": "Ann", "phones": ["13800138000"]})
        christmas = datetime(2026, 12, 25, 11, 0, tzinfo=ZoneInfo(_tenant().timezone))
        assert care.run(db.session, now=christmas).sent == 1
        body = db.session.scalars(select(Delivery)).one().payload["body"]
        assert body == "Happy Christmas Day, Ann!"
        db.session.rollback()
        db.session.remove()


@pytest.mark.postgres
def test_two_first_edits_at_once_copy_the_template_once(app, world):
    import threading

    tenant, _actor = world
    template_count = len(holidays.calendar(_tenant()))
    db.session.rollback()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def add(name: str) -> None:
        try:
            with app.app_context():
                tenant.bind()
                barrier.wait()
                holidays.add_holiday(db.session, tenant.owner_actor(),
                                     {"name": name, "start": "2027-06-01"})
                db.session.commit()
                db.session.remove()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(n,)) for n in ("Shop day", "Staff day")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    db.session.expire_all()
    names = [h.name for h in holidays.calendar(_tenant())]
    assert len(names) == template_count + 2 and {"Shop day", "Staff day"} <= set(names)
    assert db.session.scalar(select(func.count()).select_from(TenantHoliday)) == len(names)
