"""The duplicates queue: candidate pairs with their reason, a side-by-side comparison
where staff pick the surviving value per field, merge, or dismiss a pair."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from saas.extensions import db
from saas.services import duplicates, merge, row_scope
from saas.services.errors import ServiceError
from saas.web import nav
from saas.web import privacy as privacy_web
from saas.web.access import flash_error, request_actor, require

bp = Blueprint("duplicates", __name__, url_prefix="/t/<slug>/duplicates")
nav.add("duplicates.index", _l("Duplicates"), permission="customers.read", order=27)

REASON_LABELS = {"same_email": _l("Same email"), "same_phone": _l("Same phone"),
                 "same_name": _l("Same name"),
                 "similar_name_same_address": _l("Similar name and same address")}
FIELD_LABELS = {"kind": _l("Type"), "name": _l("Name"), "wechat_id": _l("WeChat ID"),
                "address": _l("Address"), "industry": _l("Industry"),
                "company_size": _l("Company size"), "purchasing_power": _l("Purchasing power"),
                "category": _l("Category"), "owner_id": _l("Owner"),
                "department": _l("Department"), "birthday": _l("Birthday"),
                "source_channel": _l("Source channel"), "lifecycle_stage": _l("Lifecycle stage"),
                "notes": _l("Notes"), "external_id": _l("External ID")}


@bp.get("/")
@require("customers.read")
def index():
    reason = request.args.get("reason") or None
    try:
        pairs = row_scope.visible_pairs(db.session, request_actor(),
                                        duplicates.candidates(db.session, 100, reason))
    except ServiceError as exc:
        flash_error(exc)
        pairs = []
    return render_template("duplicates/index.html", pairs=[_shown(p) for p in pairs],
                           reason=reason, reason_labels=REASON_LABELS)


def _shown(pair: duplicates.Pair) -> Any:
    """A pair as the viewer's role may see it: both customers redacted (masked values
    masked, hidden ones empty) and each reason's shared value likewise (issue 11)."""
    return SimpleNamespace(
        first=privacy_web.redacted(pair.first), second=privacy_web.redacted(pair.second),
        reasons=pair.reasons, detail=duplicates.redacted_detail(
            privacy_web.web_access(), pair.reasons, pair.detail))


def _pair():
    actor = request_actor()
    first = row_scope.get_customer(db.session, actor, request.values.get("survivor", ""))
    second = row_scope.get_customer(db.session, actor, request.values.get("merged", ""))
    if first.id == second.id:
        abort(404)
    return first, second


@bp.get("/compare")
@require("customers.write")
def compare():
    survivor, merged = _pair()
    _values, used = merge.plan(survivor, merged)
    access = privacy_web.web_access()
    survivor, merged = privacy_web.redacted(survivor), privacy_web.redacted(merged)
    keys = sorted({*(survivor.custom_fields or {}), *(merged.custom_fields or {})})
    fields = [f for f in merge.SCALAR_FIELDS if access.can_see(f) or f not in
              {s.key for s in access.specs}]
    return render_template("duplicates/compare.html", survivor=survivor, merged=merged,
                           used=used, fields=fields, field_labels=FIELD_LABELS,
                           custom_keys=keys)


@bp.post("/merge")
@require("customers.write")
def merge_pair():
    survivor, merged = _pair()
    allowed = {*merge.SCALAR_FIELDS,
               *(f"custom_fields.{k}" for k in {*(survivor.custom_fields or {}),
                                                *(merged.custom_fields or {})})}
    choices = {k[7:]: v for k, v in request.form.items()
               if k.startswith("choice-") and k[7:] in allowed}
    try:
        merge.merge_customers(db.session, request_actor(), survivor.id, merged.id, choices)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        flash_error(exc)
        return redirect(url_for(".index"), 303)
    flash(_("Customers merged."), "success")
    return redirect(url_for("customers.show", customer_id=survivor.id), 303)


@bp.post("/dismiss")
@require("customers.write")
def dismiss():
    survivor, merged = _pair()
    duplicates.dismiss(db.session, request_actor(), survivor.id, merged.id)
    db.session.commit()
    flash(_("The pair will not be suggested again."), "success")
    return redirect(url_for(".index"), 303)
