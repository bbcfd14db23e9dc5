"""Bundle suggestions for admins and managers: the stored association rules (support,
confidence, lift) with product names, sortable."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select

from saas.extensions import db
from saas.models.analytics import AssociationRule
from saas.models.products import Product
from saas.web import nav
from saas.web.access import require

bp = Blueprint("bundles", __name__, url_prefix="/t/<slug>/analytics/bundles")
nav.add("bundles.index", _l("Bundles"), permission="reports.read", order=62)

RULE_SORTS = {"lift": AssociationRule.lift, "confidence": AssociationRule.confidence,
              "support": AssociationRule.support, "pair_count": AssociationRule.pair_count}
MAX_ROWS = 200


@bp.get("")
@require("reports.read")
def index():
    """Rules "bought A → also bought B", strongest lift first unless sorted otherwise
    (an unknown sort falls back to lift)."""
    sort = request.args.get("sort", "-lift")
    column = RULE_SORTS.get(sort.lstrip("-"))
    if column is None:
        sort, column = "-lift", AssociationRule.lift
    a, b = Product.__table__.alias("a"), Product.__table__.alias("b")
    stmt = (select(AssociationRule, a.c.name.label("a_name"), a.c.sku.label("a_sku"),
                   b.c.name.label("b_name"), b.c.sku.label("b_sku"))
            .join(a, and_(a.c.tenant_id == AssociationRule.tenant_id,
                          a.c.id == AssociationRule.antecedent_id))
            .join(b, and_(b.c.tenant_id == AssociationRule.tenant_id,
                          b.c.id == AssociationRule.consequent_id))
            .order_by(column.desc() if sort.startswith("-") else column.asc(),
                      AssociationRule.id)
            .limit(MAX_ROWS))
    rows = db.session.execute(stmt).all()
    computed_at = db.session.scalar(select(func.max(AssociationRule.computed_at)))
    return render_template("analytics/bundles.html", rows=rows, sort=sort,
                           computed_at=computed_at)
