"""Panels on the customer 360 page, registered by feature modules.

`customers/show.html` loops over the registered panels, so a feature adds its box to
the page without editing it:

    from saas.web.customer_panels import register_panel
    register_panel("analytics", "analytics/_customer_panel.html", context=fn,
                   permission="customers.read", order=20)

`context(customer)` returns what the template needs; the template sees it as
`panel_data` (plus the page's own context: `customer`, `can`, ...). Panels are shown by
`order`, only to roles with `permission`; registering a name again replaces it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint

from saas.web.access import can

bp = Blueprint("customer_panels", __name__)


@dataclass(frozen=True)
class Panel:
    name: str
    template: str
    context: Callable[[Any], dict[str, Any]] | None = None
    permission: str | None = "customers.read"
    order: int = 100


_PANELS: dict[str, Panel] = {}


def register_panel(name: str, template: str, context: Callable[[Any], dict] | None = None,
                   permission: str | None = "customers.read", order: int = 100) -> Panel:
    panel = Panel(name, template, context, permission, order)
    _PANELS[name] = panel
    return panel


def unregister_panel(name: str) -> None:
    _PANELS.pop(name, None)


def panels() -> list[Panel]:
    return sorted(_PANELS.values(), key=lambda p: (p.order, p.name))


def panels_for(customer: Any) -> list[dict[str, Any]]:
    """The panels the signed-in person may see, with their data for `customer`; the
    data is computed only for those panels."""
    return [{"name": p.name, "template": p.template,
             "data": p.context(customer) if p.context else {}}
            for p in panels() if p.permission is None or can(p.permission)]


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"customer_panels": panels_for}


# The loyalty panel gets its data from its own `loyalty_panel` template helper.
register_panel("loyalty", "loyalty/_customer_panel.html", order=10)
