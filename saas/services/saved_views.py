"""Saved customer-list views: a staff member's own named filters and sort.

Filters are validated exactly as the list validates them, so a saved view always opens.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.models.customers import SavedView
from saas.services import audit
from saas.services.context import Actor
from saas.services.customer_list import DEFAULT_SORT, SORT_CHOICES, parse_filters
from saas.services.customers import parse_id
from saas.services.errors import Conflict, InvalidInput, NotFound


def list_views(session: Session, actor: Actor) -> list[SavedView]:
    return list(session.scalars(select(SavedView).where(SavedView.staff_id == actor.staff_id)
                                .order_by(SavedView.name, SavedView.id)))


def get_view(session: Session, actor: Actor, view_id: Any) -> SavedView:
    """Only the actor's own views exist for them: another's id is not found."""
    view = session.scalars(select(SavedView).where(
        SavedView.id == parse_id(view_id, "saved view"),
        SavedView.staff_id == actor.staff_id)).first()
    if view is None:
        raise NotFound("No such saved view.")
    return view


def _clean(session: Session, name: Any, filters: Any, sort: Any) -> tuple[str, dict, str]:
    errors: dict[str, list[str]] = {}
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 100:
        errors["name"] = ["Name the view (up to 100 characters)."]
    if sort in (None, ""):
        sort = DEFAULT_SORT
    if sort not in SORT_CHOICES:
        errors["sort"] = [f"Choose one of: {', '.join(SORT_CHOICES)}."]
    if not isinstance(filters, Mapping):
        errors["filters"] = ["Give filters as an object."]
        filters = {}
    filters = {k: v for k, v in filters.items() if v not in (None, "", []) and k != "sort"}
    try:
        parse_filters(session, filters)
    except InvalidInput as exc:
        for key, messages in exc.errors.items():
            errors[f"filters.{key}"] = messages
    if errors:
        raise InvalidInput("Please correct the saved view.", errors)
    return name.strip(), dict(filters), sort


def _name_taken(session: Session, actor: Actor, name: str, exclude: Any = None) -> bool:
    stmt = select(SavedView.id).where(SavedView.staff_id == actor.staff_id,
                                      SavedView.name == name)
    if exclude is not None:
        stmt = stmt.where(SavedView.id != exclude)
    return session.scalar(stmt) is not None


def create_view(session: Session, actor: Actor, name: str, filters: Mapping[str, Any],
                sort: str | None = None) -> SavedView:
    if actor.staff_id is None:
        raise InvalidInput.field("staff", "Saved views belong to a staff member.")
    name, filters, sort = _clean(session, name, filters, sort)
    if _name_taken(session, actor, name):
        raise Conflict("You already have a view with this name.", {"name": ["Already used."]})
    view = SavedView(staff_id=actor.staff_id, name=name, filters=filters, sort=sort)
    session.add(view)
    session.flush()
    audit.record(session, actor, "saved_view.created", "saved_view", view.id,
                 {"name": name, "filters": filters, "sort": sort})
    return view


def update_view(session: Session, actor: Actor, view_id: Any, name: str | None = None,
                filters: Mapping[str, Any] | None = None,
                sort: str | None = None) -> SavedView:
    view = get_view(session, actor, view_id)
    name, filters, sort = _clean(session, view.name if name is None else name,
                                 view.filters if filters is None else filters,
                                 view.sort if sort is None else sort)
    if _name_taken(session, actor, name, exclude=view.id):
        raise Conflict("You already have a view with this name.", {"name": ["Already used."]})
    view.name, view.filters, view.sort = name, filters, sort
    audit.record(session, actor, "saved_view.updated", "saved_view", view.id,
                 {"name": name, "filters": filters, "sort": sort})
    return view


def delete_view(session: Session, actor: Actor, view_id: Any) -> None:
    view = get_view(session, actor, view_id)
    audit.record(session, actor, "saved_view.deleted", "saved_view", view.id,
                 {"name": view.name})
    session.delete(view)
    session.flush()
