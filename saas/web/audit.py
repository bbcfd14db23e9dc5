"""The audit log for administrators: who did what, filtered and paged, in local time."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Optional

from saas.extensions import db
from saas.models import AuditEntry
from saas.services import audit as audit_service
from saas.services import staff as staff_service
from saas.tenancy import current_tenant
from saas.web import nav
from saas.web.access import require
from saas.web.forms import choices

bp = Blueprint("audit", __name__, url_prefix="/t/<slug>/audit")
nav.add("audit.index", _l("Audit log"), permission="audit.read", order=90)

PER_PAGE = 50


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    action = StringField(_l("Action"))
    entity_type = StringField(_l("Record type"))
    actor = SelectField(_l("Who"), default="")
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To"), validators=[Optional()])


def _start_of_day(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, zone)


def _filter_from(form: AuditFilterForm, zone: ZoneInfo) -> audit_service.AuditFilter:
    return audit_service.AuditFilter(
        action=(form.action.data or "").strip() or None,
        entity_type=(form.entity_type.data or "").strip() or None,
        actor_id=uuid.UUID(form.actor.data) if form.actor.data else None,
        since=_start_of_day(form.since.data, zone) if form.since.data else None,
        until=_start_of_day(form.until.data + timedelta(days=1), zone)
        if form.until.data else None)


def _page() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


@bp.get("/")
@require("audit.read")
def index():
    members = db.session.scalars(staff_service.list_staff(db.session)).all()
    form = AuditFilterForm(request.args)
    form.actor.choices = choices([("", _l("Anyone"))] + [(m.id.hex, m.name) for m in members])
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    if args and not form.validate():
        return render_template("audit/index.html", form=form, entries=[], page=1,
                               has_next=False, args=args), 422
    page = _page()
    zone = ZoneInfo(current_tenant.timezone)
    stmt = audit_service.query(_filter_from(form, zone)).order_by(None).order_by(
        AuditEntry.created_at.desc(), AuditEntry.id.desc())
    rows = db.session.scalars(stmt.offset((page - 1) * PER_PAGE).limit(PER_PAGE + 1)).all()
    return render_template("audit/index.html", form=form, entries=rows[:PER_PAGE], page=page,
                           has_next=len(rows) > PER_PAGE, args=args)
