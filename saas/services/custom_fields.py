"""Per-tenant custom field definitions and the validation of values against them.

Values are checked on every write of a customer (form, API, import), so the JSON column
only ever holds keys the tenant defined, each of the defined type.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from saas.models.customers import FIELD_TYPES, Customer, CustomFieldDefinition
from saas.services import audit, outbox
from saas.services.context import Actor
from saas.services.errors import Conflict, InvalidInput, NotFound

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
_TRUE = {"true", "1", "yes", "y", "on", "是"}
_FALSE = {"false", "0", "no", "n", "off", "否"}
MAX_TEXT = 2000


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
                      position: int = 0) -> CustomFieldDefinition:
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
                                       position=int(position or 0))
    session.add(definition)
    session.flush()
    audit.record(session, actor, "custom_field.created", "custom_field", definition.id,
                 {"key": key, "type": type, "required": bool(required)})
    outbox.emit(session, "custom_field.created", "custom_field", definition.id, {"key": key})
    return definition


def update_definition(session: Session, actor: Actor, definition_id: uuid.UUID | str,
                      label: str | None = None, required: bool | None = None,
                      choices: list[str] | None = None,
                      position: int | None = None) -> CustomFieldDefinition:
    """Change a definition; its key and type are fixed because stored values depend on them."""
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
    for name, (_old, new) in changes.items():
        setattr(definition, name, new)
    if changes:
        audit.record(session, actor, "custom_field.updated", "custom_field", definition.id,
                     changes)
        outbox.emit(session, "custom_field.updated", "custom_field", definition.id,
                    {"key": definition.key, "changed": sorted(changes)})
    return definition


def delete_definition(session: Session, actor: Actor,
                      definition_id: uuid.UUID | str) -> None:
    """Remove a definition and its values from every customer, in one statement."""
    definition = get_definition(session, definition_id)
    key = definition.key
    if session.get_bind().dialect.name == "postgresql":
        stripped = Customer.custom_fields.op("-")(key)
    else:
        stripped = func.json_remove(Customer.custom_fields, f'$."{key}"')
    session.execute(update(Customer).where(_has_key(session, key)).values(
        custom_fields=stripped).execution_options(synchronize_session=False))
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
