"""Business-hours arithmetic for service-level deadlines.

Targets such as "first response within 2 hours" mean *business* hours: the clock only
runs on the tenant's working days, between its opening and closing times, in its own time
zone, and not on its holidays. Everything here is a pure function of a `BusinessCalendar`
and aware datetimes, so the rules can be tested exhaustively with frozen time.

Working hours are wall-clock times: on a DST change day in Europe/Berlin 09:00-18:00 is
still nine local hours, and the UTC instants of opening and closing shift. Each day's
window is therefore built from the local date and converted to UTC, never by adding
fixed offsets.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from saas.services import holidays
from saas.services.errors import InvalidInput
from saas.tenant_templates import TemplateError, load_template

PRIORITIES = ("low", "normal", "high", "urgent")
# Far enough for any sane target (a year of calendar days) while bounding a bad calendar.
MAX_DAYS_SCANNED = 3660


@dataclass(frozen=True)
class BusinessCalendar:
    """When the clock runs: ISO weekdays (1 = Monday), opening hours, zone, holidays."""

    timezone: str = "UTC"
    working_days: frozenset[int] = frozenset({1, 2, 3, 4, 5})
    opens: time = time(9, 0)
    closes: time = time(18, 0)
    holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.closes <= self.opens:
            raise ValueError("closing time must be after opening time")
        if not self.working_days or not set(self.working_days) <= set(range(1, 8)):
            raise ValueError("working days must be ISO weekdays 1-7")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_working_day(self, day: date) -> bool:
        return day.isoweekday() in self.working_days and day not in self.holidays

    def window(self, day: date) -> tuple[datetime, datetime]:
        """The UTC instants the given local day opens and closes (DST-aware)."""
        zone = self.zone
        start = datetime.combine(day, self.opens, tzinfo=zone).astimezone(UTC)
        end = datetime.combine(day, self.closes, tzinfo=zone).astimezone(UTC)
        return start, end

    def windows_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working windows (UTC) that end after `moment`, clipped to start at it."""
        moment = _aware(moment)
        day = moment.astimezone(self.zone).date()
        for offset in range(MAX_DAYS_SCANNED):
            current = day + timedelta(days=offset)
            if not self.is_working_day(current):
                continue
            start, end = self.window(current)
            if end <= moment:
                continue
            yield max(start, moment), end
        raise ValueError("no working time found within ten years; check the calendar")


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware (UTC) datetime")
    return moment.astimezone(UTC)


def add_business_time(start: datetime, duration: timedelta | float,
                      calendar: BusinessCalendar) -> datetime:
    """The instant `duration` of business time after `start`.

    A start outside working hours begins counting at the next opening; the result always
    lies inside (or at the closing edge of) a working window, so a deadline never lands
    on a holiday, a weekend or at night. `duration` in hours when given as a number.
    """
    remaining = duration if isinstance(duration, timedelta) else timedelta(hours=duration)
    if remaining < timedelta(0):
        raise ValueError("duration must not be negative")
    windows = calendar.windows_from(start)
    first_start, first_end = next(windows)
    if remaining == timedelta(0):
        return first_start
    for window_start, window_end in _chain([(first_start, first_end)], windows):
        available = window_end - window_start
        if remaining <= available:
            return window_start + remaining
        remaining -= available
    raise AssertionError("unreachable")  # pragma: no cover - windows_from raises first


def business_time_between(start: datetime, end: datetime,
                          calendar: BusinessCalendar) -> timedelta:
    """Business time elapsed from `start` to `end` (zero when `end` is not later)."""
    start, end = _aware(start), _aware(end)
    if end <= start:
        return timedelta(0)
    total = timedelta(0)
    for window_start, window_end in calendar.windows_from(start):
        if window_start >= end:
            break
        total += min(window_end, end) - window_start
    return total


def _chain(first: Iterable, rest: Iterable) -> Iterator:
    yield from first
    yield from rest


# -- the tenant's policy -------------------------------------------------------------


@dataclass(frozen=True)
class SlaPolicy:
    calendar: BusinessCalendar
    targets: Mapping[str, Mapping[str, float]]

    def target(self, priority: str, kind: str) -> float:
        """Hours of business time for `kind` ("first_response" or "resolution")."""
        entry = self.targets.get(priority) or self.targets.get("normal") or {}
        return float(entry.get(f"{kind}_hours", 24))


def _parse_time(value: str, name: str, errors: dict) -> time | None:
    try:
        hours, minutes = (int(p) for p in str(value).split(":"))
        return time(hours, minutes)
    except (ValueError, TypeError):
        errors.setdefault(name, []).append("Use HH:MM.")
        return None


def clean_policy(data: Mapping[str, Any]) -> dict:
    """Validate an SLA policy as stored in tenant settings; field-level errors.

    Shape: {"working_days": [1..7], "working_hours": ["09:00", "18:00"],
    "priorities": {"normal": {"first_response_hours": 8, "resolution_hours": 48}, ...}}.
    Holidays are not part of it: they live in the tenant's holiday calendar
    (`saas.services.holidays`), shared with holiday greetings.
    """
    errors: dict[str, list[str]] = {}
    days = data.get("working_days")
    if not isinstance(days, list) or not days or not all(
            isinstance(d, int) and 1 <= d <= 7 for d in days):
        errors["working_days"] = ["Pick at least one weekday (1 = Monday ... 7 = Sunday)."]
    hours = data.get("working_hours")
    opens = closes = None
    if not isinstance(hours, list | tuple) or len(hours) != 2:
        errors["working_hours"] = ["Give an opening and a closing time."]
    else:
        opens = _parse_time(hours[0], "working_hours", errors)
        closes = _parse_time(hours[1], "working_hours", errors)
        if opens and closes and closes <= opens:
            errors["working_hours"] = ["Closing time must be after opening time."]
    priorities = data.get("priorities")
    cleaned_targets: dict[str, dict[str, float]] = {}
    if not isinstance(priorities, Mapping):
        errors["priorities"] = ["Give targets per priority."]
    else:
        for name in PRIORITIES:
            entry = priorities.get(name)
            if not isinstance(entry, Mapping):
                errors[f"priorities.{name}"] = ["Targets are required."]
                continue
            cleaned_targets[name] = {}
            for kind in ("first_response_hours", "resolution_hours"):
                value = entry.get(kind)
                if isinstance(value, bool) or not isinstance(value, int | float) \
                        or not 0 < value <= 24 * 365:
                    errors.setdefault(f"priorities.{name}.{kind}", []).append(
                        "Enter a number of hours greater than 0.")
                else:
                    cleaned_targets[name][kind] = float(value)
        unknown = set(priorities) - set(PRIORITIES)
        if unknown:
            errors["priorities"] = [f"Unknown priority: {sorted(unknown)[0]}."]
    if "holidays" in data:
        errors["holidays"] = ["Holidays are kept in the holiday calendar; edit them there."]
    if errors:
        raise InvalidInput("The SLA policy is invalid.", errors)
    return {"working_days": sorted(set(days)), "working_hours": list(hours),
            "priorities": cleaned_targets}


def template_policy(template: str) -> dict:
    """The SLA section of a tenant template."""
    try:
        tpl = load_template(template)
    except TemplateError:
        tpl = load_template("retail")
    sla = tpl["sla"]
    return {"working_days": list(sla["working_days"]),
            "working_hours": list(sla["working_hours"]),
            "priorities": {k: dict(v) for k, v in sla["priorities"].items()}}


def policy_data(tenant) -> dict:
    """The tenant's own policy (settings["sla"]) or its template's defaults, with the
    closed days of its holiday calendar as `holidays`."""
    own = (tenant.settings or {}).get("sla")
    data = {k: v for k, v in own.items() if k != "holidays"} if own \
        else template_policy(tenant.template)
    data["holidays"] = sorted(d.isoformat() for d in holidays.closed_days(tenant))
    return data


def policy_for(tenant) -> SlaPolicy:
    data = policy_data(tenant)
    opens = time.fromisoformat(data["working_hours"][0])
    closes = time.fromisoformat(data["working_hours"][1])
    try:
        ZoneInfo(tenant.timezone)
        tz = tenant.timezone
    except (ZoneInfoNotFoundError, ValueError):
        tz = "UTC"
    calendar = BusinessCalendar(timezone=tz, working_days=frozenset(data["working_days"]),
                                opens=opens, closes=closes,
                                holidays=frozenset(date.fromisoformat(d)
                                                   for d in data.get("holidays", [])))
    return SlaPolicy(calendar=calendar, targets=data["priorities"])
