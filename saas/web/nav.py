"""The staff navigation, built from entries that feature modules add when imported.

    from saas.web import nav
    nav.add("customers.index", _l("Customers"), permission="customers.read", order=20)

Entries are keyed by endpoint, so importing a module twice does not duplicate them.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import request

from saas.permissions import role_can


@dataclass(frozen=True)
class NavEntry:
    endpoint: str
    label: str
    permission: str | None = None
    order: int = 100
    section: str = "main"


_ENTRIES: dict[str, NavEntry] = {}


def add(endpoint: str, label, permission: str | None = None, order: int = 100,
        section: str = "main") -> NavEntry:
    """Register a link; `label` should be a lazy string (`lazy_gettext`)."""
    entry = NavEntry(endpoint, label, permission, order, section)
    _ENTRIES[endpoint] = entry
    return entry


def entries() -> list[NavEntry]:
    return sorted(_ENTRIES.values(), key=lambda e: (e.order, e.endpoint))


def visible_to(role: str, section: str = "main") -> list[NavEntry]:
    return [e for e in entries() if e.section == section
            and (e.permission is None or role_can(role, e.permission))]


def is_active(entry: NavEntry) -> bool:
    if request.endpoint == entry.endpoint:
        return True
    blueprint = entry.endpoint.partition(".")[0]
    return bool(request.blueprint) and request.blueprint == blueprint \
        and blueprint not in ("home",)
