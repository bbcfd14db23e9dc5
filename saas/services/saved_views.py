"""Saved customer-list views: a staff member's own named filters and sort.

Filters are validated exactly as the list validates them (field levels included), so a
saved view opens. A field can become hidden for the owner's role after the view was saved
(issue 11): the view then opens without that filter, and `left_out` names it so every
surface says so — a view is never broadened silently, nor refused as a whole.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.models.customers import SavedView
from saas.services import audit, field_access
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


@dataclasses.dataclass(frozen=True)
class LeftOut:
    """A saved filter the viewer's role may no longer use: its key in the view and the
    field (registry key and label) that made it unusable."""

    key: str
    field: str
    label: str
    custom: bool


def left_out(session: Session, actor: Actor, filters: Mapping[str, Any],
             access: field_access.Access | None = None) -> list[LeftOut]:
    """The filters of a view the list would refuse for the actor's role (a filter on a
    field not visible in clear, or a `q` read as a hidden phone/email), one entry per
    filter key. Decided by `field_access.check_filters` itself, one field at a time, so
    the two can never disagree. `access` saves its queries when the caller has it."""
    access = access or field_access.access_for(session, actor.role)
    if not access.restricted or not filters:
        return []
    found: list[LeftOut] = []
    for key, value in filters.items():
        for spec in access.specs:
            if access.can_see_clear(spec.key):
                continue
            try:
                field_access.check_filters(dataclasses.replace(access, specs=(spec,)),
                                           {key: value})
            except InvalidInput:
                found.append(LeftOut(key, spec.key, spec.label, spec.custom))
                break
    return found


def applicable(session: Session, actor: Actor, view: SavedView,
               access: field_access.Access | None = None,
               ) -> tuple[dict[str, Any], list[LeftOut]]:
    """(the view's filters the actor may use, the ones left out)."""
    dropped = left_out(session, actor, view.filters or {}, access)
    keys = {d.key for d in dropped}
    return {k: v for k, v in (view.filters or {}).items() if k not in keys}, dropped


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


def _check_usable(session: Session, actor: Actor, filters: Mapping[str, Any]) -> None:
    """422 naming each filter the actor's role may not use: saving it would make a view
    that cannot open as saved. (Only filters being written: renaming a view whose filter
    became hidden later still works.)"""
    dropped = left_out(session, actor, filters)
    if dropped:
        raise InvalidInput("Please correct the saved view.", {
            f"filters.{d.key}": ["You may not filter on this field."] for d in dropped})


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
    _check_usable(session, actor, filters)
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
    name, cleaned, sort = _clean(session, view.name if name is None else name,
                                 view.filters if filters is None else filters,
                                 view.sort if sort is None else sort)
    if filters is not None:
        _check_usable(session, actor, cleaned)
    filters = cleaned
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
