"""What every template can use: time filters in the tenant's zone, nav, permission checks."""

from __future__ import annotations

from datetime import datetime

from flask import Flask, g
from flask_babel import format_date, format_datetime, get_locale
from flask_babel import lazy_gettext as _l

from saas.web import nav
from saas.web.access import can, current_staff
from saas.web.messages import translate_message

LANGUAGES = (("zh_CN", "中文"), ("en", "English"))
ROLE_LABELS = {"owner": _l("Owner"), "admin": _l("Admin"), "manager": _l("Manager"),
               "agent": _l("Agent"), "readonly": _l("Read-only")}


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


def localtime(value: datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    """A UTC time shown in the tenant's time zone (Flask-Babel's timezone selector)."""
    if value is None:
        return ""
    return format_datetime(value, fmt)


def localdate(value: datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return format_datetime(value, "yyyy-MM-dd")
    return format_date(value, "yyyy-MM-dd")


def _nav_entries() -> list[nav.NavEntry]:
    staff = current_staff()
    return nav.visible_to(staff.role) if staff is not None else []


def install(app: Flask) -> None:
    app.add_template_filter(localtime, "localtime")
    app.add_template_filter(localdate, "localdate")
    app.add_template_filter(translate_message, "tmsg")
    app.add_template_global(can, "can")
    app.add_template_global(current_staff, "current_staff")
    app.add_template_global(_nav_entries, "nav_entries")
    app.add_template_global(nav.is_active, "nav_is_active")
    app.add_template_global(LANGUAGES, "LANGUAGES")
    app.add_template_global(role_label, "role_label")
    app.add_template_global(lambda: str(get_locale() or "en"), "current_locale")
    app.add_template_global(lambda: g.get("tenant"), "current_tenant")
