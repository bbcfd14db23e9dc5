"""API tokens: create one (the secret is shown once), see when each was last used, revoke.

Staff who manage staff see every token of the account; everyone else only their own.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField

from saas.extensions import db
from saas.services import staff as staff_service
from saas.services import tokens as token_service
from saas.web import nav
from saas.web.access import can, current_staff, request_actor, require
from saas.web.forms import choices
from saas.web.saving import commit_or_rerender

bp = Blueprint("tokens", __name__, url_prefix="/t/<slug>/tokens")
nav.add("tokens.index", _l("API tokens"), permission="tokens.manage", order=85)

SCOPE_CHOICES = (("read", _l("Read only")), ("write", _l("Read and write")))


class TokenForm(FlaskForm):
    name = StringField(_l("Name"))
    scope = SelectField(_l("Access"), choices=choices(SCOPE_CHOICES), validate_choice=False)


def _sees_all() -> bool:
    return can("staff.manage")


def _render(form: TokenForm, status: int = 200, secret: str | None = None):
    staff = current_staff()
    owner_filter = None if _sees_all() else staff.id
    tokens = db.session.scalars(token_service.list_tokens(db.session, owner_filter)).all()
    names = {}
    if _sees_all():
        names = {s.id: s.name for s in
                 db.session.scalars(staff_service.list_staff(db.session))}
    return render_template("tokens/index.html", form=form, tokens=tokens, names=names,
                           new_secret=secret, sees_all=_sees_all()), status


@bp.get("/")
@require("tokens.manage")
def index():
    return _render(TokenForm())


@bp.post("/")
@require("tokens.manage")
def create():
    form = TokenForm()
    if not form.validate_on_submit():
        return _render(form, 400)
    _token, secret = commit_or_rerender(
        lambda: token_service.create_token(db.session, request_actor(), form.name.data or "",
                                           form.scope.data or ""),
        lambda exc: _render(form, exc.status), form=form)
    return _render(TokenForm(formdata=None), 201, secret)


@bp.post("/<token_id>/revoke")
@require("tokens.manage")
def revoke(token_id: str):
    token = token_service.revoke(db.session, request_actor(), token_id,
                                 own_only=not _sees_all())
    db.session.commit()
    flash(_("Token “%(name)s” revoked.", name=token.name), "success")
    return redirect(url_for(".index"), 303)
