"""Logging in and out of one tenant, and accepting an invitation to join it."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField

from saas.extensions import db, limiter
from saas.services import staff as staff_service
from saas.web.access import current_staff, safe_next
from saas.web.saving import commit_or_rerender

bp = Blueprint("auth", __name__, url_prefix="/t/<slug>")


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"))
    password = PasswordField(_l("Password"))


class AcceptInvitationForm(FlaskForm):
    name = StringField(_l("Your name"))
    password = PasswordField(_l("Choose a password"))


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _start_session(staff) -> None:
    """A fresh session on login (nothing from before survives except the language)."""
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    login_user(staff)
    g.staff = staff


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    form = LoginForm()
    home = url_for("home.index")
    if request.method == "GET":
        if current_staff() is not None:
            return redirect(home)
        form.email.data = form.email.data or request.args.get("email", "")
        return render_template("auth/login.html", form=form)
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 400
    staff = staff_service.authenticate(db.session, form.email.data or "",
                                       form.password.data or "", request.remote_addr,
                                       request.user_agent.string)
    db.session.commit()
    if staff is None:
        form.password.errors = [_("Wrong email or password, or the account is deactivated.")]
        return render_template("auth/login.html", form=form), 401
    _start_session(staff)
    return redirect(safe_next(request.args.get("next"), home))


@bp.post("/logout")
def logout():
    logout_user()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    invitation = staff_service.find_invitation(db.session, token)
    form = AcceptInvitationForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("auth/invitation.html", form=form,
                               invitation=invitation), status
    staff = commit_or_rerender(
        lambda: staff_service.accept_invitation(db.session, token, form.name.data or "",
                                                form.password.data or "",
                                                ip=request.remote_addr),
        lambda exc: (render_template("auth/invitation.html", form=form,
                                     invitation=invitation), exc.status), form=form)
    _start_session(staff)
    flash(_("Welcome aboard, %(name)s!", name=staff.name), "success")
    return redirect(url_for("home.index"))
