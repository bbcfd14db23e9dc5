"""The tenant's start page after logging in (a dashboard later issues fill in)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l

from saas.web import nav
from saas.web.access import require

bp = Blueprint("home", __name__, url_prefix="/t/<slug>")
nav.add("home.index", _l("Home"), order=0)


@bp.get("/")
@require()
def index():
    return render_template("home/index.html")
