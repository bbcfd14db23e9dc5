"""The tenant's start page after logging in: the analytics dashboard for every role that
may read reports (managers, admins, the owner, read-only), the tiles of the sections the
role may use for everyone else (agents)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l

from saas.web import nav
from saas.web.access import can, require

bp = Blueprint("home", __name__, url_prefix="/t/<slug>")
nav.add("home.index", _l("Home"), order=0)


@bp.get("/")
@require()
def index():
    if can("reports.read"):
        from saas.web.dashboard import render_dashboard

        return render_dashboard()
    return render_template("home/index.html")
