"""What every template can use: time filters in the tenant's zone, nav, permission checks."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Flask, current_app, g, request, url_for
from flask_babel import format_date, format_datetime, get_locale
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from saas.web import nav
from saas.web.access import can, current_staff
from saas.web.messages import translate_message

# Carries the shared templates and static files of every web module (no routes of its own).
bp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/assets")

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


def current_locale() -> str:
    """Our code for the request's language (Babel calls zh_CN `zh_Hans_CN`)."""
    locale = get_locale()
    return "zh_CN" if locale is not None and locale.language == "zh" else "en"


def return_url() -> str:
    """Where the language switch comes back to: this page, or, when it only answers POST
    (a form re-rendered after an error), the nearest page above it that answers GET."""
    if request.method == "GET":
        return request.full_path.rstrip("?")
    adapter = current_app.url_map.bind_to_environ(request.environ)
    path = request.path
    while path not in ("", "/"):
        candidate = path if path.endswith("/") else path + "/"
        for option in (path, candidate):
            try:
                adapter.match(option, method="GET")
            except HTTPException:
                continue
            return option
        path = path.rstrip("/").rsplit("/", 1)[0]
    return url_for("public.index")


def _nav_entries() -> list[nav.NavEntry]:
    """Links for the current staff member; an entry whose page is not (yet) registered
    is left out rather than breaking every page."""
    staff = current_staff()
    if staff is None:
        return []
    return [e for e in nav.visible_to(staff.role) if e.endpoint in current_app.view_functions]


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
    app.add_template_global(current_locale, "current_locale")
    app.add_template_global(return_url, "return_url")
    app.add_template_global(lambda: g.get("tenant"), "current_tenant")
