"""Tier pages: the ordered tiers and their rules, preview of moves, apply, a customer's
tier history with manual override, and the tier/segment distribution dashboard.

Editing never moves anyone: the editor saves definitions (or previews them unsaved);
customers move only on "Apply", after the admin has seen who would move where.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import SelectField, StringField

from saas.extensions import db
from saas.jobs.queue import enqueue_after_commit
from saas.models.customers import CustomFieldDefinition
from saas.models.tiers import CustomerMeasure
from saas.services import row_scope, rules, segments
from saas.services import tiers as tier_service
from saas.services.errors import InvalidInput, ServiceError
from saas.tenancy import current_tenant
from saas.web import nav
from saas.web.access import flash_error, request_actor, require
from saas.web.forms import choices
from saas.web.messages import translate_message
from saas.web.rule_form import RuleForm, choice_hints, op_choices, subject_choices
from saas.web.rule_form import count as clamp_count
from saas.web.saving import back_with_error, commit_or_rerender

bp = Blueprint("tiers", __name__, url_prefix="/t/<slug>/tiers")
nav.add("tiers.index", _l("Tiers"), permission="customers.read", order=30)

SPARE_TIERS = 1
SEGMENT_LABELS = {
    "value_segment": _l("Value"), "behaviour": _l("Behaviour"), "lifecycle": _l("Lifecycle"),
    "high": _l("High"), "medium": _l("Medium"), "low": _l("Low"),
    "active": _l("Active"), "at_risk": _l("At risk"), "churned": _l("Churned"),
    "none": _l("No orders"), "prospect": _l("Prospect"), "new": _l("New"),
    "won_back": _l("Won back"),
}


class OverrideForm(FlaskForm):
    tier_id = SelectField(_l("Tier"), validate_choice=False)
    until = StringField(_l("Until"), render_kw={"type": "datetime-local"},
                        description=_l("Leave empty to keep the override until cleared."))
    note = StringField(_l("Note"))


def _custom_labels() -> dict[str, str]:
    return {d.key: d.label for d in db.session.scalars(select(CustomFieldDefinition))}


def _builder_options(allow_tier: bool = False) -> dict[str, Any]:
    ctx = rules.context_for(db.session, allow_tier=allow_tier)
    return {"subjects": subject_choices(ctx, _custom_labels(), allow_tier),
            "ops": op_choices(), "hints": choice_hints(ctx)}


def _measured_at() -> datetime | None:
    return db.session.scalar(select(func.max(CustomerMeasure.computed_at)))


@bp.get("/")
@require("customers.read")
def index():
    tiers = tier_service.list_tiers(db.session)
    db.session.commit()  # first use keeps the template's tiers
    counts = {row["name"]: row["count"] for row in tier_service.distribution(db.session)}
    problems = [f"{path}: {translate_message(m)}" for path, msgs in
                tier_service.saved_problems(db.session).items() for m in msgs]
    return render_template("tiers/index.html", tiers=tiers, counts=counts,
                           describe=rules.describe, measured_at=_measured_at(),
                           problems=problems)


# --- the editor -------------------------------------------------------------------------

class TierRow:
    """One tier on the editor page: its inputs and errors."""

    def __init__(self, index: int, name: str = "", colour: str = "#888888",
                 description: str = "", rule: RuleForm | None = None) -> None:
        self.index, self.name, self.colour, self.description = index, name, colour, description
        self.prefix = f"t{index}"
        self.rule = rule or RuleForm.from_rule(self.prefix, None)
        self.errors: dict[str, list[str]] = {}

    def error(self, name: str) -> list[str]:
        return self.errors.get(f"{self.prefix}-{name}", [])


def _rows_from_tiers(tiers) -> list[TierRow]:
    rows = [TierRow(i, t.name, t.colour, t.description, RuleForm.from_rule(f"t{i}", t.rule))
            for i, t in enumerate(tiers)]
    rows += [TierRow(len(rows) + k) for k in range(SPARE_TIERS)]
    return rows


def _rows_from_request() -> tuple[list[TierRow], list[dict], list[int]]:
    """The submitted tiers: the editor rows, the data for the service, and which row
    each submitted tier came from (blank rows and removed tiers are left out)."""
    form = request.form
    rows, data, origin = [], [], []
    count = clamp_count(form.get("tiers"), tier_service.MAX_TIERS + SPARE_TIERS)
    ctx = rules.context_for(db.session)
    order = []
    for i in range(count):
        p = f"t{i}"
        row = TierRow(i, (form.get(f"{p}-name") or "").strip(),
                      form.get(f"{p}-colour") or "#888888",
                      form.get(f"{p}-description") or "", RuleForm.from_request(p, form))
        rows.append(row)
        if form.get(f"{p}-remove") or (not row.name and row.rule.is_blank()):
            continue
        try:
            position = float(form.get(f"{p}-position") or i)
        except ValueError:
            position = i
        order.append((position, i))
    for _position, i in sorted(order):
        row = rows[i]
        data.append({"name": row.name, "colour": row.colour, "description": row.description,
                     "rule": row.rule.to_rule(ctx)})
        origin.append(i)
    return rows, data, origin


def _attach_errors(rows: list[TierRow], origin: list[int], exc: ServiceError) -> None:
    leftover = []
    for path, messages in exc.errors.items():
        parts = path.split(".")
        if len(parts) >= 2 and parts[0] == "tiers" and parts[1].isdigit() \
                and int(parts[1]) < len(origin):
            row = rows[origin[int(parts[1])]]
            if len(parts) >= 3 and parts[2] == "rule":
                row.rule.errors_from({path: messages}, f"tiers.{parts[1]}.rule")
            else:
                key = f"{row.prefix}-{parts[2] if len(parts) > 2 else 'name'}"
                row.errors.setdefault(key, []).extend(translate_message(m) for m in messages)
        else:
            leftover.extend(translate_message(m) for m in messages)
    flash("; ".join(leftover) if leftover else _("Please correct the marked fields."), "error")


@bp.route("/edit", methods=["GET", "POST"])
@require("settings.manage")
def edit():
    if request.method == "GET":
        rows = _rows_from_tiers(tier_service.list_tiers(db.session))
        db.session.commit()
        return render_template("tiers/edit.html", rows=rows, preview=None,
                               **_builder_options())
    rows, data, origin = _rows_from_request()
    previewing = request.form.get("action") == "preview"
    try:
        if previewing:
            preview = tier_service.preview(db.session, data)
            db.session.rollback()  # a preview writes nothing
            return render_template("tiers/edit.html", rows=rows, preview=preview,
                                   **_builder_options())
        tier_service.save_tiers(db.session, request_actor(), data)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        _attach_errors(rows, origin, exc)
        return render_template("tiers/edit.html", rows=rows, preview=None,
                               **_builder_options()), exc.status
    flash(_("Tiers saved. Preview and apply them to move customers."), "success")
    return redirect(url_for(".preview"), 303)


# --- preview and apply ------------------------------------------------------------------

@bp.get("/preview")
@require("customers.read")
def preview():
    try:
        result = tier_service.preview(db.session)
    except ServiceError as exc:
        db.session.rollback()
        flash_error(exc)
        return redirect(url_for(".index"), 303)
    db.session.rollback()
    return render_template("tiers/preview.html", preview=result, measured_at=_measured_at())


@bp.post("/apply")
@require("settings.manage")
def apply():
    result = commit_or_rerender(lambda: tier_service.apply(db.session, request_actor()),
                                back_with_error(url_for(".index"), 303))
    flash(_("Rules version %(version)s applied: %(moved)s customers moved.",
            version=result["version"], moved=result["moved"]), "success")
    return redirect(url_for(".index"), 303)


@bp.post("/refresh")
@require("settings.manage")
def refresh():
    """Recompute measures (and re-apply the applied rules) in the background."""
    enqueue_after_commit(db.session, "saas.jobs.measures:refresh_tenant", current_tenant.id)
    db.session.commit()
    flash(_("Measures are being recomputed."), "success")
    return redirect(url_for(".index"), 303)


# --- one customer -----------------------------------------------------------------------

def _override_form() -> OverrideForm:
    form = OverrideForm()
    form.tier_id.choices = choices([(str(t.id), t.name)
                                    for t in tier_service.list_tiers(db.session)])
    return form


def _render_customer(customer, form: OverrideForm, status: int = 200):
    current = tier_service.customer_tier(db.session, customer.id)
    return render_template("tiers/customer.html", customer=customer, current=current,
                           history=tier_service.history(db.session, customer.id),
                           form=form), status


@bp.get("/customers/<customer_id>")
@require("customers.read")
def customer(customer_id: str):
    found = row_scope.get_customer(db.session, request_actor(), customer_id)
    return _render_customer(found, _override_form())


def _parse_until(value: str | None) -> datetime | None:
    """A local date and time (the tenant's zone) from the form, as aware UTC."""
    if not value or not value.strip():
        return None
    try:
        local = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidInput.field("until", "Enter a date and time.") from exc
    if local.tzinfo is None:
        local = local.replace(tzinfo=ZoneInfo(current_tenant.timezone))
    return local


@bp.post("/customers/<customer_id>/override")
@require("customers.write")
def override(customer_id: str):
    found = row_scope.get_customer(db.session, request_actor(), customer_id)
    form = _override_form()
    if not form.validate_on_submit():
        return _render_customer(found, form, 422)
    commit_or_rerender(
        lambda: tier_service.override(db.session, request_actor(), found.id, form.tier_id.data,
                                      _parse_until(form.until.data), form.note.data or ""),
        lambda exc: _render_customer(row_scope.get_customer(db.session, request_actor(),
                                                            customer_id), form, exc.status),
        form=form)
    flash(_("Tier overridden."), "success")
    return redirect(url_for(".customer", customer_id=found.id), 303)


@bp.post("/customers/<customer_id>/override/clear")
@require("customers.write")
def clear_override(customer_id: str):
    found = row_scope.get_customer(db.session, request_actor(), customer_id)
    tier_service.clear_override(db.session, request_actor(), found.id)
    db.session.commit()
    flash(_("Override ended; the next apply assigns this customer by the rules."), "success")
    return redirect(url_for(".customer", customer_id=found.id), 303)


# --- dashboard --------------------------------------------------------------------------

@bp.get("/dashboard")
@require("customers.read")
def dashboard():
    tiers = tier_service.distribution(db.session)
    db.session.commit()
    tier_rows = [{"label": row["name"] or _("No tier"), "colour": row["colour"],
                  "count": row["count"]} for row in tiers]
    builtin = segments.builtin_distribution(db.session)
    charts = [{"id": "tiers", "title": _("Customers per tier"), "rows": tier_rows}]
    for key, rows in builtin.items():
        charts.append({"id": key, "title": str(SEGMENT_LABELS[key]), "rows": [
            {"label": str(SEGMENT_LABELS.get(r["key"], r["key"])), "colour": None,
             "count": r["count"]} for r in rows]})
    return render_template("tiers/dashboard.html", charts=charts, measured_at=_measured_at())
