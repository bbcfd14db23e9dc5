"""My performance: the signed-in person's own KPIs (all an agent may see of the
leaderboard)."""

from __future__ import annotations

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from saas.web import nav
from saas.web.access import current_staff, require
from saas.web.team import leaderboard_page

bp = Blueprint("my_performance", __name__, url_prefix="/t/<slug>/analytics/me")
nav.add("my_performance.index", _l("My performance"), order=61)


@bp.get("")
@require()
def index():
    return leaderboard_page("analytics/me.html", staff_id=current_staff().id)
