"""Who may see a staff page: tenant from the URL, login, permission, and the acting staff.

Every staff page lives under `/t/<slug>/...`. The slug is taken out of the URL values
before any view runs, the tenant is looked up (unknown → 404) and bound to the database
session, so views never take a `slug` argument and `url_for` fills it in again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, abort, current_app, flash, g, redirect, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from saas.extensions import db, login_manager
from saas.models import Staff, Tenant
from saas.permissions import role_can
from saas.services.context import Actor
from saas.services.errors import ServiceError
from saas.services.tenants import tenant_by_slug
from saas.tenancy import bind_tenant
from saas.web.messages import translate_message


def install(app: Flask) -> None:
    """Wire tenant resolution and flask-login into the app (called from `web.register`)."""
    app.url_value_preprocessor(_resolve_tenant)
    app.url_defaults(_add_slug)
    app.before_request(_remember_staff)
    login_manager.user_loader(_load_staff)
    login_manager.unauthorized_handler(_unauthorized)
    login_manager.session_protection = "strong"


def _resolve_tenant(endpoint: str | None, values: dict[str, Any] | None) -> None:
    if not values or "slug" not in values or request.url_rule is None \
            or not request.url_rule.rule.startswith("/t/<slug>"):
        return
    slug = values.pop("slug")
    tenant = tenant_by_slug(db.session, slug)
    if tenant is None or tenant.status != "active":
        abort(404)
    g.tenant = tenant
    bind_tenant(db.session, tenant.id)


def _remember_staff() -> None:
    """Load the staff member early, so the language chosen for the request can use theirs."""
    current_staff()


def _add_slug(endpoint: str, values: dict[str, Any]) -> None:
    if "slug" in values or g.get("tenant") is None:
        return
    try:
        expects_slug = current_app.url_map.is_endpoint_expecting(endpoint, "slug")
    except KeyError:  # unknown endpoint: let url_for raise its usual BuildError
        return
    if expects_slug:
        values["slug"] = g.tenant.slug


def _load_staff(user_id: str) -> Staff | None:
    """Only staff of the tenant named in the URL: a login elsewhere counts for nothing here."""
    tenant: Tenant | None = g.get("tenant")
    tenant_hex, _, staff_hex = (user_id or "").partition(":")
    if tenant is None or tenant.id.hex != tenant_hex:
        return None
    try:
        staff_id = uuid.UUID(hex=staff_hex)
    except ValueError:
        return None
    staff = db.session.get(Staff, (tenant.id, staff_id))
    if staff is None or not staff.active:
        return None
    return staff


def _unauthorized():
    if g.get("tenant") is None:
        abort(401)
    if request.method != "GET":
        return redirect(url_for("auth.login"))
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def current_staff() -> Staff | None:
    """The logged-in staff member of the tenant in the URL, or None."""
    if g.get("tenant") is None or not current_user.is_authenticated:
        return None
    g.staff = current_user._get_current_object()
    return g.staff


def can(permission: str) -> bool:
    staff = current_staff()
    return staff is not None and role_can(staff.role, permission)


def require(*permissions: str) -> Callable:
    """Login required, plus every named permission (403 page when one is missing).

    `@require()` only asks for a login.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            staff = current_staff()
            if staff is None:
                return login_manager.unauthorized()
            if not all(role_can(staff.role, p) for p in permissions):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_permissions = permissions  # type: ignore[attr-defined]
        return wrapped

    return decorator


def request_actor() -> Actor:
    """The logged-in staff member as the `Actor` services record in the audit log."""
    staff = current_staff()
    if staff is None:
        return Actor(ip=request.remote_addr, user_agent=request.user_agent.string,
                     label="anonymous")
    return Actor.of_staff(staff, request.remote_addr, request.user_agent.string)


def form_errors(form: FlaskForm, exc: ServiceError) -> None:
    """Show a service's field errors next to the form's fields; the rest as a flash.

    The caller rolls back and re-renders the form (status `exc.status`).
    """
    leftover = []
    for name, messages in exc.errors.items():
        field = form._fields.get(name)
        target = field.errors if field is not None else leftover
        if field is not None and isinstance(field.errors, tuple):
            field.errors = list(field.errors)
            target = field.errors
        target.extend(translate_message(m) for m in messages)
    if leftover or not exc.errors:
        flash(translate_message(exc.message) if not leftover else "; ".join(leftover), "error")


def safe_next(target: str | None, fallback: str) -> str:
    """Only redirect within this site (never `//evil.example` or `https://...`)."""
    if not target or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return fallback
    return target


def flash_error(exc: ServiceError) -> None:
    """A service error that belongs to no form field, shown at the top of the page."""
    flash(translate_message(exc.message), "error")
