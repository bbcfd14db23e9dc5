"""Plugin admin pages and the endpoints plugins register.

The settings form is generated from the plugin's marshmallow schema; the schema, not
the form, validates, so the API and the page give the same field errors.
"""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from wtforms import BooleanField, PasswordField, SelectField, StringField, TextAreaField

from saas.extensions import csrf, db
from saas.hooks.manager import PluginTimeout, get_host, run_with_timeout
from saas.hooks.types import InboundMessage
from saas.models.plugins import DELIVERY_STATUSES
from saas.services import plugin_deliveries as delivery_service
from saas.services import plugins as plugin_service
from saas.services.errors import InvalidInput
from saas.tenancy import current_tenant
from saas.web import nav
from saas.web.access import request_actor, require
from saas.web.forms import choices
from saas.web.saving import commit_or_rerender

log = logging.getLogger("saas.plugins")

bp = Blueprint("plugins", __name__)
nav.add("plugins.index", _l("Plugins"), permission="plugins.manage", order=75)

PREFIX = "/t/<slug>/plugins"
EXT_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


# -- the list ---------------------------------------------------------------------


@bp.get(f"{PREFIX}/")
@require("plugins.manage")
def index():
    plugins = plugin_service.list_plugins(db.session)
    counts = delivery_service.counts(db.session)
    return render_template("plugins/index.html", plugins=plugins, counts=counts)


@bp.post(f"{PREFIX}/<name>/enable")
@require("plugins.manage")
def enable(name: str):
    try:
        plugin_service.set_enabled(db.session, request_actor(), name, True)
        db.session.commit()
    except InvalidInput as exc:
        db.session.rollback()
        if exc.errors:
            flash(_("Complete the settings of %(name)s before enabling it.", name=name),
                  "error")
            return redirect(url_for(".settings", name=name), 303)
        raise
    flash(_("%(name)s is enabled.", name=name), "success")
    return redirect(url_for(".index"), 303)


@bp.post(f"{PREFIX}/<name>/disable")
@require("plugins.manage")
def disable(name: str):
    plugin_service.set_enabled(db.session, request_actor(), name, False)
    db.session.commit()
    flash(_("%(name)s is disabled.", name=name), "success")
    return redirect(url_for(".index"), 303)


# -- settings ----------------------------------------------------------------------


def settings_form(fields: list[dict], values: dict, formdata=None) -> FlaskForm:
    """A WTForms form with one field per schema field (validation stays in the schema)."""

    class PluginSettingsForm(FlaskForm):
        pass

    data = {}
    for f in fields:
        kw = {"description": f["help"] or ""}
        value = values.get(f["name"])
        if f["choices"]:
            field = SelectField(f["label"], choices=choices((c, c) for c in f["choices"]),
                                validate_choice=False, **kw)
        elif f["type"] == "Boolean":
            field = BooleanField(f["label"], **kw)
        elif f["secret"]:
            field = PasswordField(f["label"], render_kw={
                "placeholder": value or "", "autocomplete": "new-password"}, **kw)
            value = ""
        elif f["multiline"]:
            field = TextAreaField(f["label"], render_kw={"rows": 4}, **kw)
            if isinstance(value, list):
                value = "\n".join(str(v) for v in value)
        else:
            field = StringField(f["label"], **kw)
        setattr(PluginSettingsForm, f["name"], field)
        data[f["name"]] = "" if value is None else value
    return PluginSettingsForm(formdata=formdata, data=data)


def form_to_settings(fields: list[dict], form: FlaskForm) -> dict:
    """Posted strings to the values the schema loads: lists split by line, blanks of
    optional fields left out so that their defaults apply."""
    out = {}
    for f in fields:
        raw = form[f["name"]].data
        if f["type"] == "Boolean":
            out[f["name"]] = bool(raw)
        elif f["type"] == "List":
            out[f["name"]] = [line.strip() for line in (raw or "").splitlines()
                              if line.strip()]
        elif raw not in (None, "") or f["secret"]:
            out[f["name"]] = raw
    return out


@bp.route(f"{PREFIX}/<name>/settings", methods=["GET", "POST"])
@require("plugins.manage")
def settings(name: str):
    status = plugin_service.plugin_status(db.session, name)
    if status.status not in (plugin_service.STATUS_ENABLED, plugin_service.STATUS_DISABLED):
        abort(404)
    fields = plugin_service.describe_settings(name)
    values = plugin_service.settings_for_display(db.session, name)

    def page(form: FlaskForm, code: int = 200):
        return render_template("plugins/settings.html", plugin=status, fields=fields,
                               form=form), code

    if request.method == "GET":
        return page(settings_form(fields, values))
    form = settings_form(fields, values, formdata=request.form)
    if not form.validate_on_submit():
        return page(form, 400)
    commit_or_rerender(lambda: plugin_service.update_settings(
        db.session, request_actor(), name, form_to_settings(fields, form)),
        lambda exc: page(form, exc.status), form=form)
    flash(_("Settings of %(name)s saved.", name=name), "success")
    return redirect(url_for(".settings", name=name), 303)


# -- deliveries --------------------------------------------------------------------


@bp.get(f"{PREFIX}/deliveries")
@require("plugins.manage")
def deliveries():
    status = request.args.get("status") or None
    if status not in (None, *DELIVERY_STATUSES):
        status = None
    plugin = request.args.get("plugin") or None
    page = request.args.get("page", 1, type=int) or 1
    items, has_next = delivery_service.list_deliveries(
        db.session, delivery_service.DeliveryFilter(status=status, plugin=plugin), page=page)
    args = {k: v for k, v in {"status": status, "plugin": plugin}.items() if v}
    return render_template("plugins/deliveries.html", items=items, has_next=has_next,
                           page=page, args=args, status=status, plugin=plugin,
                           statuses=DELIVERY_STATUSES,
                           plugin_names=[p.name for p in
                                         plugin_service.list_plugins(db.session)],
                           counts=delivery_service.counts(db.session),
                           retryable=delivery_service.RETRYABLE)


@bp.post(f"{PREFIX}/deliveries/<delivery_id>/retry")
@require("plugins.manage")
def retry(delivery_id: str):
    delivery = delivery_service.retry(db.session, request_actor(), delivery_id)
    db.session.commit()
    flash(_("Delivery to %(name)s queued again.", name=delivery.plugin), "success")
    return redirect(request.form.get("next") or url_for(".deliveries"), 303)


# -- endpoints that plugins register -----------------------------------------------


@bp.route("/t/<slug>/ext/<plugin>/", defaults={"subpath": ""}, methods=EXT_METHODS)
@bp.route("/t/<slug>/ext/<plugin>/<path:subpath>", methods=EXT_METHODS)
@csrf.exempt
def ext(plugin: str, subpath: str):
    """Dispatch to a plugin's own route; only for tenants that enabled the plugin.

    A view may return an `InboundMessage`: it is handed to the service desk and the
    caller gets 202 with its reference.
    """
    host = get_host()
    if host.get(plugin) is None or not plugin_service.is_enabled(db.session, plugin):
        abort(404)
    try:
        offered = host.call(plugin, "register_routes") or []
    except Exception:
        log.exception("plugin %s failed to register its routes", plugin)
        return jsonify(error="The plugin failed."), 502
    routes = [r for r in offered if callable(getattr(r, "view", None))]
    adapter = Map([Rule(r.rule, endpoint=i, methods=list(r.methods))
                   for i, r in enumerate(routes)]).bind("localhost")
    try:
        index_, values = adapter.match("/" + subpath, method=request.method)
    except HTTPException as exc:
        abort(exc.code or 404)
    tenant = plugin_service.tenant_info(current_tenant)
    config = plugin_service.plugin_settings(db.session, plugin)
    req = request._get_current_object()  # type: ignore[attr-defined]
    view = routes[index_].view
    try:
        result = run_with_timeout(lambda: view(req, tenant, config, **values),
                                  float(current_app.config.get("PLUGIN_TIMEOUT") or 20),
                                  f"{plugin}.route")
    except PluginTimeout:
        log.warning("plugin %s route %s timed out", plugin, subpath)
        return jsonify(error="The plugin did not answer in time."), 504
    except Exception:
        log.exception("plugin %s route %s failed", plugin, subpath)
        return jsonify(error="The plugin failed."), 502
    if isinstance(result, InboundMessage):
        ref = plugin_service.receive_inbound(db.session, plugin, result)
        db.session.commit()
        return jsonify(accepted=True, ref=ref), 202
    return make_response(result)
