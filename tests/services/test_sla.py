"""Business-hours arithmetic: working hours, weekends, holidays, zones and DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from saas.services import sla
from saas.services.errors import InvalidInput

SH = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def shanghai(**kw) -> sla.BusinessCalendar:
    return sla.BusinessCalendar(timezone="Asia/Shanghai", working_days=frozenset({1, 2, 3, 4, 5}),
                                opens=time(9), closes=time(18), **kw)


def local(zone, *args) -> datetime:
    return datetime(*args, tzinfo=zone)


def test_time_inside_working_hours_is_added_directly():
    due = sla.add_business_time(local(SH, 2026, 11, 24, 10, 0), 2, shanghai())
    assert due == local(SH, 2026, 11, 24, 12, 0)


def test_deadline_past_closing_continues_next_morning():
    due = sla.add_business_time(local(SH, 2026, 11, 24, 17, 0), 3, shanghai())
    assert due == local(SH, 2026, 11, 25, 11, 0)


def test_start_at_night_counts_from_next_opening():
    due = sla.add_business_time(local(SH, 2026, 11, 24, 22, 30), 1, shanghai())
    assert due == local(SH, 2026, 11, 25, 10, 0)


def test_weekend_is_skipped():
    # Friday 17:00 + 2 h: one hour on Friday, one on Monday.
    due = sla.add_business_time(local(SH, 2026, 11, 27, 17, 0), 2, shanghai())
    assert due == local(SH, 2026, 11, 30, 10, 0)


def test_deadline_that_would_land_on_a_holiday_moves_to_next_working_day():
    cal = shanghai(holidays=frozenset({date(2026, 10, 1), date(2026, 10, 2)}))
    # Wednesday 30 Sep 17:00 + 4 h: 1 h that day, then Thu/Fri holidays, weekend, Monday.
    due = sla.add_business_time(local(SH, 2026, 9, 30, 17, 0), 4, cal)
    assert due == local(SH, 2026, 10, 5, 12, 0)


def test_ticket_opened_on_a_holiday_starts_after_it():
    cal = shanghai(holidays=frozenset({date(2026, 12, 25)}))
    due = sla.add_business_time(local(SH, 2026, 12, 25, 10, 0), 0.5, cal)
    assert due == local(SH, 2026, 12, 28, 9, 30)


def test_deadline_exactly_at_closing_stays_that_day():
    due = sla.add_business_time(local(SH, 2026, 11, 24, 9, 0), 9, shanghai())
    assert due == local(SH, 2026, 11, 24, 18, 0)


def test_result_is_utc_aware():
    due = sla.add_business_time(datetime(2026, 11, 24, 2, 0, tzinfo=UTC), 1, shanghai())
    assert due.tzinfo is not None and due.utcoffset() == timedelta(0)
    assert due == datetime(2026, 11, 24, 3, 0, tzinfo=UTC)  # 10:00 -> 11:00 Shanghai


def test_naive_datetime_is_refused():
    with pytest.raises(ValueError):
        sla.add_business_time(datetime(2026, 11, 24, 10), 1, shanghai())


def test_berlin_working_day_keeps_wall_clock_hours_across_spring_dst_change():
    cal = sla.BusinessCalendar(timezone="Europe/Berlin", opens=time(9), closes=time(17))
    # Friday 27 Mar 2026 16:00 CET + 2 h -> Monday 30 Mar 10:00 CEST (clocks moved Sunday).
    due = sla.add_business_time(local(BERLIN, 2026, 3, 27, 16, 0), 2, cal)
    assert due == local(BERLIN, 2026, 3, 30, 10, 0)
    assert due.astimezone(UTC) == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)


def test_berlin_seven_day_week_spanning_autumn_dst_change():
    cal = sla.BusinessCalendar(timezone="Europe/Berlin", working_days=frozenset(range(1, 8)),
                               opens=time(0, 0), closes=time(23, 59))
    # On Sunday 25 Oct 2026 the local day 00:00-23:59 is 24 h 59 min long (clocks go back).
    start = local(BERLIN, 2026, 10, 25, 0, 0)
    end = local(BERLIN, 2026, 10, 25, 23, 59)
    assert sla.business_time_between(start, end, cal) == timedelta(hours=24, minutes=59)


def test_business_time_between_skips_nights_weekends_and_holidays():
    cal = shanghai(holidays=frozenset({date(2026, 11, 30)}))
    start = local(SH, 2026, 11, 27, 17, 0)   # Friday
    end = local(SH, 2026, 12, 1, 10, 0)      # Tuesday; Monday is a holiday
    assert sla.business_time_between(start, end, cal) == timedelta(hours=2)


def test_business_time_between_reversed_is_zero():
    a = local(SH, 2026, 11, 24, 10, 0)
    assert sla.business_time_between(a, a - timedelta(hours=1), shanghai()) == timedelta(0)


def test_calendar_without_working_days_is_refused():
    with pytest.raises(ValueError):
        sla.BusinessCalendar(working_days=frozenset())


def test_policy_validation_names_each_bad_field():
    with pytest.raises(InvalidInput) as exc:
        sla.clean_policy({"working_days": [0], "working_hours": ["18:00", "09:00"],
                          "priorities": {"low": {"first_response_hours": 0,
                                                 "resolution_hours": 5}},
                          "holidays": ["not-a-date"]})
    errors = exc.value.errors
    assert "working_days" in errors
    assert errors["working_hours"] == ["Closing time must be after opening time."]
    assert "priorities.low.first_response_hours" in errors
    assert "priorities.normal" in errors
    assert errors["holidays"] == [
        "Holidays are kept in the holiday calendar; edit them there."]


def test_template_policy_has_targets_and_the_calendar_has_its_holidays():
    data = sla.template_policy("retail")
    assert data["priorities"]["urgent"]["first_response_hours"] == 0.5
    assert "holidays" not in data
