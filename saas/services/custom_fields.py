"""Per-tenant custom field definitions and the validation of values against them.

Values are checked on every write of a customer (form, API, import), so the JSON column
only ever holds keys the tenant defined, each of the defined type.

A field the admin marks sensitive has its values encrypted at rest
(`customers.sensitive_fields`, see `Customer.custom_fields`); marking or unmarking moves
the stored values in batches (`move_batch`, run by `saas.jobs.sensitive_fields`), while
`sensitive_state` tells where they are.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.orm import Session

from saas.models.customers import (
    FIELD_TYPES,
    Customer,
    CustomFieldDefinition,
    sensitive_index_of,
)
from saas.services import audit, outbox
from saas.services.context import Actor
from saas.services.errors import Conflict, InvalidInput, NotFound

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
_TRUE = {"true", "1", "yes", "y", "on", "是"}
_FALSE = {"false", "0", "no", "n", "off", "否"}
MAX_TEXT = 2000
BUILTIN_SENSITIVE = ("phones", "emails", "wechat_id", "address")
"""Customer fields that are always encrypted (column types, deploy-wide): shown as
sensitive and locked in the custom field admin."""
SENSITIVE_STATES = ("plain", "encrypting", "encrypted", "decrypting")
MOVE_BATCH = 500


def list_definitions(session: Session) -> list[CustomFieldDefinition]:
    return list(session.scalars(select(CustomFieldDefinition).order_by(
        CustomFieldDefinition.position, CustomFieldDefinition.key)))


def get_definition(session: Session, definition_id: uuid.UUID | str) -> CustomFieldDefinition:
    try:
        did = uuid.UUID(str(definition_id))
    except ValueError as exc:
        raise NotFound("No such custom field.") from exc
    found = session.scalars(select(CustomFieldDefinition).where(
        CustomFieldDefinition.id == did)).first()
    if found is None:
        raise NotFound("No such custom field.")
    return found


def _clean_choices(type_: str, choices: Any, errors: dict[str, list[str]]) -> list[str]:
    if type_ not in ("choice", "multi_choice"):
        return []
    if not isinstance(choices, list | tuple) or not choices:
        errors["choices"] = ["List at least one choice."]
        return []
    cleaned = []
    for c in choices:
        if not isinstance(c, str) or not c.strip() or len(c.strip()) > 100:
            errors["choices"] = ["Each choice is a text of 1-100 characters."]
            return []
        if c.strip() not in cleaned:
            cleaned.append(c.strip())
    return cleaned


def create_definition(session: Session, actor: Actor, key: str, label: str, type: str,
                      required: bool = False, choices: list[str] | None = None,
                      position: int = 0, sensitive: bool = False) -> CustomFieldDefinition:
    errors: dict[str, list[str]] = {}
    key = (key or "").strip()
    if not KEY_RE.match(key):
        errors["key"] = ["Use a lower-case letter, then letters, digits or _ (max 60)."]
    if not (label or "").strip() or len(label.strip()) > 120:
        errors["label"] = ["Enter a label (up to 120 characters)."]
    if type not in FIELD_TYPES:
        errors["type"] = [f"Choose one of: {', '.join(FIELD_TYPES)}."]
    cleaned = _clean_choices(type, choices, errors)
    if errors:
        raise InvalidInput("Custom field has errors.", errors)
    if session.scalar(select(func.count()).select_from(CustomFieldDefinition).where(
            CustomFieldDefinition.key == key)):
        raise Conflict("A custom field with this key exists.", {"key": ["Already exists."]})
    definition = CustomFieldDefinition(key=key, label=label.strip(), type=type,
                                       required=bool(required), choices=cleaned,
                                       position=int(position or 0),
                                       sensitive=bool(sensitive),
                                       sensitive_state="encrypted" if sensitive else "plain")
    session.add(definition)
    session.flush()
    audit.record(session, actor, "custom_field.created", "custom_field", definition.id,
                 {"key": key, "type": type, "required": bool(required),
                  "sensitive": bool(sensitive)})
    outbox.emit(session, "custom_field.created", "custom_field", definition.id, {"key": key})
    return definition


def update_definition(session: Session, actor: Actor, definition_id: uuid.UUID | str,
                      label: str | None = None, required: bool | None = None,
                      choices: list[str] | None = None,
                      position: int | None = None,
                      sensitive: bool | None = None) -> CustomFieldDefinition:
    """Change a definition; its key and type are fixed because stored values depend on them.

    Marking it sensitive (or not) takes effect for writes at once and queues the job
    that moves the stored values (giving the same flag again while they move queues the
    job again, e.g. after a worker outage); a field a tier rule or segment reads cannot
    be made sensitive (their SQL cannot read an encrypted value): a Conflict lists
    where."""
    definition = get_definition(session, definition_id)
    errors: dict[str, list[str]] = {}
    changes: dict[str, list] = {}
    if label is not None:
        if not label.strip() or len(label.strip()) > 120:
            errors["label"] = ["Enter a label (up to 120 characters)."]
        elif label.strip() != definition.label:
            changes["label"] = [definition.label, label.strip()]
    if choices is not None:
        cleaned = _clean_choices(definition.type, choices, errors)
        if definition.type not in ("choice", "multi_choice"):
            errors["choices"] = ["Only choice fields have choices."]
        elif cleaned != definition.choices and "choices" not in errors:
            changes["choices"] = [definition.choices, cleaned]
    if errors:
        raise InvalidInput("Custom field has errors.", errors)
    if required is not None and bool(required) != definition.required:
        changes["required"] = [definition.required, bool(required)]
    if position is not None and int(position) != definition.position:
        changes["position"] = [definition.position, int(position)]
    if sensitive is not None and bool(sensitive) != definition.sensitive:
        if sensitive:
            _refuse_if_used_by_rules(session, definition)
        changes["sensitive"] = [definition.sensitive, bool(sensitive)]
        definition.sensitive_state = "encrypting" if sensitive else "decrypting"
    moving = definition.sensitive_state in ("encrypting", "decrypting")
    for name, (_old, new) in changes.items():
        setattr(definition, name, new)
    if "sensitive" in changes or (sensitive is not None and moving):
        from saas.jobs.queue import enqueue_after_commit

        session.flush()
        enqueue_after_commit(session, "saas.jobs.sensitive_fields:move_values",
                             definition.tenant_id, definition.id)
    if changes:
        audit.record(session, actor, "custom_field.updated", "custom_field", definition.id,
                     changes)
        outbox.emit(session, "custom_field.updated", "custom_field", definition.id,
                    {"key": definition.key, "changed": sorted(changes)})
    return definition


def encrypted_targets(session: Session) -> set[str]:
    """`cf.<key>` of every field whose values are (or are becoming, or are still partly)
    encrypted: set-based writers of plain JSON must leave these to the ORM path."""
    return {f"cf.{d.key}" for d in list_definitions(session)
            if d.sensitive or d.sensitive_state != "plain"}


def _refuse_if_used_by_rules(session: Session, definition: CustomFieldDefinition) -> None:
    from saas.services import field_access

    found = field_access.usages(session, [f"cf.{definition.key}"])
    if found:
        raise Conflict("Tier rules or segments use this field; rules cannot read an "
                       "encrypted value, so change them before marking it sensitive.",
                       {"sensitive": [f"Used in {u.where} '{u.name}'." for u in found]})


def move_batch(session: Session, definition_id: uuid.UUID | str,
               after: uuid.UUID | None = None, limit: int = MOVE_BATCH
               ) -> tuple[int, uuid.UUID | None]:
    """Move one batch of a field's stored values to where its `sensitive` flag wants them.

    Returns (values moved, id to continue after; None when every customer was seen).
    Set-based per batch: one SELECT and one executemany UPDATE that rewrites the plain
    JSON, the encrypted object and its blind index of a row together, so a crash leaves
    each row either moved or not, and a re-run moves only what is left. A row written
    since it was read (its `updated_at` changed) is left for the next pass: that write
    already stored the value where the flag wanted it."""
    definition = get_definition(session, definition_id)
    key, encrypting = definition.key, definition.sensitive
    table = Customer.__table__
    mine = table.c.tenant_id == definition.tenant_id  # Core: no ORM tenant filter
    stmt = select(table.c.id, table.c.custom_fields, table.c.sensitive_fields,
                  table.c.updated_at).where(mine)
    if encrypting:
        stmt = stmt.where(_has_key(session, key))
    else:
        stmt = stmt.where(table.c.sensitive_fields.is_not(None))
    if after is not None:
        stmt = stmt.where(table.c.id > after)
    rows = session.execute(stmt.order_by(table.c.id).limit(limit)).all()
    updates = []
    for cid, plain, secret, seen in rows:
        plain, secret = dict(plain or {}), dict(secret or {})
        if encrypting and key in plain:
            secret[key] = plain.pop(key)
        elif not encrypting and key in secret:
            value = secret.pop(key)
            plain.setdefault(key, value)
        else:
            continue
        updates.append({"cid": cid, "seen": seen, "plain": plain, "secret": secret or None,
                        "index": sensitive_index_of(secret)})
    if updates:
        session.execute(
            update(table).where(and_(mine, table.c.id == bindparam("cid"),
                                     table.c.updated_at == bindparam("seen")))
            .values(custom_fields=bindparam("plain"), sensitive_fields=bindparam("secret"),
                    sensitive_index=bindparam("index"), updated_at=bindparam("seen")),
            updates, execution_options={"synchronize_session": False})
    if len(rows) < limit:
        return len(updates), None
    return len(updates), rows[-1][0]


def values_left(session: Session, definition_id: uuid.UUID | str) -> bool:
    """Whether a value of the field is still stored on the wrong side of its flag."""
    definition = get_definition(session, definition_id)
    if definition.sensitive:
        return session.scalar(select(Customer.id).where(
            _has_key(session, definition.key)).limit(1)) is not None
    table = Customer.__table__
    for (secret,) in session.execute(select(table.c.sensitive_fields).where(
            table.c.tenant_id == definition.tenant_id,
            table.c.sensitive_fields.is_not(None))):
        if definition.key in (secret or {}):
            return True
    return False


def finish_move(session: Session, definition_id: uuid.UUID | str, moved: int) -> str:
    """Record that the values are where the flag wants them (the state the UI shows)."""
    definition = get_definition(session, definition_id)
    state = "encrypted" if definition.sensitive else "plain"
    if definition.sensitive_state != state:
        definition.sensitive_state = state
        audit.record(session, Actor.system("sensitive fields job"),
                     "custom_field.values_moved", "custom_field",
                     definition.id, {"key": definition.key, "state": state,
                                     "moved": moved})
    return state


def _strip_sensitive(session: Session, definition: CustomFieldDefinition) -> None:
    table = Customer.__table__
    key, mine = definition.key, table.c.tenant_id == definition.tenant_id
    after = None
    while True:
        stmt = select(table.c.id, table.c.sensitive_fields).where(
            mine, table.c.sensitive_fields.is_not(None))
        if after is not None:
            stmt = stmt.where(table.c.id > after)
        rows = session.execute(stmt.order_by(table.c.id).limit(MOVE_BATCH)).all()
        updates = []
        for cid, secret in rows:
            if key in (secret or {}):
                rest = {k: v for k, v in secret.items() if k != key}
                updates.append({"cid": cid, "secret": rest or None,
                                "index": sensitive_index_of(rest)})
        if updates:
            session.execute(update(table).where(mine, table.c.id == bindparam("cid")).values(
                sensitive_fields=bindparam("secret"), sensitive_index=bindparam("index")),
                updates, execution_options={"synchronize_session": False})
        if len(rows) < MOVE_BATCH:
            return
        after = rows[-1][0]


def delete_definition(session: Session, actor: Actor,
                      definition_id: uuid.UUID | str) -> None:
    """Remove a definition and its values from every customer (plain values in one
    statement; encrypted ones batch by batch, since only Python can read them)."""
    definition = get_definition(session, definition_id)
    key = definition.key
    if definition.sensitive or definition.sensitive_state != "plain":
        _strip_sensitive(session, definition)
    if session.get_bind().dialect.name == "postgresql":
        stripped = Customer.custom_fields.op("-")(key)
    else:
        stripped = func.json_remove(Customer.custom_fields, f'$."{key}"')
    session.execute(update(Customer).where(_has_key(session, key)).values(
        {Customer.plain_custom_fields: stripped})
        .execution_options(synchronize_session=False))
    session.delete(definition)
    audit.record(session, actor, "custom_field.deleted", "custom_field", definition.id,
                 {"key": key})
    outbox.emit(session, "custom_field.deleted", "custom_field", definition.id, {"key": key})


def _has_key(session: Session, key: str):
    if session.get_bind().dialect.name == "postgresql":
        return Customer.custom_fields.op("?")(key)
    return func.json_type(Customer.custom_fields, f'$."{key}"').is_not(None)


def coerce_value(definition: CustomFieldDefinition, value: Any) -> Any:
    """The stored form of one value, or ValueError with a message for the user."""
    t = definition.type
    if t == "text":
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise ValueError("Enter text.")
        text = str(value).strip()
        if len(text) > MAX_TEXT:
            raise ValueError(f"Use at most {MAX_TEXT} characters.")
        return text
    if t == "number":
        if isinstance(value, bool):
            raise ValueError("Enter a number.")
        if isinstance(value, int | float):
            number = value
        else:
            try:
                number = float(str(value).strip().replace(",", ""))
            except ValueError as exc:
                raise ValueError("Enter a number.") from exc
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError("Enter a finite number.")
        return int(number) if float(number).is_integer() and abs(number) < 2**53 else number
    if t == "date":
        if isinstance(value, date):
            return value.isoformat()
        try:
            return date.fromisoformat(str(value).strip()).isoformat()
        except ValueError as exc:
            raise ValueError("Enter a date as YYYY-MM-DD.") from exc
    if t == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError("Enter true or false.")
    if t == "choice":
        if not isinstance(value, str) or value.strip() not in definition.choices:
            raise ValueError(f"Choose one of: {', '.join(definition.choices)}.")
        return value.strip()
    if t == "multi_choice":
        items = value.split("|") if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            raise ValueError("Give a list of choices.")
        picked = []
        for item in items:
            if not isinstance(item, str) or item.strip() not in definition.choices:
                raise ValueError(f"Choose from: {', '.join(definition.choices)}.")
            if item.strip() not in picked:
                picked.append(item.strip())
        return picked
    raise ValueError("Unsupported field type.")


def clean_values(session: Session, incoming: Any, existing: Mapping[str, Any] | None,
                 errors: dict[str, list[str]]) -> dict[str, Any]:
    """Merge `incoming` into `existing`, coercing each value; report under `custom_fields.<key>`.

    A None or empty value clears the field; required fields must hold a value afterwards.
    """
    definitions = {d.key: d for d in list_definitions(session)}
    result = {k: v for k, v in (existing or {}).items() if k in definitions}
    if incoming is None:
        incoming = {}
    if not isinstance(incoming, Mapping):
        errors["custom_fields"] = ["Give custom fields as an object of key: value."]
        return result
    for key, value in incoming.items():
        definition = definitions.get(key)
        if definition is None:
            errors[f"custom_fields.{key}"] = ["Unknown custom field."]
            continue
        if value is None or value == "" or value == []:
            result.pop(key, None)
            continue
        try:
            result[key] = coerce_value(definition, value)
        except ValueError as exc:
            errors[f"custom_fields.{key}"] = [str(exc)]
    for key, definition in definitions.items():
        if definition.required and key not in result and f"custom_fields.{key}" not in errors:
            errors[f"custom_fields.{key}"] = ["This field is required."]
    return result
