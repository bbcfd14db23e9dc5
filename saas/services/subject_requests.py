"""Data subject requests: export everything held about one customer, or erase it.

Which tables hold a customer's data is not listed here: `merge.customer_references()`
reads every foreign key into `customers` from the schema, so a table a later feature adds
(visits, survey answers...) is exported without touching this module. Erasure needs to
know what is personal in a table, so tables with free text register an eraser with
`register_eraser`; rows of other tables are facts (orders, points ledger) that are kept
so aggregates and ledgers stay consistent — they only point at a now-anonymous customer.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import String, Table, Text, delete, select, update
from sqlalchemy.orm import Session

from saas.models.base import utcnow
from saas.models.customers import CONSENT_CHANNELS, Contact, Customer, CustomerLookup
from saas.models.plugins import Delivery
from saas.models.privacy import ErasureRecord
from saas.services import audit, outbox, read_audit
from saas.services import consent as consent_history
from saas.services.context import Actor
from saas.services.errors import InvalidInput

ERASED = "[erased]"
Eraser = Callable[[Session, Table, str, list[uuid.UUID]], int]
"""(session, table, customer column, customer ids) -> rows changed."""

_ERASERS: dict[str, Eraser] = {}
PERSONAL_FIELDS = ("phones", "emails", "phone", "email", "wechat_id", "address",
                   "birthday", "notes", "external_id", "tags", "custom_fields")


def register_eraser(table: str, eraser: Eraser) -> None:
    """Erase personal data in `table` yourself (rows referencing an erased customer)."""
    _ERASERS[table] = eraser


def _jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return None
    return value


def _family(session: Session, customer: Customer) -> list[uuid.UUID]:
    """The customer and every customer merged into it (directly or in a chain)."""
    ids = [customer.id]
    frontier = [customer.id]
    while frontier:
        found = list(session.scalars(select(Customer.id).where(
            Customer.merged_into_id.in_(frontier))))
        found = [f for f in found if f not in ids]
        ids.extend(found)
        frontier = found
    return ids


def _profile(row: Any) -> dict[str, Any]:
    """A customers row as the subject sees it: sensitive custom field values decrypted
    into `custom_fields`, without their blind indexes."""
    out = dict(row)
    out["custom_fields"] = {**(out.pop("sensitive_fields", None) or {}),
                            **(out.get("custom_fields") or {})}
    out.pop("sensitive_index", None)
    return out


def _second_level() -> list[tuple[Table, str, Table]]:
    """(table, column, parent): tables that point at a table pointing at customers but
    not at customers themselves (ticket messages and attachments via tickets, order
    lines via orders, answer items via answers), read from the schema like the first
    level, so the export follows a conversation without a list of tables here."""
    from saas.services.merge import customer_references

    direct = {t.name: t for t, _c in customer_references() if t.name != "customers"}
    found = []
    for table in Customer.metadata.sorted_tables:
        if table.name in direct or table.name == "customers":
            continue
        for fk in table.foreign_key_constraints:
            parent = fk.referred_table
            if parent.name not in direct or "id" not in parent.c:
                continue
            for column in fk.column_keys:
                if column != "tenant_id":
                    found.append((table, column, parent))
    return found


def collect(session: Session, customer: Customer) -> dict[str, list[dict[str, Any]]]:
    """Every row about the customer (and customers merged into it), by table name."""
    from saas.services.merge import customer_references

    ids = _family(session, customer)
    data: dict[str, list[dict[str, Any]]] = {}
    profile_rows = session.execute(select(Customer.__table__).where(
        Customer.__table__.c.id.in_(ids))).mappings().all()
    data["customers"] = [{k: _jsonable(v) for k, v in _profile(r).items()}
                         for r in profile_rows]
    found_ids: dict[str, list[Any]] = {}
    for table, column in customer_references():
        if table.name == "customers":
            continue
        rows = session.execute(select(table).where(table.c[column].in_(ids))).mappings()
        items = [{k: _jsonable(v) for k, v in r.items()} for r in rows]
        if items:
            data.setdefault(table.name, []).extend(items)
            if "id" in table.c:
                found_ids.setdefault(table.name, []).extend(r["id"] for r in items)
    for child, column, parent in _second_level():
        parent_ids = found_ids.get(parent.name)
        if not parent_ids:
            continue
        rows = session.execute(select(child).where(child.c[column].in_(
            [uuid.UUID(i) for i in parent_ids]))).mappings()
        items = [{k: _jsonable(v) for k, v in r.items()} for r in rows]
        if items:
            data.setdefault(child.name, []).extend(items)
    deliveries = session.scalars(select(Delivery).where(Delivery.kind == "message"))
    wanted = {str(i) for i in ids}
    found = [{c.name: _jsonable(getattr(d, c.key)) for c in Delivery.__table__.c}
             for d in deliveries if str((d.payload or {}).get("customer_id")) in wanted]
    if found:
        data["deliveries"] = found
    return data


def export_customer(session: Session, actor: Actor, customer_id: Any) -> bytes:
    """A zip: everything.json plus one CSV per table. Recorded in the read audit."""
    from saas.services.customers import get_customer

    customer = get_customer(session, customer_id)
    data = collect(session, customer)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("everything.json", json.dumps(
            {"customer_id": str(customer.id), "exported_at": utcnow().isoformat(),
             "tables": data}, ensure_ascii=False, indent=2, default=str))
        for name, rows in data.items():
            out = io.StringIO()
            header = sorted({k for r in rows for k in r})
            writer = csv.DictWriter(out, fieldnames=header)
            writer.writeheader()
            for row in rows:
                writer.writerow({k: json.dumps(v, ensure_ascii=False)
                                 if isinstance(v, dict | list) else v
                                 for k, v in row.items()})
            archive.writestr(f"{name}.csv", "\ufeff" + out.getvalue())
    read_audit.record_export(session, actor, customer.id, "subject access export")
    return buffer.getvalue()


# -- erasure ---------------------------------------------------------------------------

def _blank_text(session: Session, table: Table, column: str, ids: list[uuid.UUID],
                keep: tuple[str, ...] = ()) -> int:
    """Every free-text column of the referencing rows set to ERASED (or NULL)."""
    values = {}
    for col in table.c:
        if col.name in keep or col.name == column or col.name.endswith("_id") \
                or col.name in ("tenant_id", "id"):
            continue
        if isinstance(col.type, Text) or (isinstance(col.type, String) and
                                          col.name in ("subject", "title", "author_label",
                                                       "name", "phone", "email")):
            values[col.name] = None if col.nullable else ERASED
    if not values:
        return 0
    return session.execute(update(table).where(table.c[column].in_(ids)).values(values)
                           .execution_options(synchronize_session=False)).rowcount or 0


def _erase_interactions(session: Session, table: Table, column: str,
                        ids: list[uuid.UUID]) -> int:
    return _blank_text(session, table, column, ids)


def _erase_tickets(session: Session, table: Table, column: str, ids: list[uuid.UUID]) -> int:
    """Tickets stay (SLA figures, cause analysis) but lose subject, text and messages."""
    from saas.models import Base

    ticket_ids = list(session.scalars(select(table.c.id).where(table.c[column].in_(ids))))
    count = _blank_text(session, table, column, ids, keep=("channel", "type", "priority",
                                                           "cause", "status"))
    messages = Base.metadata.tables.get("ticket_messages")
    if messages is not None and ticket_ids:
        session.execute(update(messages).where(messages.c.ticket_id.in_(ticket_ids))
                        .values(body=ERASED, author_label=None)
                        .execution_options(synchronize_session=False))
    return count


def _erase_recipients(session: Session, table: Table, column: str,
                      ids: list[uuid.UUID]) -> int:
    """Campaign rows stay (sent/clicked counts add up) without the address used."""
    return session.execute(update(table).where(table.c[column].in_(ids))
                           .values(address=None)
                           .execution_options(synchronize_session=False)).rowcount or 0


def _erase_survey_answers(session: Session, table: Table, column: str,
                          ids: list[uuid.UUID]) -> int:
    """Scores and chosen options stay (survey results add up); free-text answers go,
    in the answer's JSON and in its per-question items."""
    from saas.models.surveys import Survey, SurveyAnswer, SurveyAnswerItem

    answers = list(session.scalars(select(SurveyAnswer).where(
        SurveyAnswer.customer_id.in_(ids))))
    if not answers:
        return 0
    surveys = {s.id: s for s in session.scalars(select(Survey).where(
        Survey.id.in_({a.survey_id for a in answers})))}
    for answer in answers:
        survey = surveys.get(answer.survey_id)
        free = {q["id"] for q in (survey.questions if survey else [])
                if q.get("kind") == "text"}
        answer.answers = {k: (ERASED if k in free or (survey is None and isinstance(v, str))
                              else v) for k, v in (answer.answers or {}).items()}
    session.execute(update(SurveyAnswerItem).where(
        SurveyAnswerItem.answer_id.in_([a.id for a in answers]),
        SurveyAnswerItem.text.is_not(None), SurveyAnswerItem.kind == "text")
        .values(text=ERASED).execution_options(synchronize_session=False))
    session.flush()
    return len(answers)


def _erase_points(session: Session, table: Table, column: str,
                  ids: list[uuid.UUID]) -> int:
    """The ledger stays (points, balances, expiry); the free-text reason goes, here and
    in its copies: the `points.adjusted` audit entries and the points events' payloads."""
    from saas.models import AuditEntry
    from saas.models.outbox import OutboxEvent

    count = session.execute(update(table).where(table.c[column].in_(ids))
                            .values(reason=ERASED)
                            .execution_options(synchronize_session=False)).rowcount or 0
    wanted = [str(i) for i in ids]
    for entry in session.scalars(select(AuditEntry).where(
            AuditEntry.entity_type == "customer", AuditEntry.entity_id.in_(wanted),
            AuditEntry.action == "points.adjusted")):
        if "reason" in (entry.changes or {}):
            entry.changes = {**entry.changes, "reason": ERASED}
    for event in session.scalars(select(OutboxEvent).where(
            OutboxEvent.entity_type == "customer", OutboxEvent.entity_id.in_(wanted),
            OutboxEvent.name.like("points.%"))):
        if "reason" in (event.payload or {}):
            event.payload = {**event.payload, "reason": ERASED}
    session.flush()
    return count


def _delete_rows(session: Session, table: Table, column: str, ids: list[uuid.UUID]) -> int:
    return session.execute(delete(table).where(table.c[column].in_(ids))
                           .execution_options(synchronize_session=False)).rowcount or 0


register_eraser("interactions", _erase_interactions)
register_eraser("tickets", _erase_tickets)
register_eraser("contacts", _delete_rows)
register_eraser("campaign_recipients", _erase_recipients)
register_eraser("survey_answers", _erase_survey_answers)
register_eraser("points_entries", _erase_points)
register_eraser("customer_lookups", _delete_rows)


def erase_customer(session: Session, actor: Actor, customer_id: Any,
                   reason: str | None = None) -> ErasureRecord:
    """Wipe the customer's personal data and keep the facts.

    The profile keeps its id (orders, points and tickets still add up) but loses name,
    phones, emails and every other personal field; lookups go (a search by the old phone
    finds nothing); free text in interactions and tickets is erased (open tickets
    included); message deliveries lose their address and body; consent is withdrawn on
    every channel. `customer.erased` is emitted so enabled plugins erase their copies.
    """
    from saas.services.customers import get_customer
    from saas.services.merge import customer_references

    if reason is not None and len(reason) > 200:
        raise InvalidInput.field("reason", "Use at most 200 characters.")
    customer = get_customer(session, customer_id)
    if customer.merged_into_id is not None:
        raise InvalidInput.field("customer_id", "Erase the customer it was merged into.")
    ids = _family(session, customer)
    summary: dict[str, int] = {"customers": len(ids)}
    for table, column in customer_references():
        if table.name == "customers":
            continue
        eraser = _ERASERS.get(table.name)
        if eraser is not None:
            summary[table.name] = summary.get(table.name, 0) + eraser(session, table,
                                                                      column, ids)
    session.execute(delete(CustomerLookup).where(CustomerLookup.customer_id.in_(ids))
                    .execution_options(synchronize_session=False))
    session.execute(delete(Contact).where(Contact.customer_id.in_(ids))
                    .execution_options(synchronize_session=False))
    wanted = {str(i) for i in ids}
    wiped = 0
    for delivery in session.scalars(select(Delivery).where(Delivery.kind == "message")):
        if str((delivery.payload or {}).get("customer_id")) in wanted:
            delivery.payload = {"customer_id": delivery.payload.get("customer_id"),
                                "erased": True}
            wiped += 1
    summary["deliveries"] = wiped
    now = utcnow().isoformat()
    for member in session.scalars(select(Customer).where(Customer.id.in_(ids))):
        before = dict(member.consent or {})
        member.name = f"Erased customer {str(member.id)[-8:]}"
        member.phones, member.emails, member.phone, member.email = [], [], None, None
        member.wechat_id = member.address = member.birthday = member.notes = None
        member.external_id = None
        member.tags, member.custom_fields = [], {}
        member.consent = {ch: {"status": "withdrawn", "at": now, "source": "erasure"}
                          for ch in CONSENT_CHANNELS}
        member.updated_at = utcnow()
        consent_history.record_changes(session, actor, member, before, member.consent)
    from saas.models import AuditEntry

    session.execute(update(AuditEntry).where(
        AuditEntry.entity_type == "customer", AuditEntry.entity_id.in_(wanted),
        AuditEntry.action.in_(("customer.created", "customer.updated", "customer.merged")))
        .values(changes={"erased": True}).execution_options(synchronize_session=False))
    session.flush()
    record = ErasureRecord(customer_id=customer.id, actor_id=actor.staff_id,
                           actor_label=actor.label[:255], reason=reason, summary=summary)
    session.add(record)
    session.flush()
    audit.record(session, actor, "customer.erased", "customer", customer.id,
                 {"summary": summary})
    outbox.emit(session, "customer.erased", "customer", customer.id,
                {"id": str(customer.id), "merged_ids": [str(i) for i in ids[1:]]})
    return record


def erasures(session: Session, limit: int = 100) -> list[ErasureRecord]:
    return list(session.scalars(select(ErasureRecord).order_by(
        ErasureRecord.created_at.desc(), ErasureRecord.id.desc()).limit(limit)))
