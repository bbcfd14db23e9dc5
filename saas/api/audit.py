"""The audit log: who did what to which record, when and from where (admins only)."""

from __future__ import annotations

from datetime import UTC

import marshmallow as ma
from flask_smorest import Blueprint

from saas.api.common import Schema, require
from saas.api.pagination import page_args, page_schema, paginate
from saas.extensions import db
from saas.models import AuditEntry
from saas.services import audit as audit_service

blp = Blueprint("api_audit", __name__, url_prefix="/audit",
                description="The tenant's audit log (read-only).")


class AuditEntrySchema(Schema):
    id = ma.fields.UUID()
    created_at = ma.fields.DateTime()
    actor_id = ma.fields.UUID(allow_none=True)
    actor_label = ma.fields.String()
    action = ma.fields.String()
    entity_type = ma.fields.String()
    entity_id = ma.fields.String(allow_none=True)
    changes = ma.fields.Dict()
    ip = ma.fields.String(allow_none=True)
    user_agent = ma.fields.String(allow_none=True)


AuditListArgs = page_args(
    "AuditListArgs", sorts=("created_at",), default="-created_at",
    action=ma.fields.String(), entity_type=ma.fields.String(),
    entity_id=ma.fields.String(), actor_id=ma.fields.UUID(),
    since=ma.fields.AwareDateTime(default_timezone=UTC),
    until=ma.fields.AwareDateTime(default_timezone=UTC))


@blp.route("")
@require("audit.read")
@blp.arguments(AuditListArgs, location="query")
@blp.response(200, page_schema(AuditEntrySchema))
def list_audit(args):
    flt = audit_service.AuditFilter(**{k: args.get(k) for k in (
        "action", "entity_type", "entity_id", "actor_id", "since", "until")})
    return paginate(db.session, audit_service.query(flt), args,
                    {"created_at": AuditEntry.created_at}, tiebreak=AuditEntry.id)
