"""Pages anyone can see: the landing page, sign-up, finding your login, the language switch."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField

from saas.extensions import db
from saas.services import tenants as tenant_service
from saas.services.errors import ServiceError
from saas.tenant_templates import available_templates
from saas.web.access import form_errors, safe_next
from saas.web.forms import choices

bp = Blueprint("public", __name__)

TIMEZONES = ("Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore",
             "Asia/Tokyo", "Asia/Seoul", "Asia/Kolkata", "Asia/Dubai", "Europe/London",
             "Europe/Berlin", "Europe/Paris", "America/New_York", "America/Chicago",
             "America/Los_Angeles", "America/Sao_Paulo", "Australia/Sydney", "UTC")
LOCALE_CHOICES = (("zh_CN", "简体中文"), ("en", "English"))


def timezone_choices(current: str | None = None) -> list:
    zones = list(TIMEZONES)
    if current and current not in zones:
        zones.insert(0, current)
    return choices((z, z.replace("_", " ")) for z in zones)


class SignupForm(FlaskForm):
    company = StringField(_l("Company name"))
    slug = StringField(_l("Account address"))
    owner_name = StringField(_l("Your name"))
    email = EmailField(_l("Work email"))
    password = PasswordField(_l("Password"))
    locale = SelectField(_l("Language"), choices=choices(LOCALE_CHOICES), validate_choice=False)
    timezone = SelectField(_l("Time zone"), validate_choice=False)
    currency = SelectField(_l("Currency"),
                           choices=choices((c, c) for c in tenant_service.CURRENCIES),
                           validate_choice=False)
    template = SelectField(_l("Industry template"), validate_choice=False)


class FindAccountForm(FlaskForm):
    class Meta:
        csrf = False

    company = StringField(_l("Company address"))


@bp.get("/")
def index():
    return render_template("public/index.html", form=FindAccountForm(request.args))


@bp.get("/login")
def find_account():
    """Log in by company address: send the visitor to their tenant's login page."""
    form = FindAccountForm(request.args)
    slug = (form.company.data or "").strip().lower().strip("/")
    if slug and tenant_service.tenant_by_slug(db.session, slug) is not None:
        return redirect(url_for("auth.login", slug=slug))
    form.company.errors = [_("No account has this address.") if slug
                           else _("Enter your company's account address.")]
    return render_template("public/index.html", form=form), 404 if slug else 422


def _signup_form() -> SignupForm:
    form = SignupForm()
    form.timezone.choices = timezone_choices(form.timezone.data)
    form.template.choices = choices((key, tpl["name"])
                                   for key, tpl in available_templates().items())
    if request.method == "GET":
        wants_zh = (request.accept_languages.best_match(["zh_CN", "zh", "en"]) or "en") != "en"
        form.locale.data = session.get("locale") or ("zh_CN" if wants_zh else "en")
        form.timezone.data = "Asia/Shanghai"
        form.currency.data = "CNY"
    return form


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    form = _signup_form()
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template("public/signup.html", form=form), status
    data = tenant_service.SignupData(
        company=form.company.data or "", slug=form.slug.data or "",
        owner_name=form.owner_name.data or "", email=form.email.data or "",
        password=form.password.data or "", locale=form.locale.data or "",
        timezone=form.timezone.data or "", currency=form.currency.data or "",
        template=form.template.data or "")
    try:
        tenant, owner = tenant_service.signup(db.session, data)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        form_errors(form, exc)
        return render_template("public/signup.html", form=form), exc.status
    session["locale"] = tenant.locale
    flash(_("Your account is ready. Log in to start."), "success")
    return redirect(url_for("auth.login", slug=tenant.slug, email=owner.email))


@bp.post("/language")
def set_language():
    """Remember the visitor's language in the session (any page's header posts here)."""
    choice = request.form.get("locale", "")
    if choice in dict(LOCALE_CHOICES):
        session["locale"] = choice
    return redirect(safe_next(request.form.get("next"), url_for("public.index")))
